import { existsSync, readFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { endianness } from 'node:os'
import { describe, expect, it } from 'vitest'
import { parseTable, TcpSendQueues } from './tcp-send-queue.ts'

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
const fakeSocket = (o: Partial<Socket>) => o as Socket
const snapshotOf = (q: TcpSendQueues, s: Socket) =>
  new Promise<void>((resolve) => {
    const stop = q.watch(s, () => {
      stop()
      resolve()
    })
  })

describe('TcpSendQueues', () => {
  it('cuts rows at the fixed offsets the kernel prints, with the same result as splitting on whitespace', () => {
    // The oracle: every row split on whitespace (fields 1, 2 and the tx half of 4).
    const split = (text: string) => {
      const rows = new Map<string, number>()
      for (const line of text.split('\n')) {
        const f = line.trim().split(/\s+/)
        if (f.length >= 5 && f[4].includes(':')) rows.set(`${f[1]} ${f[2]}`, Number.parseInt(f[4].split(':')[0], 16))
      }
      return rows
    }
    const v4 = `${HEADER}   0: 0100007F:1F90 0100007F:C350 01 000001F4:00000000 00:00000000 00000000  1000        0 1 1 0 20 4 30 10 -1\n12345: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 9\n`
    const v6 = `${HEADER}   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000A00000A:C351 01 00000010:00000000 00:00000000 00000000  1000        0 2 1 0 20 4 30 10 -1\n`
    expect(parseTable(v4, 4)).toEqual(
      new Map([
        ['0100007F:1F90 0100007F:C350', 500],
        ['0100007F:0016 00000000:0000', 0],
      ]),
    )
    expect(parseTable(v6, 6)).toEqual(split(v6))
    // A row of another shape still counts (split on whitespace).
    expect(parseTable(`${HEADER}  1:  0100007F:1F90  0100007F:C350 01 00000020:00000000\n`, 4)).toEqual(new Map([['0100007F:1F90 0100007F:C350', 32]]))
    for (const [file, family] of [
      ['/proc/net/tcp', 4],
      ['/proc/net/tcp6', 6],
    ] as const) {
      if (!existsSync(file)) continue
      const text = readFileSync(file, 'latin1')
      expect(parseTable(text, family)).toEqual(split(text))
    }
  })

  it.runIf(endianness() === 'LE')('finds a connection by its addresses as /proc prints them (IPv4, and IPv4-mapped in tcp6)', async () => {
    const files: Record<string, string> = {
      '/proc/net/tcp': `${HEADER}   0: 0100007F:1F90 0100007F:C350 01 000001F4:00000000 00:00000000 00000000  1000        0 1 1 0 20 4 30 10 -1\n`,
      '/proc/net/tcp6': `${HEADER}   0: 0000000000000000FFFF00000100007F:1F90 0000000000000000FFFF00000A00000A:C351 01 00000010:00000000 00:00000000 00000000  1000        0 2 1 0 20 4 30 10 -1\n`,
    }
    const q = new TcpSendQueues({ read: (f) => files[f] })
    expect(q.available).toBe(true)
    const v4 = fakeSocket({ localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '127.0.0.1', remotePort: 50000, remoteFamily: 'IPv4' })
    const mapped = fakeSocket({ localAddress: '::ffff:127.0.0.1', localPort: 8080, remoteAddress: '::ffff:10.0.0.10', remotePort: 50001, remoteFamily: 'IPv6' })
    const other = fakeSocket({ localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '127.0.0.1', remotePort: 50002, remoteFamily: 'IPv4' })
    expect(q.unacked(v4)).toBeUndefined() // no snapshot yet
    await snapshotOf(q, v4)
    await snapshotOf(q, mapped)
    expect(q.unacked(v4)).toBe(500)
    expect(q.unacked(mapped)).toBe(16)
    expect(q.unacked(other)).toBeUndefined()
  })

  it('is unavailable without /proc, and says nothing', () => {
    const q = new TcpSendQueues({
      read: () => {
        throw new Error('ENOENT')
      },
    })
    expect(q.available).toBe(false)
    expect(q.unacked(fakeSocket({ localAddress: '127.0.0.1', localPort: 1, remoteAddress: '127.0.0.1', remotePort: 2, remoteFamily: 'IPv4' }))).toBeUndefined()
  })

  it.runIf(existsSync('/proc/net/tcp'))('on a real connection: what a paused reader has not acknowledged sits in the send queue', async () => {
    const server = createServer()
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const accepted = new Promise<Socket>((r) => server.once('connection', r))
    const client = connect((server.address() as { port: number }).port, '127.0.0.1')
    client.pause()
    const s = await accepted
    const q = new TcpSendQueues()
    await snapshotOf(q, s)
    expect(q.unacked(s)).toBe(0)
    // 8 MB to a client that reads nothing: more than the kernel's queues take.
    const chunk = Buffer.alloc(64 * 1024)
    for (let i = 0; i < 128; i++) s.write(chunk)
    let unacked = 0
    for (let i = 0; i < 200 && unacked === 0; i++) {
      await snapshotOf(q, s)
      unacked = q.unacked(s) ?? 0
    }
    expect(unacked).toBeGreaterThan(0)
    expect(unacked).toBeLessThan(128 * chunk.length)
    client.destroy()
    s.destroy()
    server.close()
  })

  it.runIf(existsSync('/proc/net/tcp') && process.arch === 'x64')(
    'asks each socket by ioctl (SIOCOUTQ): the same number as its /proc row, with no table read',
    async () => {
      const server = createServer()
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
      const accepted = new Promise<Socket>((r) => server.once('connection', r))
      const client = connect((server.address() as { port: number }).port, '127.0.0.1')
      client.pause()
      const s = await accepted
      const q = new TcpSendQueues()
      const proc = new TcpSendQueues({ ioctl: false }) // the oracle: the kernel's table
      expect(q.source).toBe('ioctl')
      expect(proc.source).toBe('proc')
      expect(q.unacked(s)).toBe(0)
      const chunk = Buffer.alloc(64 * 1024)
      for (let i = 0; i < 128; i++) s.write(chunk)
      // The client reads nothing: once the kernel's queues are full, nothing moves, and both ways agree.
      let agreed = false
      for (let i = 0; i < 500 && !agreed; i++) {
        await snapshotOf(proc, s)
        const row = proc.unacked(s)
        agreed = row !== undefined && row > 0 && q.unacked(s) === row
      }
      expect(agreed).toBe(true)
      expect(q.readNow(s)).toBe(proc.readNow(s))
      s.destroy()
      // A closed socket has no descriptor left to ask.
      expect(q.unacked(s)).toBeUndefined()
      client.destroy()
      server.close()
    },
  )
})
