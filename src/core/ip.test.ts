import { describe, expect, it } from 'vitest'
import { addressMatcher, isAddressRangeEntry, parseCidr, parseIp } from './ip.ts'

describe('addressMatcher', () => {
  it('matches addresses, CIDRs and the loopback and private keywords, IPv4-mapped IPv6 as its IPv4 address', () => {
    const trusted = addressMatcher(['198.51.100.7', '2001:db8::/32', 'loopback'])
    for (const a of ['198.51.100.7', '::ffff:198.51.100.7', '2001:db8:1::5', '127.0.0.9', '::1', '::ffff:127.0.0.1']) expect(trusted(a), a).toBe(true)
    for (const a of ['198.51.100.8', '2001:db9::1', '10.0.0.1', 'not-an-ip', '']) expect(trusted(a), a).toBe(false)
    const priv = addressMatcher(['private'])
    for (const a of ['10.1.2.3', '172.31.0.1', '192.168.1.1', '100.64.0.1', 'fd12::1']) expect(priv(a), a).toBe(true)
    for (const a of ['172.32.0.1', '8.8.8.8', '127.0.0.1']) expect(priv(a), a).toBe(false)
  })
  it('knows which entries are address ranges', () => {
    for (const e of ['1.2.3.4', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback', 'private']) expect(isAddressRangeEntry(e), e).toBe(true)
    for (const e of ['public', 'proxy.example.org', '10.0.0.0/33', '10.0.0.0/', '1.2.3']) expect(isAddressRangeEntry(e), e).toBe(false)
  })
  it('parses a mapped IPv6 prefix as the IPv4 prefix it carries', () => {
    expect(parseCidr('::ffff:10.0.0.0/104')).toEqual(parseCidr('10.0.0.0/8'))
    expect(parseIp('[::ffff:7f00:1]')).toEqual(parseIp('127.0.0.1'))
  })
})
