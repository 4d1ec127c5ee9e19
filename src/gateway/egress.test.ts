import { Agent, createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AddressNotAllowedError, BackendAllowList, classifyAddress, parseIp, type Resolve } from './egress.ts'

const cls = (a: string) => classifyAddress(parseIp(a)!)

describe('classifyAddress', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['93.184.216.34', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['ff02::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['2001:0::1', 'reserved'], // Teredo
    ['2606:4700::1111', 'public'],
    ['[2606:4700::1111]', 'public'],
    // IPv4-mapped, in every spelling, is the IPv4 address.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
    // NAT64 and 6to4 carry an IPv4 address.
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::808:808', 'public'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:0808:0808::1', 'public'],
    ['::127.0.0.1', 'reserved'], // IPv4-compatible (deprecated)
  ])('%s is %s', (a, expected) => expect(cls(a)).toBe(expected))

  it('parses only IP literals', () => {
    expect(parseIp('localhost')).toBeUndefined()
    expect(parseIp('1.2.3')).toBeUndefined()
    expect(parseIp('example.com')).toBeUndefined()
  })
})

describe('BackendAllowList', () => {
  const u = (s: string) => new URL(s)

  it('defaults: public only, plus loopback on a dev network', () => {
    const pub = new BackendAllowList(BackendAllowList.defaults(false))
    expect(pub.admits(u('https://8.8.8.8/v1'))).toEqual({ ok: true, byName: false })
    expect(pub.admits(u('http://127.0.0.1:8080/v1')).ok).toBe(false)
    expect(pub.admits(u('http://[::ffff:127.0.0.1]:8080/v1')).ok).toBe(false)
    expect(pub.admits(u('http://2130706433/')).ok).toBe(false) // the URL parser makes it 127.0.0.1
    expect(pub.admits(u('http://0x7f.1/')).ok).toBe(false)
    expect(pub.admits(u('http://169.254.169.254/latest')).ok).toBe(false)
    expect(pub.admits(u('http://0.0.0.0:80/')).ok).toBe(false)
    // A name is checked when it resolves.
    expect(pub.admits(u('http://localhost:8080/'))).toEqual({ ok: true, byName: false })
    const dev = new BackendAllowList(BackendAllowList.defaults(true))
    expect(dev.admits(u('http://127.0.0.1:8080/v1')).ok).toBe(true)
    expect(dev.admits(u('http://[::1]:8080/v1')).ok).toBe(true)
    expect(dev.admits(u('http://10.0.0.1/v1')).ok).toBe(false)
    expect(dev.admits(u('http://169.254.169.254/v1')).ok).toBe(false)
  })

  it('origins, hosts and CIDRs', () => {
    const l = new BackendAllowList([
      'https://api.example.com',
      '*.corp.example',
      'vllm.internal',
      '10.1.0.0/16',
      'fd00::/8',
      '192.168.7.7',
      '::ffff:172.16.0.0/108',
    ])
    expect(l.admits(u('https://api.example.com/v1')).ok).toBe(true)
    expect(l.admits(u('https://api.example.com:443/v1'))).toEqual({ ok: true, byName: true })
    // An origin is scheme, host and port.
    expect(l.admits(u('http://api.example.com/v1'))).toEqual({ ok: true, byName: false })
    expect(l.admits(u('https://api.example.com:8443/v1'))).toEqual({ ok: true, byName: false })
    expect(l.admits(u('https://a.b.corp.example/'))).toEqual({ ok: true, byName: true })
    expect(l.admits(u('https://corp.example/'))).toEqual({ ok: true, byName: false })
    expect(l.admits(u('http://VLLM.internal.:8000/'))).toEqual({ ok: true, byName: true })
    expect(l.admits(u('http://10.1.200.3/')).ok).toBe(true)
    expect(l.admits(u('http://10.2.0.1/')).ok).toBe(false)
    expect(l.admits(u('http://[fd00::5]/')).ok).toBe(true)
    expect(l.admits(u('http://192.168.7.7/')).ok).toBe(true)
    expect(l.admits(u('http://192.168.7.8/')).ok).toBe(false)
    expect(l.admits(u('http://172.16.3.4/')).ok).toBe(true)
    expect(l.admits(u('http://8.8.8.8/')).ok).toBe(false) // no `public` entry
    expect(l.admits(u('ftp://api.example.com/')).ok).toBe(false)
  })

  it('refuses a malformed entry, naming it', () => {
    for (const bad of ['10.0.0.0/33', 'https://api.example.com/v1', 'ftp://x.example', 'not a host', '10.0.0.0/']) {
      expect(() => new BackendAllowList(['public', bad]), bad).toThrow(/backendAllowList\[1\]/)
    }
  })

  describe('after DNS resolution, pinned', () => {
    let server: Server
    let port: number
    beforeAll(async () => {
      server = createServer((_req, res) => res.end('ok'))
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      port = (server.address() as AddressInfo).port
    })
    afterAll(() => new Promise((r) => server.close(r)))

    /** A resolver that answers what a rebinding attacker's DNS would: a public address first, loopback after. */
    const rebinding = (): { resolve: Resolve; calls: number } => {
      const state = { calls: 0 }
      return {
        get calls() {
          return state.calls
        },
        resolve: async () => (state.calls++ === 0 ? [{ address: '93.184.216.34', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]),
      }
    }

    const get = (url: string, list: BackendAllowList) =>
      new Promise<string>((resolve, reject) => {
        const agent = new Agent({ lookup: list.lookupFor(new URL(url)) as never })
        request(url, { agent }, (res) => {
          let body = ''
          res.on('data', (d) => (body += d))
          res.on('end', () => resolve(body))
        })
          .on('error', reject)
          .end()
      })

    it('a name that resolves to loopback is refused on a public node, before any connection', async () => {
      const dns = rebinding()
      const list = new BackendAllowList(['public'], { resolve: dns.resolve })
      const lookup = list.lookupFor(new URL(`http://rebind.test:${port}/`))
      // First answer public: admitted, and that address is what the socket would use.
      const first = await new Promise<unknown>((r) => lookup('rebind.test', { all: true }, (err, a) => r(err ?? a)))
      expect(first).toEqual([{ address: '93.184.216.34', family: 4 }])
      // Rebound to loopback: refused; the request fails with the typed error and reaches nothing.
      const err = await get(`http://rebind.test:${port}/`, list).catch((e) => e)
      expect(err).toBeInstanceOf(AddressNotAllowedError)
      expect(err.addressClass).toBe('loopback')
      const localhost = await get(`http://localhost:${port}/`, new BackendAllowList(['public'])).catch((e) => e)
      expect(localhost).toBeInstanceOf(AddressNotAllowedError)
    })

    it('with loopback allowed, the connection goes to the address the check saw', async () => {
      const list = new BackendAllowList(['loopback'], { resolve: async () => [{ address: '127.0.0.1', family: 4 }] })
      expect(await get(`http://no-such-name.test:${port}/`, list)).toBe('ok')
      // Mixed answers are refused as a whole.
      const mixed = new BackendAllowList(['loopback'], {
        resolve: async () => [
          { address: '127.0.0.1', family: 4 },
          { address: '169.254.169.254', family: 4 },
        ],
      })
      expect(await get(`http://mixed.test:${port}/`, mixed).catch((e) => e)).toBeInstanceOf(AddressNotAllowedError)
    })

    it('a host allowed by name resolves as usual', async () => {
      const list = new BackendAllowList(['localhost'])
      expect(await get(`http://localhost:${port}/`, list)).toBe('ok')
    })
  })
})
