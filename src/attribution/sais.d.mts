/** SA-IS suffix array of T[0..n) over the alphabet [0, k); "end of text" sorts first. */
export function suffixArray(T: Int32Array | Uint32Array | Uint16Array | Uint8Array, n: number, k: number): Int32Array
