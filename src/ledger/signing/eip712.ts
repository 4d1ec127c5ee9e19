/**
 * EIP-712 hashing, precompiled. Every tx is hashed once on ingest and again on replay, so the
 * per-message work is kept to what the standard needs: fill one buffer of 32-byte words per
 * struct and run keccak over it. Everything that depends only on the types (encodeType
 * strings, type hashes, one word encoder per field, the domain separator) is computed once
 * in `createTypedDataHasher`.
 *
 * Byte-for-byte equal to viem's `hashTypedData` (checked in eip712.test.ts on random
 * messages). Message values arrive already validated by the message parser, so the checks
 * here are the cheap ones that keep a wrong value from silently hashing to a wrong digest.
 */
import { SinewError } from '../../core/index.ts'
import { keccak256Bytes as keccak } from '../../core/index.ts'

export type TypedField = { name: string; type: string }
export type Eip712Domain = { name: string; version: string; chainId: bigint }

/** Writes the 32-byte EIP-712 encoding of one value at `offset` (the slot is zero-filled).
 * The value's path is passed as (parent, key) and joined by `at` only for errors and
 * nested values, so hashing a flat struct builds no strings. */
type WordEncoder = (value: unknown, out: Buffer, offset: number, parent: string, key: string | number) => void

const at = (parent: string, key: string | number): string => (typeof key === 'number' ? `${parent}[${key}]` : `${parent}.${key}`)

const ATOMIC_UINT = /^uint(\d{1,3})?$/
const ATOMIC_INT = /^int(\d{1,3})?$/
const ATOMIC_BYTES = /^bytes(\d{1,2})$/
const ARRAY = /^(.+)\[(\d*)\]$/
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const TWO_256 = 1n << 256n

/**
 * Returns `message => digest`, where digest = keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message)).
 * Throws `invalid_typed_data` at creation for unknown or malformed types, and per message for a
 * missing field or a value of the wrong shape (naming the field path).
 */
export function createTypedDataHasher(
  domain: Eip712Domain,
  types: Record<string, readonly TypedField[]>,
  primaryType: string,
): (message: Record<string, unknown>) => Uint8Array {
  const compiled = compileTypes(types)
  const hashStruct = compiled.structHasher(primaryType)
  // 0x1901 ‖ domainSeparator fixed; only the last 32 bytes change per message. Reusing the
  // buffer is safe: the call below is synchronous and never re-enters this hasher.
  const buf = Buffer.alloc(66)
  buf[0] = 0x19
  buf[1] = 0x01
  buf.set(domainSeparator(domain), 2)
  return (message) => {
    buf.set(hashStruct(message, 'message'), 34)
    return keccak(buf)
  }
}

const DOMAIN_TYPES = {
  EIP712Domain: [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'uint256' },
  ],
} as const satisfies Record<string, readonly TypedField[]>

let domainHasher: ((value: unknown, path: string) => Uint8Array) | undefined

/** hashStruct(EIP712Domain(string name,string version,uint256 chainId)) — the fields viem
 * includes when a domain has exactly name, version and chainId. */
export function domainSeparator(domain: Eip712Domain): Uint8Array {
  domainHasher ??= compileTypes(DOMAIN_TYPES).structHasher('EIP712Domain')
  return domainHasher(domain, 'domain')
}

/** The canonical `encodeType` string, e.g. `Mail(Person from,Person to,string contents)Person(string name,address wallet)`. */
export function encodeType(types: Record<string, readonly TypedField[]>, primaryType: string): string {
  return compileTypes(types).encodeType(primaryType)
}

function invalid(message: string, details: Record<string, unknown>, hint?: string): SinewError {
  return new SinewError({ code: 'invalid_typed_data', message, details, ...(hint ? { hint } : {}) })
}

function baseType(type: string): string {
  const i = type.indexOf('[')
  return i === -1 ? type : type.slice(0, i)
}

function compileTypes(types: Record<string, readonly TypedField[]>) {
  const structs = new Map<string, readonly TypedField[]>()
  for (const [name, fields] of Object.entries(types)) {
    if (!IDENTIFIER.test(name)) throw invalid(`Bad struct type name: ${name}`, { type: name })
    structs.set(name, fields)
  }

  // Validate every field type up front so a typo fails when the hasher is created, not at
  // the first message that uses it.
  for (const [name, fields] of structs) {
    const seen = new Set<string>()
    for (const f of fields) {
      if (seen.has(f.name)) throw invalid(`Duplicate field ${name}.${f.name}`, { type: name, field: f.name })
      seen.add(f.name)
      const base = baseType(f.type)
      if (!structs.has(base) && atomicEncoder(base) === undefined && base !== 'string' && base !== 'bytes') {
        throw invalid(`Unknown type ${f.type} in ${name}.${f.name}`, { type: name, field: f.name, fieldType: f.type })
      }
    }
  }

  function dependencies(primary: string, found: Set<string> = new Set()): Set<string> {
    if (found.has(primary) || !structs.has(primary)) return found
    found.add(primary)
    for (const f of structs.get(primary)!) dependencies(baseType(f.type), found)
    return found
  }

  function encodeTypeOf(primary: string): string {
    if (!structs.has(primary)) throw invalid(`Unknown primary type ${primary}`, { primaryType: primary, known: [...structs.keys()] })
    const deps = [...dependencies(primary)].filter((d) => d !== primary).sort()
    return [primary, ...deps]
      .map(
        (t) =>
          `${t}(${structs
            .get(t)!
            .map((f) => `${f.type} ${f.name}`)
            .join(',')})`,
      )
      .join('')
  }

  // Compiled per struct name, lazily, so recursive types (a struct holding an array of itself)
  // resolve through the map instead of recursing at compile time.
  const structHashers = new Map<string, (value: unknown, path: string) => Uint8Array>()

  function structHasher(name: string): (value: unknown, path: string) => Uint8Array {
    const existing = structHashers.get(name)
    if (existing) return existing
    const fields = structs.get(name)
    if (!fields) throw invalid(`Unknown primary type ${name}`, { primaryType: name, known: [...structs.keys()] })
    const typeHash = keccak(Buffer.from(encodeTypeOf(name), 'utf8'))
    const names = fields.map((f) => f.name)
    let encoders: WordEncoder[] | undefined // filled on first use (after all structs are registered)
    const size = 32 * (fields.length + 1)
    // One scratch buffer per struct type, taken while in use, so a struct that contains
    // itself (re-entry) gets a fresh one instead of overwriting ours.
    let scratch: Buffer | undefined
    const hasher = (value: unknown, path: string): Uint8Array => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw invalid(`${path} must be an object of type ${name}`, { field: path, expected: name })
      }
      encoders ??= fields.map((f) => fieldEncoder(f.type))
      const obj = value as Record<string, unknown>
      let buf: Buffer
      if (scratch !== undefined) {
        buf = scratch
        scratch = undefined
        buf.fill(0, 32)
      } else {
        buf = Buffer.alloc(size)
        buf.set(typeHash, 0)
      }
      try {
        for (let i = 0; i < names.length; i++) {
          const v = obj[names[i]]
          if (v === undefined) throw invalid(`Missing field ${path}.${names[i]}`, { field: `${path}.${names[i]}`, expected: fields[i].type })
          // Paths are built only for nested values and errors, not per scalar field.
          encoders[i](v, buf, 32 * (i + 1), path, names[i])
        }
        return keccak(buf)
      } finally {
        scratch = buf
      }
    }
    structHashers.set(name, hasher)
    return hasher
  }

  function fieldEncoder(type: string): WordEncoder {
    const array = ARRAY.exec(type)
    if (array) {
      const inner = fieldEncoder(array[1])
      const fixed = array[2] === '' ? undefined : Number(array[2])
      // Arrays hash as keccak256 of the concatenated 32-byte encodings of their elements.
      return (value, out, offset, parent, key) => {
        if (!Array.isArray(value)) throw invalid(`${at(parent, key)} must be an array of ${array[1]}`, { field: at(parent, key), expected: type })
        if (fixed !== undefined && value.length !== fixed) {
          throw invalid(`${at(parent, key)} must have exactly ${fixed} elements`, { field: at(parent, key), expected: type, got: value.length })
        }
        const buf = Buffer.alloc(32 * value.length)
        const here = at(parent, key)
        for (let i = 0; i < value.length; i++) inner(value[i], buf, 32 * i, here, i)
        out.set(keccak(buf), offset)
      }
    }
    if (structs.has(type)) {
      return (value, out, offset, parent, key) => out.set(structHasher(type)(value, at(parent, key)), offset)
    }
    if (type === 'string') {
      return (value, out, offset, parent, key) => {
        if (typeof value !== 'string') throw invalid(`${at(parent, key)} must be a string`, { field: at(parent, key), expected: type })
        out.set(keccak(Buffer.from(value, 'utf8')), offset)
      }
    }
    if (type === 'bytes') {
      return (value, out, offset, parent, key) => {
        out.set(keccak(hexBytes(value, parent, key, type)), offset)
      }
    }
    const atomic = atomicEncoder(type)
    if (!atomic) throw invalid(`Unknown type ${type}`, { fieldType: type })
    return atomic
  }

  return { structHasher, encodeType: encodeTypeOf }
}

function hexBytes(value: unknown, parent: string, key: string | number, type: string): Buffer {
  if (typeof value !== 'string' || value.length % 2 !== 0 || !(value.startsWith('0x') || value.startsWith('0X'))) {
    throw invalid(`${at(parent, key)} must be 0x hex`, { field: at(parent, key), expected: type })
  }
  const buf = Buffer.from(value.slice(2), 'hex')
  // Buffer.from stops silently at the first non-hex digit; a short result means bad input.
  if (buf.length * 2 !== value.length - 2) throw invalid(`${at(parent, key)} must be 0x hex`, { field: at(parent, key), expected: type })
  return buf
}

/** Encoder for address, bool, uintN, intN, bytesN; undefined for anything else. */
function atomicEncoder(type: string): WordEncoder | undefined {
  if (type === 'address') {
    return (value, out, offset, parent, key) => {
      // Buffer#write returns the bytes written and stops at the first non-hex digit.
      if (
        typeof value !== 'string' ||
        value.length !== 42 ||
        value[0] !== '0' ||
        (value[1] !== 'x' && value[1] !== 'X') ||
        out.write(value.slice(2), offset + 12, 20, 'hex') !== 20
      ) {
        throw invalid(`${at(parent, key)} must be an address (0x + 40 hex digits)`, { field: at(parent, key), expected: type })
      }
    }
  }
  if (type === 'bool') {
    return (value, out, offset, parent, key) => {
      if (typeof value !== 'boolean') throw invalid(`${at(parent, key)} must be a boolean`, { field: at(parent, key), expected: type })
      if (value) out[offset + 31] = 1
    }
  }
  let m = ATOMIC_UINT.exec(type)
  if (m) {
    const bits = m[1] === undefined ? 256 : Number(m[1])
    if (bits < 8 || bits > 256 || bits % 8 !== 0) return undefined
    const max = (1n << BigInt(bits)) - 1n
    return (value, out, offset, parent, key) => {
      const v = toBigInt(value, parent, key, type)
      if (v < 0n || v > max) throw invalid(`${at(parent, key)} is out of range for ${type}`, { field: at(parent, key), expected: type, value: String(v) })
      writeWord(v, out, offset)
    }
  }
  m = ATOMIC_INT.exec(type)
  if (m) {
    const bits = m[1] === undefined ? 256 : Number(m[1])
    if (bits < 8 || bits > 256 || bits % 8 !== 0) return undefined
    const max = (1n << BigInt(bits - 1)) - 1n
    const min = -(1n << BigInt(bits - 1))
    return (value, out, offset, parent, key) => {
      const v = toBigInt(value, parent, key, type)
      if (v < min || v > max) throw invalid(`${at(parent, key)} is out of range for ${type}`, { field: at(parent, key), expected: type, value: String(v) })
      // Negative ints are sign-extended to 256 bits (two's complement), as abi.encode does.
      writeWord(v < 0n ? TWO_256 + v : v, out, offset)
    }
  }
  m = ATOMIC_BYTES.exec(type)
  if (m) {
    const size = Number(m[1])
    if (size < 1 || size > 32) return undefined
    return (value, out, offset, parent, key) => {
      if (
        typeof value !== 'string' ||
        value.length !== 2 + 2 * size ||
        !(value.startsWith('0x') || value.startsWith('0X')) ||
        out.write(value.slice(2), offset, size, 'hex') !== size
      ) {
        throw invalid(`${at(parent, key)} must be 0x hex of exactly ${size} bytes`, { field: at(parent, key), expected: type })
      }
    }
  }
  return undefined
}

function toBigInt(value: unknown, parent: string, key: string | number, type: string): bigint {
  if (typeof value === 'bigint') return value
  // Tolerate safe JS integers (tests, hand-written callers); the wire parser gives bigints.
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
  throw invalid(`${at(parent, key)} must be an integer (bigint)`, { field: at(parent, key), expected: type, got: typeof value })
}

/** Big-endian unsigned 256-bit word at `offset`; the slot is already zero. */
function writeWord(v: bigint, out: Buffer, offset: number): void {
  if (v === 0n) return
  if (v <= 0xffffffffffffn) {
    // Small values (nonces, amounts in most tests, uint16 shares) skip the hex round trip.
    out.writeUIntBE(Number(v), offset + 26, 6)
    return
  }
  let hex = v.toString(16)
  if (hex.length % 2 === 1) hex = '0' + hex
  out.write(hex, offset + 32 - hex.length / 2, 'hex')
}
