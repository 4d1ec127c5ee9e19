import { describe, expect, it } from 'vitest'
import { suffixArray } from './sais.mjs'

/** Reference: sort suffixes by direct comparison; running out of text sorts first. */
function naive(T: ArrayLike<number>): number[] {
  const n = T.length
  const idx = Array.from({ length: n }, (_, i) => i)
  return idx.sort((a, b) => {
    while (a < n && b < n) {
      if (T[a] !== T[b]) return T[a] - T[b]
      a++
      b++
    }
    return a === n ? -1 : 1
  })
}

function rng(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

const check = (arr: number[], k?: number): void => {
  const T = Int32Array.from(arr)
  const kk = k ?? Math.max(1, ...arr.map((x) => x + 1))
  expect(Array.from(suffixArray(T, T.length, kk))).toEqual(naive(T))
}

describe('suffixArray (SA-IS)', () => {
  it('matches a naive sort on random inputs of many sizes and alphabets', () => {
    const r = rng(1)
    for (let trial = 0; trial < 1500; trial++) {
      const n = Math.floor(r() * 80)
      const k = 1 + Math.floor(r() * (trial % 3 === 0 ? 2 : trial % 3 === 1 ? 5 : 300))
      check(
        Array.from({ length: n }, () => Math.floor(r() * k)),
        k,
      )
    }
  })

  it('handles adversarial inputs: empty, one token, one repeated token, periodic, with separators', () => {
    check([])
    check([0])
    check([7])
    check(new Array(1000).fill(3))
    check(new Array(999).fill(0))
    check(Array.from({ length: 1200 }, (_, i) => i % 2))
    check(Array.from({ length: 1200 }, (_, i) => [1, 2, 3, 1, 2][i % 5]))
    check(Array.from({ length: 1024 }, (_, i) => ((i * 7) % 13 === 0 ? 0 : 5))) // sparse separators
    check([5, 0, 0, 0, 5, 0, 0, 5, 0]) // empty documents: consecutive separators
    // Fibonacci word: a classic worst case for suffix sorting (deep recursion)
    let a = [0]
    let b = [0, 1]
    while (b.length < 3000) [a, b] = [b, [...b, ...a]]
    check(b)
    // strictly decreasing and increasing
    check(Array.from({ length: 500 }, (_, i) => 500 - i))
    check(Array.from({ length: 500 }, (_, i) => i))
  })

  it('sorts large inputs (deep recursion, big alphabets): a permutation in increasing suffix order', () => {
    const r = rng(3)
    const inputs: [Int32Array, number][] = []
    // Zipf-like ids with separators, like token ids of text; and a low-entropy text full
    // of repeats (many equal LMS substrings, so the reduced string recurses several levels).
    inputs.push([Int32Array.from({ length: 200_000 }, () => (r() < 0.01 ? 0 : 1 + Math.floor(5000 * r() ** 3))), 5001])
    const unit = Array.from({ length: 37 }, () => Math.floor(r() * 3))
    inputs.push([Int32Array.from({ length: 150_000 }, (_, i) => (r() < 0.001 ? 3 : unit[i % 37])), 4])
    for (const [T, k] of inputs) {
      const n = T.length
      const SA = suffixArray(T, n, k)
      const seen = new Uint8Array(n)
      for (let i = 0; i < n; i++) {
        expect(seen[SA[i]]).toBe(0)
        seen[SA[i]] = 1
      }
      for (let i = 1; i < n; i++) {
        let a = SA[i - 1]
        let b = SA[i]
        while (b < n && a < n && T[a] === T[b]) {
          a++
          b++
        }
        // suffix SA[i-1] < suffix SA[i]: it ran out first or has the smaller id
        if (!(a === n || (b < n && T[a] < T[b]))) expect.fail(`not sorted at ${i}`)
      }
    }
  })

  it('tolerates an alphabet larger than needed', () => {
    check([3, 1, 3, 1, 2], 100_000)
  })
})
