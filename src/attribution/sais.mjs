// SA-IS suffix array construction (Nong, Zhang & Chan 2009), linear time.
//
// Plain JavaScript on purpose: this file is loaded by worker threads under plain node and
// under vitest alike, so it must not need a TypeScript loader. Types live in sais.d.mts.
//
// The text T[0..n) holds integers in [0, k). A virtual sentinel, smaller than every symbol
// and unique, sits at position n; it is never stored. The order produced is therefore the
// plain lexicographic order of suffixes where "ran out of text" sorts first.

/**
 * @param {Int32Array | Uint32Array | Uint16Array | Uint8Array} T
 * @param {number} n
 * @param {number} k alphabet size (every T[i] < k)
 * @returns {Int32Array}
 */
export function suffixArray(T, n, k) {
  const SA = new Int32Array(n)
  if (n === 0) return SA
  if (n === 1) {
    SA[0] = 0
    return SA
  }
  sais(T, SA, n, k)
  return SA
}

function bucketEnds(C, B, k) {
  let sum = 0
  for (let i = 0; i < k; i++) {
    sum += C[i]
    B[i] = sum
  }
}

function bucketStarts(C, B, k) {
  let sum = 0
  for (let i = 0; i < k; i++) {
    B[i] = sum
    sum += C[i]
  }
}

function induceL(T, SA, t, C, B, n, k) {
  bucketStarts(C, B, k)
  // The sentinel suffix is the smallest; its predecessor n-1 is always L-type.
  SA[B[T[n - 1]]++] = n - 1
  for (let i = 0; i < n; i++) {
    const j = SA[i] - 1
    if (j >= 0 && t[j] === 0) SA[B[T[j]]++] = j
  }
}

function induceS(T, SA, t, C, B, n, k) {
  bucketEnds(C, B, k)
  for (let i = n - 1; i >= 0; i--) {
    const j = SA[i] - 1
    if (j >= 0 && t[j] === 1) SA[--B[T[j]]] = j
  }
}

function sais(T, SA, n, k) {
  // Types: 1 = S, 0 = L. T[n-1] is L because it is larger than the sentinel.
  const t = new Uint8Array(n)
  for (let i = n - 2; i >= 0; i--) {
    const a = T[i]
    const b = T[i + 1]
    t[i] = a < b || (a === b && t[i + 1] === 1) ? 1 : 0
  }
  const C = new Int32Array(k)
  for (let i = 0; i < n; i++) C[T[i]]++
  const B = new Int32Array(k)

  // Stage 1: sort the LMS substrings by one induced pass.
  SA.fill(-1)
  bucketEnds(C, B, k)
  for (let i = 1; i < n; i++) if (t[i] === 1 && t[i - 1] === 0) SA[--B[T[i]]] = i
  induceL(T, SA, t, C, B, n, k)
  induceS(T, SA, t, C, B, n, k)

  // Compact the sorted LMS positions into SA[0..n1).
  let n1 = 0
  for (let i = 0; i < n; i++) {
    const p = SA[i]
    if (p > 0 && t[p] === 1 && t[p - 1] === 0) SA[n1++] = p
  }
  // Name the LMS substrings; equal substrings share a name. Names go to SA[n1 + p/2]
  // (LMS positions are at least 2 apart, so the slots are distinct and fit).
  SA.fill(-1, n1, n)
  let names = 0
  let prev = -1
  for (let i = 0; i < n1; i++) {
    const pos = SA[i]
    let diff = true
    if (prev >= 0) {
      for (let d = 0; ; d++) {
        const a = pos + d
        const b = prev + d
        if (a === n || b === n) break // one reached the (unique) sentinel
        if (T[a] !== T[b] || t[a] !== t[b]) break
        if (d > 0 && t[a] === 1 && t[a - 1] === 0) {
          diff = false // both reached their next LMS position together: equal
          break
        }
      }
    }
    if (diff) {
      names++
      prev = pos
    }
    SA[n1 + (pos >> 1)] = names - 1
  }
  // Gather names in text order into the tail: s1 = SA[n-n1..n).
  let j = n - 1
  for (let i = n - 1; i >= n1; i--) if (SA[i] >= 0) SA[j--] = SA[i]
  const s1 = SA.subarray(n - n1, n)
  const SA1 = SA.subarray(0, n1)

  // Stage 2: sort the reduced string (recursively if names repeat).
  if (names < n1) {
    sais(s1, SA1, n1, names)
  } else {
    for (let i = 0; i < n1; i++) SA1[s1[i]] = i
  }

  // Stage 3: place sorted LMS suffixes at bucket ends and induce the full order.
  j = 0
  for (let i = 1; i < n; i++) if (t[i] === 1 && t[i - 1] === 0) s1[j++] = i
  for (let i = 0; i < n1; i++) SA1[i] = s1[SA1[i]]
  SA.fill(-1, n1, n)
  bucketEnds(C, B, k)
  for (let i = n1 - 1; i >= 0; i--) {
    const p = SA[i]
    SA[i] = -1
    SA[--B[T[p]]] = p
  }
  induceL(T, SA, t, C, B, n, k)
  induceS(T, SA, t, C, B, n, k)
}
