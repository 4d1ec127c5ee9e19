/** How numbers and names read on screen. Amounts are bigint base units (18 decimals, SIN): exact, never floats. */
export const DECIMALS = 18

/** `amount` base units as SIN, every significant digit kept (trailing zeros dropped). */
export function formatSin(amount: string | bigint): string {
  const v = BigInt(amount)
  const neg = v < 0n
  const abs = neg ? -v : v
  const whole = abs / 10n ** BigInt(DECIMALS)
  const frac = (abs % 10n ** BigInt(DECIMALS)).toString().padStart(DECIMALS, '0').replace(/0+$/, '')
  return `${neg ? '-' : ''}${whole.toLocaleString('en-US')}${frac ? `.${frac}` : ''} SIN`
}

/** A decimal SIN amount typed by a person as base units; throws on anything else. */
export function parseSin(text: string): bigint {
  const m = /^\s*(\d+)(?:\.(\d{0,18}))?\s*$/.exec(text)
  if (!m) throw new Error(`"${text}" is not an amount of SIN (digits, optionally a point and up to 18 decimals)`)
  return BigInt(m[1]) * 10n ** 18n + BigInt((m[2] ?? '').padEnd(18, '0') || '0')
}

export const short = (hex: string, n = 6): string => (hex.length > 2 * n + 4 ? `${hex.slice(0, n + 2)}…${hex.slice(-n)}` : hex)

/** `text` cut to `n` characters, the last one an ellipsis when cut. */
export const ellipsis = (text: string, n: number): string => (text.length > n ? `${text.slice(0, n - 1)}…` : text)

export const bps = (v: number): string => `${(v / 100).toFixed(2)} %`

export const time = (ms: string | number): string => new Date(Number(ms)).toLocaleString()

export function bytes(n: number | string): string {
  const v = Number(n)
  if (v < 1024) return `${v} B`
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`
  return `${(v / 1024 / 1024).toFixed(1)} MiB`
}
