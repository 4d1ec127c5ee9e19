/**
 * IP addresses and CIDR blocks as numbers: parsing (IPv4, IPv6 in any spelling, IPv4-mapped
 * IPv6 as the IPv4 address it carries) and membership. Used for the backend allow-list
 * (src/gateway/egress.ts), per-client limits, and which peers are trusted proxies.
 */
import { isIPv4, isIPv6 } from 'node:net'

/** An address as a number: IPv4 (IPv4-mapped IPv6 included) or IPv6. */
export type Ip = { v: 4; n: bigint } | { v: 6; n: bigint }
export type Cidr = { v: 4 | 6; base: bigint; bits: number }

/** Parses an IP literal (IPv6 with or without brackets or a zone); undefined if it is not one. */
export function parseIp(text: string): Ip | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  if (isIPv4(s)) return { v: 4, n: v4Number(s) }
  const zone = s.indexOf('%')
  if (zone >= 0) s = s.slice(0, zone)
  if (!isIPv6(s)) return undefined
  const last = s.lastIndexOf(':')
  if (s.includes('.', last)) {
    const v4 = v4Number(s.slice(last + 1))
    s = `${s.slice(0, last + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head, tail] = s.split('::')
  const h = head ? head.split(':') : []
  const t = tail === undefined ? [] : tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  const n = groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n)
  // IPv4-mapped: the IPv4 address itself.
  if (n >> 32n === 0xffffn) return { v: 4, n: n & 0xffffffffn }
  return { v: 6, n }
}

function v4Number(s: string): bigint {
  return s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n)
}

/** Parses `address/bits` (a bare address is /32 or /128); undefined if it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/')
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash))
  if (!ip) return undefined
  const max = ip.v === 4 ? 32 : 128
  // A mapped IPv6 prefix like ::ffff:10.0.0.0/104 is an IPv4 prefix.
  const raw = slash < 0 ? max : Number(text.slice(slash + 1))
  const bits = ip.v === 4 && slash >= 0 && !isIPv4(text.slice(0, slash)) ? raw - 96 : raw
  if (!Number.isInteger(bits) || bits < 0 || bits > max || text.slice(slash + 1) === '') return undefined
  return { v: ip.v, base: ip.n >> BigInt(max - bits), bits }
}

export const inCidr = (ip: Ip, c: Cidr): boolean => ip.v === c.v && ip.n >> BigInt((ip.v === 4 ? 32 : 128) - c.bits) === c.base

/** Names for the ranges a node's own proxies usually sit in. */
const ADDRESS_KEYWORDS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'],
}

/** Whether `entry` is an address, a CIDR, `loopback` or `private`. */
export const isAddressRangeEntry = (entry: string): boolean => entry in ADDRESS_KEYWORDS || parseCidr(entry) !== undefined

/**
 * A test of addresses against entries (addresses, CIDRs, `loopback`, `private`): e.g. which
 * peers are trusted proxies. Entries that are none of these match nothing (check them with
 * isAddressRangeEntry first).
 */
export function addressMatcher(entries: readonly string[]): (address: string) => boolean {
  const blocks = entries.flatMap((e) => ADDRESS_KEYWORDS[e] ?? [e]).flatMap((e) => parseCidr(e) ?? [])
  return (address) => {
    const ip = parseIp(address)
    return ip !== undefined && blocks.some((c) => inCidr(ip, c))
  }
}
