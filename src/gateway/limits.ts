/**
 * Limits that keep one client or one key from abusing the gateway:
 *
 * - failed API-key authentications per client (a token bucket per IP address, IPv6 per /64):
 *   once a client has spent its failures it is refused before any key is looked at, so a
 *   lucky guess cannot get through either;
 * - calls in flight per API key.
 *
 * Time comes from an injected clock, so tests move it instead of sleeping.
 */
import { parseIp } from '../core/index.ts'

export type Clock = () => number

/** The bucket a client's failures count against: its IPv4 address, or its IPv6 /64 (one host's usual allotment). */
export function clientKey(address: string): string {
  const ip = parseIp(address)
  if (!ip) return address
  return ip.v === 4 ? `v4:${ip.n}` : `v6:${ip.n >> 64n}`
}

type Bucket = { tokens: number; at: number }

/** Entries beyond this are evicted oldest first (a flood of fresh addresses cannot grow memory without bound). */
const MAX_CLIENTS = 100_000

export class AuthFailureLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly perMs: number

  constructor(
    readonly perMinute: number,
    private readonly now: Clock = Date.now,
  ) {
    this.perMs = perMinute / 60_000
  }

  private level(key: string): Bucket | undefined {
    const b = this.buckets.get(key)
    if (!b) return undefined
    const t = this.now()
    b.tokens = Math.min(this.perMinute, b.tokens + (t - b.at) * this.perMs)
    b.at = t
    if (b.tokens >= this.perMinute) {
      this.buckets.delete(key)
      return undefined
    }
    return b
  }

  /** Seconds until `client` may try again, or 0 if it may try now. */
  retryAfter(client: string): number {
    const b = this.level(clientKey(client))
    if (!b || b.tokens >= 1) return 0
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000))
  }

  /** Counts one failed authentication of `client`. */
  fail(client: string): void {
    const key = clientKey(client)
    const b = this.level(key) ?? { tokens: this.perMinute, at: this.now() }
    b.tokens -= 1
    this.buckets.delete(key) // re-insert: the map stays ordered by last failure
    this.buckets.set(key, b)
    if (this.buckets.size > MAX_CLIENTS) this.buckets.delete(this.buckets.keys().next().value!)
  }

  /** Clients currently holding fewer than their full allowance (for status and tests). */
  get tracked(): number {
    return this.buckets.size
  }
}

/** Calls in flight per key, up to a cap. */
export class ConcurrencyLimit {
  private readonly inFlight = new Map<string, number>()

  constructor(readonly max: number) {}

  /** Takes a slot for `key`: a release function, or undefined when the key is at its cap. */
  acquire(key: string): (() => void) | undefined {
    const n = this.inFlight.get(key) ?? 0
    if (n >= this.max) return undefined
    this.inFlight.set(key, n + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      const left = (this.inFlight.get(key) ?? 1) - 1
      if (left === 0) this.inFlight.delete(key)
      else this.inFlight.set(key, left)
    }
  }

  count(key: string): number {
    return this.inFlight.get(key) ?? 0
  }
}
