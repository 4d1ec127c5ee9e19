/**
 * Wire messages <-> typed values, driven by a kind's EIP-712 field list. On the wire every
 * integer is a decimal string, addresses and bytes are 0x hex; parsing refuses missing,
 * extra and ill-typed fields, naming the field. The parsed form is what the EIP-712 hasher
 * and the kind's handler see; `messageToWire` gives back the canonical wire form.
 */
import { isHex, parseUint, SinewError, type Hex } from '../core/index.ts'
import { parseAddress, type Address } from './address.ts'

export type TypedField = { readonly name: string; readonly type: string }
export type TypedFields = readonly TypedField[]
export type MessageValue = string | bigint | boolean | MessageValue[] | { [k: string]: MessageValue }
export type Message = Record<string, MessageValue>

/**
 * The parsed value of one EIP-712 type, as `parseMessage` gives it: every `uintN` a bigint
 * (whatever N: the ledger never narrows to number), `address` a lowercase Address, `bytes`
 * and `bytesN` lowercase hex, arrays (`T[]`, `T[k]`) arrays, and a struct name the object
 * of its fields. The same mapping viem (abitype's TypedDataToPrimitiveTypes) makes of an
 * `as const` typed-data definition, except that abitype types small uints as number.
 */
export type TypedValue<T extends string, Structs> = T extends `${infer Item}[]`
  ? TypedValue<Item, Structs>[]
  : T extends `${infer Item}[${number}]`
    ? TypedValue<Item, Structs>[]
    : T extends `uint${string}`
      ? bigint
      : T extends 'address'
        ? Address
        : T extends 'bool'
          ? boolean
          : T extends 'string'
            ? string
            : T extends `bytes${string}`
              ? Hex
              : T extends keyof Structs
                ? Structs[T] extends TypedFields
                  ? FieldsValue<Structs[T], Structs>
                  : never
                : never

/** The object a field list describes: `[{name: 'to', type: 'address'}]` -> `{ to: Address }`. */
export type FieldsValue<F extends TypedFields, Structs = NoStructs> = { [K in F[number] as K['name']]: TypedValue<K['type'], Structs> }

/**
 * The parsed message of a tx kind from its field list (declared `as const`) and struct
 * types, with the `nonce` the ledger appends: the one definition of a kind's message, so
 * the TypeScript type cannot drift from what is signed.
 */
export type MessageOf<F extends TypedFields, Structs = NoStructs> = Simplify<FieldsValue<F, Structs> & { nonce: bigint }>

/** Struct types of a kind that declares none. */
export type NoStructs = Record<never, TypedFields>

type Simplify<T> = { [K in keyof T]: T[K] }

const UINT = /^uint(\d{1,3})$/
const BYTES_N = /^bytes(\d{1,2})$/
const ARRAY = /^(.*)\[(\d*)\]$/
// Strings are hashed as UTF-8; a lone surrogate has no UTF-8 form, so it is refused.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Parses one wire message against its fields (and the struct types they refer to). */
export function parseMessage(
  raw: unknown,
  fields: TypedFields,
  types: Record<string, TypedFields> = {},
  path = 'message',
  limits: { maxStringBytes?: number } = {},
): Message {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SinewError({
      code: 'invalid_field',
      message: `${path} must be an object`,
      details: { field: path, got: raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw },
    })
  }
  const input = raw as Record<string, unknown>
  const known = new Set(fields.map((f) => f.name))
  for (const key of Object.keys(input)) {
    if (!known.has(key)) {
      throw new SinewError({
        code: 'unknown_field',
        message: `${path}.${key} is not a field of this message`,
        details: { field: `${path}.${key}`, expected: fields.map((f) => f.name) },
        hint: 'Remove the extra field; GET /v1/types lists every field of every kind.',
      })
    }
  }
  const out: Message = {}
  for (const f of fields) {
    const fieldPath = `${path}.${f.name}`
    if (!(f.name in input) || input[f.name] === undefined) {
      throw new SinewError({ code: 'missing_field', message: `${fieldPath} is missing`, details: { field: fieldPath, type: f.type } })
    }
    out[f.name] = parseValue(input[f.name], f.type, types, fieldPath, limits)
  }
  return out
}

function parseValue(value: unknown, type: string, types: Record<string, TypedFields>, path: string, limits: { maxStringBytes?: number }): MessageValue {
  const array = ARRAY.exec(type)
  if (array) {
    if (!Array.isArray(value)) throw fieldError(path, `must be an array of ${array[1]}`, value)
    if (array[2] !== '' && value.length !== Number(array[2])) throw fieldError(path, `must have exactly ${array[2]} items`, value.length)
    return value.map((item, i) => parseValue(item, array[1], types, `${path}[${i}]`, limits))
  }
  if (type === 'address') return parseAddress(value, path)
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw fieldError(path, 'must be true or false', value)
    return value
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw fieldError(path, 'must be a string', value)
    const max = limits.maxStringBytes ?? 64 * 1024
    if (Buffer.byteLength(value, 'utf8') > max) throw fieldError(path, `is longer than ${max} bytes`, value.length)
    if (LONE_SURROGATE.test(value)) throw fieldError(path, 'is not well-formed Unicode (lone surrogate)', value.slice(0, 40))
    return value
  }
  if (type === 'bytes') {
    if (!isHex(value)) throw fieldError(path, 'must be 0x-prefixed hex bytes', value)
    return value.toLowerCase()
  }
  const bytesN = BYTES_N.exec(type)
  if (bytesN) {
    const n = Number(bytesN[1])
    if (!isHex(value, n)) throw fieldError(path, `must be ${n} bytes as 0x hex (${2 + 2 * n} characters)`, value)
    return value.toLowerCase()
  }
  const uint = UINT.exec(type)
  if (uint) return parseUint(value, Number(uint[1]), path)
  const struct = types[type]
  if (struct) return parseMessage(value, struct, types, path, limits)
  throw new SinewError({ code: 'invalid_field', message: `${path} has unsupported type ${type}`, details: { field: path, type } })
}

function fieldError(path: string, why: string, got: unknown): SinewError {
  const shown = typeof got === 'string' ? got.slice(0, 80) : typeof got === 'number' || typeof got === 'boolean' ? got : got === null ? null : typeof got
  return new SinewError({ code: 'invalid_field', message: `${path} ${why}`, details: { field: path, got: shown } })
}

/** The canonical wire form of a parsed message: bigints as decimal strings. */
export function messageToWire(message: Message): Record<string, unknown> {
  return toWire(message) as Record<string, unknown>
}

function toWire(value: MessageValue): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return value.map(toWire)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = toWire(v)
    return out
  }
  return value
}

export type { Hex }
