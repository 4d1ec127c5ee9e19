/**
 * Independent reference computations for tests: written from the specification
 * (docs/gateway.md, DESIGN §3), not from the code they check, so a test can fail.
 */

/** Greatest common divisor of two non-negative bigints. */
function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}

/** Compares two strings by UTF-16 code unit, one unit at a time (the tie-break the spec names). */
export function compareCodeUnits(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/**
 * Largest-remainder (Hamilton) split by its definition: each row's exact share
 * total × w / Σw is a fraction q = whole + frac (frac kept as a reduced fraction); every row
 * gets `whole`, and the units still missing go one each to the rows with the largest `frac`
 * (fractions compared by cross-multiplication), equal fractions in ascending id order.
 * Zero weights get zero. Rows come back in input order.
 */
export function largestRemainderOracle(total: bigint, rows: readonly { id: string; weight: bigint }[]): bigint[] {
  const sum = rows.reduce((a, r) => a + r.weight, 0n)
  if (sum === 0n) return rows.map(() => 0n)
  const shares = rows.map((r, index) => {
    const num = total * r.weight
    const whole = (num - (num % sum)) / sum
    const fracNum = num - whole * sum
    const g = gcd(fracNum, sum)
    return { index, id: r.id, whole, frac: { num: fracNum / g, den: sum / g } }
  })
  const missing = total - shares.reduce((a, s) => a + s.whole, 0n)
  const ranked = [...shares].sort((x, y) => {
    const left = x.frac.num * y.frac.den
    const right = y.frac.num * x.frac.den
    if (left !== right) return left > right ? -1 : 1
    return compareCodeUnits(x.id, y.id)
  })
  const out = shares.map((s) => s.whole)
  for (let k = 0n; k < missing; k++) out[ranked[Number(k)].index] += 1n
  return out
}
