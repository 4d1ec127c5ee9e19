/**
 * Integer rules for money and weights. Amounts are bigint base units; shares are basis
 * points (10 000 = 100 %). Wire form of every integer is a decimal string.
 */
import { SinewError } from './errors.ts'

export const MAX_UINT256 = (1n << 256n) - 1n
export const MAX_UINT64 = (1n << 64n) - 1n
export const BPS = 10_000n

const DECIMAL = /^(0|[1-9][0-9]*)$/

/**
 * Parses a decimal-string unsigned integer, refusing signs, fractions, exponents, leading
 * zeros and values above 2^bits - 1. `field` names the input in the error.
 */
export function parseUint(value: unknown, bits: number, field: string): bigint {
  if (typeof value !== 'string') {
    throw new SinewError({
      code: 'invalid_field',
      message: `${field} must be a decimal string`,
      details: { field, got: typeof value },
      hint: `Send integers as decimal strings, e.g. "${field}": "1000".`,
    })
  }
  if (!DECIMAL.test(value)) {
    const why = value.startsWith('-') ? 'negative' : /[.eE]/.test(value) ? 'fractional or exponent form' : 'not a plain decimal integer'
    throw new SinewError({
      code: 'invalid_field',
      message: `${field} is ${why}: ${JSON.stringify(value.slice(0, 80))}`,
      details: { field, value: value.slice(0, 80), expected: `uint${bits} as a decimal string` },
    })
  }
  const n = BigInt(value)
  if (n > (1n << BigInt(bits)) - 1n) {
    throw new SinewError({
      code: 'invalid_field',
      message: `${field} is above the uint${bits} maximum`,
      details: { field, value: value.slice(0, 100), max: ((1n << BigInt(bits)) - 1n).toString() },
    })
  }
  return n
}

export type Share = { id: string; weight: bigint }
export type Allocation = { id: string; amount: bigint }

/**
 * Splits `total` in proportion to `weights` with the largest-remainder method: everyone
 * gets floor(total * w / sum), then the leftover units go one each to the largest
 * remainders, ties broken by id (ascending, by code unit). The result sums to `total`
 * exactly and is a pure function of its inputs. Zero weights get zero.
 */
export function largestRemainderSplit(total: bigint, weights: readonly Share[]): Allocation[] {
  if (total < 0n) throw new RangeError('total must be non-negative')
  let sum = 0n
  for (const w of weights) {
    if (w.weight < 0n) throw new RangeError(`negative weight for ${w.id}`)
    sum += w.weight
  }
  if (sum === 0n) {
    if (total !== 0n && weights.length > 0) throw new RangeError('cannot split a non-zero total over zero weights')
    return weights.map((w) => ({ id: w.id, amount: 0n }))
  }
  const rows = weights.map((w, index) => {
    const scaled = total * w.weight
    return { id: w.id, index, amount: scaled / sum, remainder: scaled % sum }
  })
  let leftover = total - rows.reduce((acc, r) => acc + r.amount, 0n)
  const order = [...rows].sort((a, b) => (a.remainder !== b.remainder ? (a.remainder > b.remainder ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const row of order) {
    if (leftover === 0n) break
    row.amount += 1n
    leftover -= 1n
  }
  return rows.map((r) => ({ id: r.id, amount: r.amount }))
}

/** Formats base units (18 decimals) as a human amount, e.g. 1500000000000000000n -> "1.5". */
export function formatUnits(value: bigint, decimals = 18): string {
  const negative = value < 0n
  const abs = negative ? -value : value
  const base = 10n ** BigInt(decimals)
  const whole = abs / base
  const frac = (abs % base).toString().padStart(decimals, '0').replace(/0+$/, '')
  return (negative ? '-' : '') + whole.toString() + (frac ? '.' + frac : '')
}

/** Parses a human amount ("1.5") into base units; refuses more decimals than the unit has. */
export function parseUnits(text: string, decimals = 18, field = 'amount'): bigint {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim())
  if (!m) throw new SinewError({ code: 'invalid_field', message: `${field} is not a decimal amount: ${JSON.stringify(text)}`, details: { field } })
  const frac = m[2] ?? ''
  if (frac.length > decimals) {
    throw new SinewError({ code: 'invalid_field', message: `${field} has more than ${decimals} decimals`, details: { field, value: text } })
  }
  return BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0')
}
