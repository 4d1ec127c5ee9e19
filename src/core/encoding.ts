/**
 * Canonical encoding: the one way Sinew turns a value into bytes for hashing and storage.
 * Same value -> byte-identical output, on every machine:
 *   - object keys sorted by UTF-16 code unit order, no whitespace;
 *   - bigint written as a decimal string (money and counters are never JS numbers on the wire);
 *   - non-integer numbers, NaN, Infinity, undefined values and functions are refused.
 */
import { SinewError } from './errors.ts'

export type Hex = `0x${string}`

export type CanonicalValue = string | number | bigint | boolean | null | readonly CanonicalValue[] | { readonly [key: string]: CanonicalValue }

export function canonicalJson(value: unknown): string {
  return encode(value, '$')
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

export function canonicalBytes(value: unknown): Uint8Array {
  return textEncoder.encode(canonicalJson(value))
}

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text)
}

/** Decodes UTF-8 strictly: invalid sequences throw instead of becoming U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes)
}

function encode(value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'bigint':
      return JSON.stringify(value.toString())
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isSafeInteger(value)) {
        throw new SinewError({
          code: 'invalid_input',
          message: `Not a canonical number at ${path}: ${value}`,
          details: { path, value: String(value) },
          hint: 'Only safe integers are allowed; write amounts as bigint or decimal strings.',
        })
      }
      return String(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) return '[' + value.map((v, i) => encode(v, `${path}[${i}]`)).join(',') + ']'
      if (value instanceof Uint8Array) return JSON.stringify(toHex(value))
      const keys = Object.keys(value).sort()
      const parts: string[] = []
      for (const key of keys) {
        const v = (value as Record<string, unknown>)[key]
        if (v === undefined) continue
        parts.push(JSON.stringify(key) + ':' + encode(v, `${path}.${key}`))
      }
      return '{' + parts.join(',') + '}'
    }
    default:
      throw new SinewError({
        code: 'invalid_input',
        message: `Value of type ${typeof value} cannot be encoded at ${path}`,
        details: { path, type: typeof value },
      })
  }
}

const HEX_CHARS = '0123456789abcdef'
const HEX_TABLE: string[] = Array.from({ length: 256 }, (_, i) => HEX_CHARS[i >> 4] + HEX_CHARS[i & 15])

export function toHex(bytes: Uint8Array): Hex {
  let out = '0x'
  for (let i = 0; i < bytes.length; i++) out += HEX_TABLE[bytes[i]]
  return out as Hex
}

export function fromHex(hex: string): Uint8Array {
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex
  if (body.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(body)) {
    throw new SinewError({ code: 'invalid_input', message: 'Not a hex string', details: { value: hex.slice(0, 80) } })
  }
  return Uint8Array.from(Buffer.from(body, 'hex'))
}

export function isHex(value: unknown, bytes?: number): value is Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]*$/.test(value) || value.length % 2 !== 0) return false
  return bytes === undefined || value.length === 2 + bytes * 2
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** 32-byte big-endian encoding of an unsigned integer (ABI `uint256` word). */
export function uint256Word(value: bigint): Uint8Array {
  if (value < 0n || value >= 1n << 256n) throw new RangeError(`uint256 out of range: ${value}`)
  const out = new Uint8Array(32)
  // Four big-endian 64-bit limbs (setBigUint64 keeps the low 64 bits of what it is given):
  // a few BigInt ops instead of one shift and mask per byte, on the writer's hot path.
  const view = new DataView(out.buffer)
  if (value >= 1n << 64n) {
    view.setBigUint64(0, value >> 192n)
    view.setBigUint64(8, value >> 128n)
    view.setBigUint64(16, value >> 64n)
  }
  view.setBigUint64(24, value)
  return out
}
