/**
 * Deterministic sampling for generate(): a splitmix64 generator and an integer-only
 * temperature scheme, so that a seed gives the same text on every machine.
 */

const MASK64 = (1n << 64n) - 1n

export class SplitMix64 {
  private state: bigint
  constructor(seed: number | bigint) {
    this.state = BigInt.asUintN(64, BigInt(seed))
  }
  next(): bigint {
    this.state = (this.state + 0x9e3779b97f4a7c15n) & MASK64
    let z = this.state
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64
    return z ^ (z >> 31n)
  }
  /** Uniform integer in [0, n), by rejection (no modulo bias). */
  below(n: bigint): bigint {
    if (n <= 0n) throw new RangeError('n must be positive')
    const limit = (1n << 64n) - ((1n << 64n) % n)
    for (;;) {
      const z = this.next()
      if (z < limit) return z % n
    }
  }
}

const Q = 32n
const ONE = 1n << Q

function isqrt(n: bigint): bigint {
  if (n < 2n) return n
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1)
  for (;;) {
    const y = (x + n / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

// ROOTS[i] = 2^(2^-i) in Q32, by repeated integer square roots (no floating point).
const ROOTS: bigint[] = [2n * ONE]
for (let i = 1; i <= 32; i++) ROOTS.push(isqrt(ROOTS[i - 1] << Q))

/** log2(c) in Q32 for an integer c >= 1 (bit-by-bit squaring, floor at each step). */
export function log2Q32(c: bigint): bigint {
  const n = BigInt(c.toString(2).length - 1)
  let x = (c << Q) >> n
  let r = n << Q
  for (let i = 1n; i <= Q; i++) {
    x = (x * x) >> Q
    if (x >= 2n * ONE) {
      x >>= 1n
      r |= 1n << (Q - i)
    }
  }
  return r
}

/** 2^(e / 2^32) in Q32 for e <= 0. */
export function exp2Q32(e: bigint): bigint {
  if (e > 0n) throw new RangeError('exponent must be <= 0')
  const k = (-e + ONE - 1n) >> Q // ceil(-e / 2^32)
  const f = e + (k << Q) // in [0, 2^32)
  let r = ONE
  for (let i = 1n; i <= Q; i++) if ((f >> (Q - i)) & 1n) r = (r * ROOTS[Number(i)]) >> Q
  return r >> k
}

/**
 * Sampling weights for counts at temperature T: weight = 2^32 * (c / cmax)^(1/T), computed
 * as exp2(rho * (log2 c - log2 cmax) / 1000) in Q32 with rho = round(1000 / T). T = 1 uses
 * the counts themselves. T = 0 is greedy and handled by the caller.
 */
export function temperatureWeights(counts: readonly number[], temperature: number): bigint[] {
  const rho = Math.min(1_000_000, Math.round(1000 / temperature))
  if (rho === 1000) return counts.map((c) => BigInt(c))
  let cmax = 0
  for (const c of counts) if (c > cmax) cmax = c
  const lmax = log2Q32(BigInt(cmax))
  return counts.map((c) => (c <= 0 ? 0n : exp2Q32((BigInt(rho) * (log2Q32(BigInt(c)) - lmax)) / 1000n)))
}
