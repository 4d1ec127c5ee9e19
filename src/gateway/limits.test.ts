import { describe, expect, it } from 'vitest'
import { AuthFailureLimiter, clientKey, ConcurrencyLimit } from './limits.ts'

describe('AuthFailureLimiter', () => {
  it('allows N failures a minute per client, then asks it to wait until one is refilled', () => {
    let t = 1_000_000
    const l = new AuthFailureLimiter(6, () => t) // one failure back every 10 s
    for (let i = 0; i < 6; i++) {
      expect(l.retryAfter('203.0.113.9')).toBe(0)
      l.fail('203.0.113.9')
    }
    expect(l.retryAfter('203.0.113.9')).toBe(10)
    expect(l.retryAfter('203.0.113.10')).toBe(0) // another client
    t += 4_000
    expect(l.retryAfter('203.0.113.9')).toBe(6)
    t += 6_000
    expect(l.retryAfter('203.0.113.9')).toBe(0)
    l.fail('203.0.113.9')
    expect(l.retryAfter('203.0.113.9')).toBe(10)
    // A full minute refills everything, and the entry is forgotten.
    t += 60_000
    expect(l.retryAfter('203.0.113.9')).toBe(0)
    expect(l.tracked).toBe(0)
  })

  it('counts an IPv6 /64 as one client, and IPv4-mapped addresses as their IPv4 address', () => {
    const t = 0
    const l = new AuthFailureLimiter(2, () => t)
    l.fail('2001:db8:1:2::1')
    l.fail('2001:db8:1:2:ffff::9')
    expect(l.retryAfter('2001:db8:1:2::77')).toBeGreaterThan(0)
    expect(l.retryAfter('2001:db8:1:3::1')).toBe(0)
    l.fail('::ffff:198.51.100.7')
    l.fail('198.51.100.7')
    expect(l.retryAfter('198.51.100.7')).toBeGreaterThan(0)
    expect(clientKey('::ffff:198.51.100.7')).toBe(clientKey('198.51.100.7'))
  })
})

describe('ConcurrencyLimit', () => {
  it('holds at most max slots per key; a release frees one, once', () => {
    const c = new ConcurrencyLimit(2)
    const a = c.acquire('k')!
    const b = c.acquire('k')!
    expect(c.acquire('k')).toBeUndefined()
    expect(c.acquire('other')).toBeDefined()
    a()
    a()
    expect(c.count('k')).toBe(1)
    expect(c.acquire('k')).toBeDefined()
    b()
    expect(c.count('k')).toBe(1)
  })
})
