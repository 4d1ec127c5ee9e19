// SA-IS suffix array construction (Nong, Zhang & Chan 2009), linear time.
//
// Plain JavaScript on purpose: this file is loaded by worker threads under plain node and
// under vitest alike, so it must not need a TypeScript loader. Types live in sais.d.mts.
//
// The text T[0..n) holds integers in [0, k). A virtual sentinel, smaller than every symbol
// and unique, sits at position n; it is never stored. The order produced is therefore the
// plain lexicographic order of suffixes where "ran out of text" sorts first.
//
// The work is dominated by cache misses (random reads of T and writes into SA), so the
// inner loops avoid every other memory access they can:
// - the induced-sorting passes need no type array: when a suffix j is induced its
//   predecessor's type follows from T[j-1] versus T[j] alone, and that is stored with the
//   entry as its sign (~j: "do not induce from me in this pass"), as in Yuta Mori's sais;
// - the current bucket's write pointer is kept in a local and only written back to the
//   bucket array when the bucket changes (runs of equal symbols are common);
// - LMS positions are a bit set (n/8 bytes, which stays in cache, unlike T or SA);
// - LMS substrings are named by comparing their lengths first, symbols only on a tie.
// SA entries use 0 for "empty" in the induction passes: position 0 has no predecessor
// to induce, so an empty slot and suffix 0 behave the same there.

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

/**
 * Induces the order of all suffixes from the LMS suffixes placed in SA (each at the end of
 * its bucket, every other slot 0). Afterwards every entry is a non-negative position.
 */
function induce(T, SA, C, B, n, k) {
  // L-type suffixes, left to right from bucket starts. An entry j >= 0 asks to induce j-1
  // (known to be L-type); it is then stored as ~j. An entry ~j was induced with an S-type
  // predecessor: it is restored to j and induces nothing now.
  bucketStarts(C, B, k)
  let j = n - 1 // the sentinel's predecessor: always L-type
  let c1 = T[j]
  let b = B[c1]
  SA[b++] = j > 0 && T[j - 1] < c1 ? ~j : j
  for (let i = 0; i < n; i++) {
    j = SA[i]
    if (j > 0) {
      SA[i] = ~j
      j--
      const c0 = T[j]
      if (c0 !== c1) {
        B[c1] = b
        c1 = c0
        b = B[c1]
      }
      SA[b++] = j > 0 && T[j - 1] < c0 ? ~j : j
    } else if (j < 0) {
      SA[i] = ~j
    }
  }
  // S-type suffixes, right to left from bucket ends. Now an entry j > 0 (an L-type suffix
  // whose predecessor is S-type, or an S-type suffix with an S-type predecessor) induces
  // j-1; an S-type suffix whose predecessor is L-type is stored as ~j and restored later.
  bucketEnds(C, B, k)
  c1 = 0
  b = B[0]
  for (let i = n - 1; i >= 0; i--) {
    j = SA[i]
    if (j > 0) {
      j--
      const c0 = T[j]
      if (c0 !== c1) {
        B[c1] = b
        c1 = c0
        b = B[c1]
      }
      SA[--b] = j === 0 || T[j - 1] > c0 ? ~j : j
    } else if (j < 0) {
      SA[i] = ~j
    }
  }
}

function sais(T, SA, n, k) {
  // Classify (S = smaller than the next suffix, L = larger; T[n-1] is L because it is
  // larger than the sentinel) and mark LMS positions (S-type after an L-type) in a bit set.
  const lms = new Int32Array((n + 32) >>> 5)
  const C = new Int32Array(k)
  let n1 = 0
  {
    let next = T[n - 1]
    let nextS = false
    C[next]++
    for (let i = n - 2; i >= 0; i--) {
      const c = T[i]
      C[c]++
      const s = c < next || (c === next && nextS)
      if (!s && nextS) {
        const p = i + 1
        lms[p >>> 5] |= 1 << (p & 31)
        n1++
      }
      nextS = s
      next = c
    }
  }
  const B = new Int32Array(k)
  const isLMS = (p) => (lms[p >>> 5] >>> (p & 31)) & 1

  // Stage 1: sort the LMS substrings by one induced pass (LMS positions at bucket ends,
  // in text order).
  SA.fill(0)
  bucketEnds(C, B, k)
  for (let i = n - 1; i >= 1; i--) if (isLMS(i)) SA[--B[T[i]]] = i
  induce(T, SA, C, B, n, k)

  // Compact the sorted LMS positions into SA[0..n1).
  let m = 0
  for (let i = 0; i < n; i++) {
    const p = SA[i]
    if (isLMS(p)) SA[m++] = p
  }
  // Name the LMS substrings; equal substrings share a name. First the length of each
  // (from an LMS position to the next one, inclusive; the last one runs into the sentinel
  // and is therefore unique) goes to SA[n1 + p/2] (LMS positions are at least 2 apart, so
  // the slots are distinct and fit); then each name replaces its length. Two substrings of
  // the same length with the same symbols are equal: types follow from the symbols and
  // the (S-type) end.
  SA.fill(-1, n1, n)
  {
    let end = n + 1
    for (let i = n - 1; i >= 1; i--) {
      if (isLMS(i)) {
        SA[n1 + (i >> 1)] = end - i
        end = i + 1
      }
    }
  }
  let names = 0
  let prev = 0
  let prevLen = 0
  for (let i = 0; i < n1; i++) {
    const pos = SA[i]
    const slot = n1 + (pos >> 1)
    const len = SA[slot]
    let diff = true
    if (len === prevLen && pos + len <= n && prev + len <= n) {
      let d = 0
      while (d < len && T[pos + d] === T[prev + d]) d++
      diff = d < len
    }
    if (diff) {
      names++
      prev = pos
      prevLen = len
    }
    SA[slot] = names - 1
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
  for (let i = 1; i < n; i++) if (isLMS(i)) s1[j++] = i
  for (let i = 0; i < n1; i++) SA1[i] = s1[SA1[i]]
  SA.fill(0, n1, n)
  bucketEnds(C, B, k)
  for (let i = n1 - 1; i >= 0; i--) {
    const p = SA[i]
    SA[i] = 0
    SA[--B[T[p]]] = p
  }
  induce(T, SA, C, B, n, k)
}
