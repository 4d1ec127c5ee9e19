/**
 * Where the gateway may connect: the operator's allow-list of model backends.
 *
 * A model's backend URL is chosen by whoever registered the model, a stranger on a public
 * node, so the node calls it only if the operator allows it. Entries (docs/gateway.md):
 *
 *   public                 any globally routable address (not one of the special ranges below)
 *   loopback               127.0.0.0/8, ::1
 *   private                10/8, 172.16/12, 192.168/16, 100.64/10 (CGNAT), fc00::/7, 64:ff9b:1::/48
 *   10.1.0.0/16, fd00::/8  a CIDR (a bare address is /32 or /128)
 *   https://api.example.com   an origin: allowed by name, whatever it resolves to
 *   api.example.com, *.example.com   a host (any scheme and port), by name
 *
 * Link-local (169.254/16 with the cloud metadata address, fe80::/10), unspecified (0/8, ::),
 * multicast, documentation and other reserved ranges are never `public`; only a CIDR or an
 * origin names them. IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
 * forms are judged by the IPv4 address they carry.
 *
 * Hosts not allowed by name are checked after DNS resolution, inside the `lookup` of the
 * agent that connects: every address a name resolves to must be allowed, and the connection
 * goes to those checked addresses, so a name that resolves differently a moment later (DNS
 * rebinding) cannot slip past the check.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { type Cidr, inCidr, type Ip, parseCidr, parseIp, SinewError } from '../core/index.ts'

export { parseIp }

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'reserved'

const cidrs = (list: [string, AddressClass][]): [Cidr, AddressClass][] => list.map(([c, k]) => [parseCidr(c)!, k])
/** IPv4 special-purpose ranges (IANA); everything else is public. */
const V4_SPECIAL = cidrs([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'private'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'reserved'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'reserved'],
  ['198.51.100.0/24', 'reserved'],
  ['203.0.113.0/24', 'reserved'],
  ['224.0.0.0/3', 'reserved'], // multicast, reserved, broadcast
])
/** IPv6 special-purpose ranges; outside 2000::/3 (global unicast) nothing is public. */
const V6_SPECIAL = cidrs([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['64:ff9b:1::/48', 'private'],
  ['fc00::/7', 'private'],
  ['fe80::/10', 'link-local'],
  ['2001::/23', 'reserved'], // IETF protocol assignments, Teredo among them
  ['2001:db8::/32', 'reserved'],
  ['3fff::/20', 'reserved'],
])
const NAT64 = parseCidr('64:ff9b::/96')!
const SIX_TO_FOUR = parseCidr('2002::/16')!
const GLOBAL_UNICAST = parseCidr('2000::/3')!

export function classifyAddress(ip: Ip): AddressClass {
  if (ip.v === 4) return V4_SPECIAL.find(([c]) => inCidr(ip, c))?.[1] ?? 'public'
  // Forms that carry an IPv4 address are judged by it.
  if (inCidr(ip, NAT64)) return classifyAddress({ v: 4, n: ip.n & 0xffffffffn })
  if (inCidr(ip, SIX_TO_FOUR)) return classifyAddress({ v: 4, n: (ip.n >> 80n) & 0xffffffffn })
  const special = V6_SPECIAL.find(([c]) => inCidr(ip, c))?.[1]
  if (special) return special
  return inCidr(ip, GLOBAL_UNICAST) ? 'public' : 'reserved'
}

type Entry =
  | { kind: 'class'; class: 'public' | 'loopback' | 'private' }
  | { kind: 'cidr'; cidr: Cidr }
  | { kind: 'origin'; origin: string }
  | { kind: 'host'; host: string; subdomains: boolean }

const HOST = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i

function parseEntry(text: string, i: number): Entry {
  const t = text.trim()
  if (t === 'public' || t === 'loopback' || t === 'private') return { kind: 'class', class: t }
  const bad = (why: string) =>
    new SinewError({
      code: 'invalid_input',
      message: `backendAllowList[${i}] ${JSON.stringify(t.slice(0, 100))} ${why}`,
      details: { field: `backendAllowList[${i}]` },
      hint: 'Entries are public, loopback, private, a CIDR (10.0.0.0/8), an origin (https://api.example.com) or a host (api.example.com, *.example.com).',
    })
  if (t.includes('://')) {
    let u: URL
    try {
      u = new URL(t)
    } catch {
      throw bad('is not a URL')
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.search || u.hash || u.username) {
      throw bad('is not an origin (scheme://host[:port], http or https)')
    }
    return { kind: 'origin', origin: u.origin }
  }
  const cidr = parseCidr(t)
  if (cidr) return { kind: 'cidr', cidr }
  if (t.includes('/') || parseIp(t.split('/')[0])) throw bad('is not a valid CIDR')
  if (HOST.test(t)) {
    const host = t.toLowerCase().replace(/\.$/, '')
    return host.startsWith('*.') ? { kind: 'host', host: host.slice(2), subdomains: true } : { kind: 'host', host, subdomains: false }
  }
  throw bad('is not an allow-list entry')
}

/** What the allow-list says of a URL before any DNS: allowed by name, to be checked by address, or refused. */
export type Admission = { ok: true; byName: boolean } | { ok: false; reason: string }

/** A resolver: every address of a host name (dns.lookup with `all: true`). */
export type Resolve = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>

const systemResolve: Resolve = (hostname, family) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, family }, (err, addresses) => (err ? reject(err) : resolve(addresses))))

/** A name resolved to an address the allow-list does not admit (the lookup's error). */
export class AddressNotAllowedError extends Error {
  override name = 'AddressNotAllowedError'
  constructor(
    readonly host: string,
    readonly address: string,
    readonly addressClass: AddressClass,
  ) {
    super(`${host} resolves to ${address} (${addressClass}), outside the backend allow-list`)
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void
/** The `lookup` option of `net.connect` / an http Agent. */
export type ConnectLookup = (hostname: string, options: { family?: number | string; all?: boolean }, callback: LookupCallback) => void

export class BackendAllowList {
  readonly entries: readonly Entry[]
  private readonly resolve: Resolve

  constructor(
    readonly source: readonly string[],
    o: { resolve?: Resolve } = {},
  ) {
    this.entries = source.map(parseEntry)
    this.resolve = o.resolve ?? systemResolve
  }

  /** The default list: public addresses, and loopback too on a dev network (its models run on this machine). */
  static defaults(dev: boolean): string[] {
    return dev ? ['public', 'loopback'] : ['public']
  }

  admitsAddress(address: string): boolean {
    const ip = parseIp(address)
    if (!ip) return false
    const cls = classifyAddress(ip)
    return this.entries.some((e) => (e.kind === 'class' && e.class === cls) || (e.kind === 'cidr' && inCidr(ip, e.cidr)))
  }

  /** Scheme, then origin and host names, then (for an IP literal) the address. A host name not named here is checked when resolved. */
  admits(url: URL): Admission {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: `scheme ${url.protocol} is not http(s)` }
    const host = url.hostname.toLowerCase().replace(/\.$/, '')
    const named = this.entries.some(
      (e) =>
        (e.kind === 'origin' && e.origin === url.origin) ||
        (e.kind === 'host' && (e.subdomains ? host.endsWith(`.${e.host}`) : host === e.host) && !parseIp(host)),
    )
    if (named) return { ok: true, byName: true }
    const ip = parseIp(host)
    if (ip) return this.admitsAddress(host) ? { ok: true, byName: false } : { ok: false, reason: `${host} is ${classifyAddress(ip)}` }
    return { ok: true, byName: false }
  }

  /**
   * The `lookup` an agent connects through for `url`: a host allowed by name resolves as
   * usual; any other name resolves here, and unless every address is admitted the connection
   * fails with AddressNotAllowedError. The addresses returned are the ones checked, so the
   * socket connects to exactly those.
   */
  lookupFor(url: URL): ConnectLookup {
    const byName = this.admits(url)
    return (hostname, options, callback) => {
      const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0
      this.resolve(hostname, family).then(
        (addresses) => {
          if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), [])
          if (!(byName.ok && byName.byName)) {
            for (const a of addresses) {
              if (!this.admitsAddress(a.address)) {
                const ip = parseIp(a.address)
                return callback(new AddressNotAllowedError(hostname, a.address, ip ? classifyAddress(ip) : 'reserved'), [])
              }
            }
          }
          if (options.all) callback(null, addresses)
          else callback(null, addresses[0].address, addresses[0].family)
        },
        (err: NodeJS.ErrnoException) => callback(err, []),
      )
    }
  }
}
