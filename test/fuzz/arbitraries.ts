/**
 * Reusable fast-check generators for fuzzing a node: hostile scalars (strings, integers,
 * addresses, hashes), EIP-712 messages derived from a kind's field list, mutations of JSON
 * values and of signed envelopes, and values generated from a JSON Schema (the node's
 * OpenAPI document, MCP tools' input schemas).
 *
 * Values that can only be known when a case runs (the id of a Datanet made earlier, the
 * next nonce, the block time) are generated as `Ref`s and resolved against the live node
 * then (`resolveRefs`), so a case keeps its meaning while the node's state moves on.
 */
import fc from 'fast-check'
import { ALL_MEDIA_TYPES } from '../../src/datanets/index.ts'

// ---- references resolved when a case runs --------------------------------------------------

/** The pools a case can refer to; each is filled from what earlier cases made on the node. */
export type PoolName =
  | 'account'
  | 'datanet'
  | 'datanetName'
  | 'contribution'
  | 'task'
  | 'keyHash'
  | 'model'
  | 'versionRef'
  | 'blob'
  | 'txHash'
  | 'receipt'
  | 'version'

/** "The pick-th entry of a pool" (modulo its size), or, for `now`, the block time plus `offset` ms. */
export class Ref {
  constructor(
    readonly pool: PoolName | 'now',
    readonly pick: number,
    readonly offset = 0n,
  ) {}
  toString(): string {
    return this.pool === 'now' ? `Ref(now${this.offset >= 0n ? '+' : ''}${this.offset})` : `Ref(${this.pool}#${this.pick})`
  }
  toJSON(): string {
    return this.toString()
  }
}

export type Pools = Record<PoolName, string[]>

export const emptyPools = (): Pools => ({
  account: [],
  datanet: [],
  datanetName: [],
  contribution: [],
  task: [],
  keyHash: [],
  model: [],
  versionRef: [],
  blob: [],
  txHash: [],
  receipt: [],
  version: [],
})

const ZERO32 = `0x${'0'.repeat(64)}`

/** Replaces every Ref in `value` by what it names now (an empty pool gives a zero hash). */
export function resolveRefs(value: unknown, pools: Pools, nowMs: bigint): unknown {
  if (value instanceof Ref) {
    if (value.pool === 'now') {
      const t = nowMs + value.offset
      return (t < 0n ? 0n : t).toString()
    }
    const pool = pools[value.pool]
    return pool.length > 0 ? pool[value.pick % pool.length] : value.pool === 'version' ? '1' : ZERO32
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, pools, nowMs))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = resolveRefs(v, pools, nowMs)
    return out
  }
  return value
}

export const ref = (pool: PoolName): fc.Arbitrary<Ref> => fc.nat({ max: 1 << 20 }).map((pick) => new Ref(pool, pick))

// ---- hostile scalars --------------------------------------------------------------------------

/** Strings people and parsers trip on: direction overrides, zero-width, NUL, traversal, markup. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u202e\u0644\u0627evil\u202c', // right-to-left override around Arabic
  '\u200f\u200e\u2066\u2067\u2068\u2069', // bidi marks and isolates
  '\u200b\u200c\u200d\ufeff', // zero-width
  'e\u0301\u0301\u0301\u0301\u0301\u0301\u0301\u0301', // stacked combining marks
  '\ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66', // ZWJ family emoji
  '\u{10ffff}\u{e0001}\u{fff0}',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%2e%2e%2f%2e%2e%2f',
  '%00',
  '%',
  '%E0%A4%A',
  '<script>alert(1)</script>',
  "'; DROP TABLE txs; --",
  '${7*7}{{7*7}}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'null',
  'undefined',
  'NaN',
  '-0',
  '\r\n\r\nHTTP/1.1 200 OK',
  'a\u0000b',
  'ＡＢＣ', // fullwidth
  'İıſK', // case-folding oddities
  'x'.repeat(201),
  'y'.repeat(4097),
]

/** Lone surrogates: valid JSON (as \\u escapes), not valid Unicode. */
export const LONE_SURROGATES = ['\ud800', 'a\udc00b', '\udfff\ud800']

/** A string a stranger might send: ASCII, any Unicode, nasty constants, sometimes long. */
export function hostileString(maxLength = 80): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 1, arbitrary: fc.constantFrom(...LONE_SURROGATES) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('a', '\u00e9', '\u{1f600}', '\u202e'), fc.integer({ min: 1000, max: 70_000 })).map(([c, n]) => c.repeat(n)),
    },
  )
}

/** A string an honest client would send: a name, a title, some Unicode prose. */
export function plausibleString(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,30}$/) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 60 }) },
  )
}

/** A string within `maxBytes` UTF-8 bytes at the boundary: exactly the limit, one over. */
export function boundaryString(maxBytes: number): fc.Arbitrary<string> {
  return fc.constantFrom(
    'a'.repeat(maxBytes),
    'a'.repeat(maxBytes + 1),
    '\u00e9'.repeat(Math.floor(maxBytes / 2)) + 'a'.repeat(maxBytes % 2),
    '\u00e9'.repeat(Math.floor(maxBytes / 2) + 1),
    '\u{1f600}'.repeat(Math.floor(maxBytes / 4)),
  )
}

/** An unsigned integer of `bits` bits as a decimal string: boundaries, small values, anything in range. */
export function uintString(bits: number): fc.Arbitrary<string> {
  const max = (1n << BigInt(bits)) - 1n
  return fc.oneof(
    { weight: 3, arbitrary: fc.bigInt({ min: 0n, max: max < 1000n ? max : 1000n }).map(String) },
    { weight: 2, arbitrary: fc.constantFrom(0n, 1n, max, max - 1n, max / 2n, 10n ** 18n).map(String) },
    { weight: 2, arbitrary: fc.bigInt({ min: 0n, max }).map(String) },
  )
}

/** What is not a `uint<bits>` on the wire: out of range, signed, non-decimal forms, other JSON types. */
export function badUint(bits: number): fc.Arbitrary<unknown> {
  const max = (1n << BigInt(bits)) - 1n
  return fc.oneof(
    fc.constantFrom(
      (max + 1n).toString(),
      (1n << 256n).toString(),
      '-1',
      '-0',
      '',
      ' 1',
      '1 ',
      '01',
      '+1',
      '1e3',
      '0x10',
      '1.0',
      '1_000',
      'NaN',
      'Infinity',
      '٣',
    ),
    fc.constantFrom(1, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER + 2, null, true, [], {}, ['1']),
    fc.integer({ min: 400, max: 5000 }).map((n) => '9'.repeat(n)),
  )
}

const hex = (bytes: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => `0x${Buffer.from(b).toString('hex')}`)

/** A well-formed address: random, zero, all ones, upper-case hex (not a checksum). */
export function anyAddress(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: hex(20) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(`0x${'0'.repeat(40)}`, `0x${'f'.repeat(40)}`, `0x${'F'.repeat(40)}`, '0x000000000000000000000000000000000000dEaD'),
    },
    { weight: 1, arbitrary: hex(20).map((a) => `0x${a.slice(2).toUpperCase()}`) },
  )
}

export function badAddress(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom('', '0x', '0x123', `0x${'g'.repeat(40)}`, `${'a'.repeat(40)}`, `0x${'a'.repeat(41)}`, `0X${'a'.repeat(40)}`, 'vitalik.eth'),
    // A mixed-case address that is not its EIP-55 checksum.
    fc.constant('0xF39fD6e51aad88F6F4ce6aB8827279cffFb92266'),
    hostileString(50),
    fc.constantFrom(0, null, true, {}),
  )
}

export function anyBytes32(): fc.Arbitrary<string> {
  return fc.oneof({ weight: 3, arbitrary: hex(32) }, { weight: 1, arbitrary: fc.constantFrom(ZERO32, `0x${'f'.repeat(64)}`, `0x${'A'.repeat(64)}`) })
}

export function badHex(bytes: number): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom('', '0x', `0x${'0'.repeat(bytes * 2 - 1)}`, `0x${'0'.repeat(bytes * 2 + 2)}`, `${'0'.repeat(bytes * 2)}`, `0x${'z'.repeat(bytes * 2)}`),
    hostileString(40),
    fc.constantFrom(0, null, false, []),
  )
}

// ---- EIP-712 messages ---------------------------------------------------------------------------

export type TypedField = { name: string; type: string }
export type KindTypes = Record<string, TypedField[]>

/**
 * Hints by field name: which pool a field usually names, so generated txs reach the
 * handlers' deeper paths (a Review of a contribution that exists) and not only the
 * "not found" refusals. The hint is one option among hostile values of the field's type.
 */
const FIELD_POOLS: Record<string, PoolName> = {
  datanet: 'datanet',
  contribution: 'contribution',
  task: 'task',
  keyHash: 'keyHash',
  apiKeyHash: 'keyHash',
  contentHash: 'blob',
  specHash: 'blob',
  resultHash: 'blob',
  to: 'account',
  curator: 'account',
  author: 'account',
  verifiers: 'account',
  id: 'txHash',
}

const TIME_FIELDS = new Set(['deadline', 'expiresAt'])
const MODEL_NAME_KINDS = new Set(['UpdateModel', 'RegisterModel', 'RecordReceipt'])

/** The media types a Datanet may accept, as a message names them. */
export const MEDIA_TYPE_NAMES: readonly string[] = ALL_MEDIA_TYPES

/** Backends a RegisterModel may name, from the built-in to URLs an attacker would like fetched. */
export const HOSTILE_BACKENDS = [
  'builtin:infinigram',
  'builtin:nothing',
  'http://127.0.0.1:1/v1',
  'http://169.254.169.254/latest/meta-data/',
  'http://[::1]:22/',
  'file:///etc/passwd',
  'gopher://127.0.0.1:6379/_FLUSHALL',
  'https://user:pass@example.com/v1',
  'javascript:alert(1)',
  'http://localhost:8545/v1/../../',
  '',
]

/** Amounts a tx is likely to afford (so execution runs past the balance check), or not. */
const amount = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: 10n ** 18n }).map(String) },
    { weight: 1, arbitrary: fc.constantFrom('0', '1', (10n ** 24n).toString(), (2n ** 255n).toString(), (2n ** 256n - 1n).toString()) },
  )

/**
 * How hostile a generated message is. `honest`: what a correct client sends (plausible
 * strings, small numbers, refs to things that exist), so txs get past validation and the
 * handlers' state rules are what is fuzzed. `hostile`: boundaries, odd Unicode, random
 * hashes and addresses, long arrays — still of the right EIP-712 type.
 */
export type Mode = 'honest' | 'hostile'

/** `a` with weight `wa`, `b` with weight `wb` (a shorthand for the many two-way mixes below). */
export const mix = <A, B>(wa: number, a: fc.Arbitrary<A>, wb: number, b: fc.Arbitrary<B>): fc.Arbitrary<A | B> =>
  fc.oneof({ weight: wa, arbitrary: a as fc.Arbitrary<A | B> }, { weight: wb, arbitrary: b as fc.Arbitrary<A | B> })

/** A valid-shaped value of an EIP-712 type. */
export function typedValue(type: string, types: KindTypes, field: string, kind: string, mode: Mode = 'hostile'): fc.Arbitrary<unknown> {
  const honest = mode === 'honest'
  const array = /^(.*)\[(\d*)\]$/.exec(type)
  if (array) {
    const item = typedValue(array[1], types, field, kind, mode)
    if (array[2] !== '') return fc.array(item, { minLength: Number(array[2]), maxLength: Number(array[2]) })
    if (honest) return fc.array(item, { maxLength: 3 })
    return mix(12, fc.array(item, { maxLength: 5 }), 1, fc.array(item, { minLength: 50, maxLength: 300 }))
  }
  const pool = FIELD_POOLS[field]
  const withPool = (base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => (pool ? mix(honest ? 9 : 3, ref(pool), 1, base) : base)
  if (types[type]) {
    const fields = types[type]
    return fc.record(Object.fromEntries(fields.map((f) => [f.name, typedValue(f.type, types, f.name, kind, mode)])))
  }
  if (type === 'address') return withPool(anyAddress())
  if (type === 'bool') return fc.boolean()
  if (type === 'bytes') return fc.uint8Array({ maxLength: 64 }).map((b) => `0x${Buffer.from(b).toString('hex')}`)
  const bytesN = /^bytes(\d+)$/.exec(type)
  if (bytesN) return withPool(Number(bytesN[1]) === 32 ? anyBytes32() : hex(Number(bytesN[1])))
  const uint = /^uint(\d+)$/.exec(type)
  if (uint) {
    const bits = Number(uint[1])
    const later = fc.bigInt({ min: honest ? 60_000n : -60_000n, max: 3_600_000n }).map((o) => new Ref('now', 0, o))
    if (TIME_FIELDS.has(field)) return honest ? mix(4, later, 1, fc.constant('0')) : mix(4, later, 1, uintString(bits))
    if (field === 'version' || field === 'modelVersion') return honest ? fc.constantFrom('1', '2') : mix(1, fc.constantFrom('0', '1', '2'), 1, uintString(bits))
    if (honest) {
      if (field === 'threshold') return fc.constantFrom('0', '1')
      if (field.endsWith('Bps')) return fc.integer({ min: 0, max: 10_000 }).map(String)
      if (field === 'leaseMs') return fc.integer({ min: 1, max: 3_600_000 }).map(String)
      if (field === 'maxSize' || field === 'size') return fc.integer({ min: 1, max: 1 << 20 }).map(String)
      return fc.bigInt({ min: 0n, max: bits === 256 ? 10n ** 18n : 1000n }).map(String)
    }
    return bits === 256 ? amount() : uintString(bits)
  }
  if (type === 'string') {
    const named = (a: fc.Arbitrary<unknown>) => (honest ? a : mix(3, a, 1, hostileString(60)))
    if (field === 'mediaType' || field === 'mediaTypes') return named(fc.constantFrom(...MEDIA_TYPE_NAMES))
    if (field === 'backend') return honest ? fc.constant('builtin:infinigram') : named(fc.constantFrom(...HOSTILE_BACKENDS))
    if (field === 'datanets') return named(ref('versionRef'))
    if (field === 'contribution') return named(ref('contribution'))
    if (field === 'datanet') return named(ref('datanet'))
    if (field === 'model' || (field === 'name' && MODEL_NAME_KINDS.has(kind))) return named(mix(1, ref('model'), 1, plausibleString()))
    if (field === 'name' && (kind === 'CreateDatanet' || kind === 'UpdateDatanet')) return named(mix(1, ref('datanetName'), 4, plausibleString()))
    if (field === 'endpoint')
      return honest ? fc.constantFrom('', 'https://agent.example.org/a2a') : named(fc.constantFrom('', 'https://agent.example.org/a2a', 'ws://[::1]:1/'))
    if (honest) return plausibleString()
    return fc.oneof({ weight: 6, arbitrary: plausibleString() }, { weight: 6, arbitrary: hostileString() }, { weight: 1, arbitrary: boundaryString(64 * 1024) })
  }
  return fc.jsonValue({ maxDepth: 2 })
}

/** What is not a value of the EIP-712 type on the wire. */
export function badTypedValue(type: string): fc.Arbitrary<unknown> {
  if (/\[\d*\]$/.test(type)) return fc.oneof(fc.constantFrom('[]', null, 1, {}, 'a,b'), fc.array(fc.jsonValue({ maxDepth: 2 }), { minLength: 1, maxLength: 4 }))
  if (type === 'address') return badAddress()
  if (type === 'bool') return fc.constantFrom('true', 'false', 1, 0, null, 'yes', [])
  const bytesN = /^bytes(\d+)$/.exec(type)
  if (bytesN) return badHex(Number(bytesN[1]))
  const uint = /^uint(\d+)$/.exec(type)
  if (uint) return badUint(Number(uint[1]))
  if (type === 'string') return fc.oneof(fc.constantFrom(1, null, true, [], {}, ['a']), fc.constantFrom(...LONE_SURROGATES), boundaryString(64 * 1024 + 1))
  return fc.jsonValue({ maxDepth: 3 })
}

/**
 * A message of one kind (without `nonce`): every field a valid-shaped value of `mode`, or
 * (hostile only, when `malformed`) one to three fields replaced by ill-typed values,
 * missing or joined by extra ones.
 */
export function messageOf(kind: string, types: KindTypes, mode: Mode = 'hostile'): fc.Arbitrary<{ message: Record<string, unknown>; malformed: boolean }> {
  const fields = types[kind].filter((f) => f.name !== 'nonce')
  const valid = fc.record(Object.fromEntries(fields.map((f) => [f.name, typedValue(f.type, types, f.name, kind, mode)])))
  if (mode === 'honest') return valid.map((message) => ({ message, malformed: false }))
  const broken = fc
    .tuple(
      valid,
      fc.array(
        fc.oneof(
          fc
            .record({ op: fc.constant('retype' as const), field: fc.constantFrom(...fields) })
            .chain(({ op, field }) => badTypedValue(field.type).map((value) => ({ op, name: field.name, value }))),
          fc.record({ op: fc.constant('drop' as const), name: fc.constantFrom(...fields.map((f) => f.name)), value: fc.constant(undefined) }),
          fc.record({
            op: fc.constant('extra' as const),
            name: fc.oneof(hostileString(20), fc.constantFrom('nonce2', 'from', 'sender', 'constructor')),
            value: fc.jsonValue({ maxDepth: 2 }),
          }),
        ),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([message, edits]) => {
      const out: Record<string, unknown> = { ...message }
      for (const e of edits) {
        if (e.op === 'drop') delete out[e.name]
        else out[e.name] = e.value
      }
      return out
    })
  return fc.oneof(
    { weight: 8, arbitrary: valid.map((message) => ({ message, malformed: false })) },
    { weight: 1, arbitrary: broken.map((message) => ({ message, malformed: true })) },
  )
}

/** Which nonce a tx carries, relative to its sender's next nonce when the case runs. */
export type NonceChoice = { at: 'next' } | { at: 'used' } | { at: 'ahead'; by: number } | { at: 'raw'; value: unknown }

export const nonceChoice = (): fc.Arbitrary<NonceChoice> =>
  fc.oneof(
    { weight: 16, arbitrary: fc.constant({ at: 'next' as const }) },
    { weight: 1, arbitrary: fc.constant({ at: 'used' as const }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }).map((by) => ({ at: 'ahead' as const, by })) },
    {
      weight: 1,
      arbitrary: fc.oneof(fc.constantFrom((2n ** 64n - 1n).toString(), (2n ** 64n).toString()), badUint(64)).map((value) => ({ at: 'raw' as const, value })),
    },
  )

// ---- envelope and JSON mutations ------------------------------------------------------------------

/** What can be done to a signed envelope `{type, message, signature}` after signing. */
export type EnvelopeMutation =
  | { op: 'signature'; to: unknown }
  | { op: 'flipSignatureByte'; at: number; mask: number }
  | { op: 'highS' }
  | { op: 'v'; v: number }
  | { op: 'type'; to: unknown }
  | { op: 'message'; to: unknown }
  | { op: 'field'; name: string; to: unknown }
  | { op: 'drop'; key: 'type' | 'message' | 'signature' }
  | { op: 'extra'; key: string; value: unknown }
  | { op: 'from'; to: unknown }
  | { op: 'chainId'; to: unknown }
  | { op: 'notObject'; to: unknown }

export function envelopeMutation(kinds: string[], fieldNames: string[]): fc.Arbitrary<EnvelopeMutation> {
  return fc.oneof(
    fc.record({ op: fc.constant('signature' as const), to: fc.oneof(badHex(65), hex(64), hex(66), hex(130)) }),
    fc.record({ op: fc.constant('flipSignatureByte' as const), at: fc.nat({ max: 64 }), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.constant({ op: 'highS' as const }),
    fc.record({ op: fc.constant('v' as const), v: fc.constantFrom(0, 1, 2, 26, 27, 28, 29, 35, 36, 255) }),
    fc.record({ op: fc.constant('type' as const), to: fc.oneof(fc.constantFrom(...kinds), hostileString(30), fc.constantFrom(null, 1, [], {})) }),
    fc.record({ op: fc.constant('message' as const), to: fc.oneof(fc.constantFrom(null, [], 'message', 1, true), fc.jsonValue({ maxDepth: 3 })) }),
    fc.record({ op: fc.constant('field' as const), name: fc.constantFrom(...fieldNames, 'nonce'), to: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record({ op: fc.constant('drop' as const), key: fc.constantFrom('type' as const, 'message' as const, 'signature' as const) }),
    fc.record({
      op: fc.constant('extra' as const),
      key: fc.oneof(fc.constantFrom('hash', 'sender', 'nonce', 'proto', 'toJSON'), hostileString(20)),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
    fc.record({ op: fc.constant('from' as const), to: fc.oneof(anyAddress(), badAddress()) }),
    fc.record({
      op: fc.constant('chainId' as const),
      to: fc.oneof(fc.constantFrom('31415', '1', '0', '-1', '31415.0', ''), fc.constantFrom(31415, null, true, [])),
    }),
    fc.record({ op: fc.constant('notObject' as const), to: fc.constantFrom(null, [], 'tx', 0, true) }),
  )
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** Applies a mutation to a signed envelope (a copy). */
export function mutateEnvelope(envelope: { type: string; message: Record<string, unknown>; signature: string }, m: EnvelopeMutation): unknown {
  const e: Record<string, unknown> = { ...envelope, message: { ...envelope.message } }
  const sig = envelope.signature.slice(2)
  switch (m.op) {
    case 'signature':
      e.signature = m.to
      return e
    case 'flipSignatureByte': {
      const b = Buffer.from(sig, 'hex')
      b[m.at % b.length] ^= m.mask
      e.signature = `0x${b.toString('hex')}`
      return e
    }
    case 'highS': {
      // The same signature with s' = n - s and v flipped: valid for secp256k1, refused by EIP-2.
      const s = BigInt(`0x${sig.slice(64, 128)}`)
      const v = Number.parseInt(sig.slice(128, 130), 16)
      e.signature = `0x${sig.slice(0, 64)}${(SECP256K1_N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`
      return e
    }
    case 'v':
      e.signature = `0x${sig.slice(0, 128)}${m.v.toString(16).padStart(2, '0')}`
      return e
    case 'type':
      e.type = m.to
      return e
    case 'message':
      e.message = m.to
      return e
    case 'field':
      ;(e.message as Record<string, unknown>)[m.name] = m.to
      return e
    case 'drop':
      delete e[m.key]
      return e
    case 'extra':
      e[m.key] = m.value
      return e
    case 'from':
      e.from = m.to
      return e
    case 'chainId':
      e.chainId = m.to
      return e
    case 'notObject':
      return m.to
  }
}

/** A JSON value nested `depth` levels deep, as text (so no serializer stands in the way). */
export const deepJsonText = (depth: number, open = '{"a":', close = '}'): string => open.repeat(depth) + '1' + close.repeat(depth)

/** A request body that is not what a route reads: wrong JSON, deep nesting, prototype keys, junk bytes. */
export type RawBody = { raw: string; contentType: string }

export function rawBody(): fc.Arbitrary<RawBody> {
  const json = 'application/json'
  return fc.oneof(
    fc.constantFrom(
      { raw: '', contentType: json },
      { raw: '{', contentType: json },
      { raw: 'null', contentType: json },
      { raw: '[]', contentType: json },
      { raw: '"x"', contentType: json },
      { raw: '1e400', contentType: json },
      { raw: '{"__proto__":{"polluted":1}}', contentType: json },
      { raw: '{"constructor":{"prototype":{"polluted":1}}}', contentType: json },
      { raw: '{"a":1,"a":2}', contentType: json },
      { raw: '\ufeff{}', contentType: json },
      { raw: '{"x":"\\ud800"}', contentType: json },
      { raw: '{}', contentType: 'text/plain' },
      { raw: '<x/>', contentType: 'application/xml' },
      { raw: 'a=1&b=2', contentType: 'application/x-www-form-urlencoded' },
      { raw: '{}', contentType: 'application/json; charset=utf-16' },
      { raw: '{}', contentType: 'application/json;;;' },
    ),
    fc.integer({ min: 10, max: 2000 }).map((d) => ({ raw: deepJsonText(d), contentType: json })),
    fc.integer({ min: 10, max: 2000 }).map((d) => ({ raw: deepJsonText(d, '[', ']'), contentType: json })),
    fc.string({ unit: 'binary', maxLength: 200 }).map((raw) => ({ raw, contentType: json })),
    fc.jsonValue({ maxDepth: 4 }).map((v) => ({ raw: JSON.stringify(v) ?? 'null', contentType: json })),
  )
}

/** Mutations of a JSON value: a node replaced by another type, a key added or removed, nesting, a huge string. */
export function mutateJson(base: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      base,
      fc.array(
        fc.record({
          path: fc.array(fc.nat({ max: 20 }), { maxLength: 4 }),
          op: fc.constantFrom('replace', 'drop', 'extra', 'nest', 'huge'),
          value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileString(30)),
          key: fc.oneof(hostileString(12), fc.constantFrom('toString', 'length', 'then', '0')),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([value, edits]) => {
      let out = structuredClone(value)
      for (const e of edits) {
        const next = editAt(out, e.path, (v) => applyEdit(v, e))
        out = next === DROP ? e.value : next
      }
      return out
    })
}

/** Returned by an edit to remove the node it was applied to from its parent. */
const DROP = Symbol('drop')

function applyEdit(v: unknown, e: { op: string; value: unknown; key: string }): unknown {
  switch (e.op) {
    case 'replace':
      return e.value
    case 'drop':
      return DROP
    case 'extra':
      if (Array.isArray(v)) return [...v, e.value]
      if (v !== null && typeof v === 'object') return { ...v, [e.key]: e.value }
      return { [e.key]: v }
    case 'nest': {
      let x: unknown = v
      for (let i = 0; i < 40; i++) x = [x]
      return x
    }
    default:
      return 'Z'.repeat(100_000)
  }
}

/** The value with `f` applied at the node `path` leads to (each index taken modulo its level's size). */
function editAt(v: unknown, path: number[], f: (v: unknown) => unknown): unknown {
  if (path.length === 0 || v === null || typeof v !== 'object') return f(v)
  const container = v as Record<string | number, unknown>
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v)
  if (keys.length === 0) return f(v)
  const k = keys[path[0] % keys.length]
  const next = editAt(container[k], path.slice(1), f)
  if (next !== DROP) container[k] = next
  else if (Array.isArray(v)) v.splice(Number(k), 1)
  else delete container[k]
  return v
}

// ---- JSON Schema ------------------------------------------------------------------------------------

export type JsonSchema = {
  $ref?: string
  type?: string | string[]
  enum?: unknown[]
  const?: unknown
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  default?: unknown
  format?: string
  [k: string]: unknown
}

/**
 * Values that fit a JSON Schema (as zod and fastify emit them: OpenAPI 3 components, MCP
 * input schemas), with hostile content where the schema leaves room: strings of any
 * Unicode up to their maxLength, integers at their bounds. `root` resolves `$ref`s.
 */
export function fromSchema(schema: JsonSchema | undefined, root: Record<string, unknown> = {}, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return fc.jsonValue({ maxDepth: 2 })
  if (schema.$ref) {
    const target = schema.$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], root) as JsonSchema | undefined
    return fromSchema(target, root, depth + 1)
  }
  if (schema.const !== undefined) return fc.constant(schema.const)
  if (schema.enum) return fc.constantFrom(...schema.enum)
  const alts = schema.anyOf ?? schema.oneOf
  if (alts && alts.length > 0) return fc.oneof(...alts.map((s) => fromSchema(s, root, depth + 1)))
  if (schema.allOf && schema.allOf.length > 0) return fromSchema(Object.assign({}, ...schema.allOf), root, depth + 1)
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : undefined
  if (!types) return schema.properties ? objectFromSchema(schema, root, depth) : fc.jsonValue({ maxDepth: 2 })
  return fc.oneof(...types.map((t) => scalarFromSchema(t, schema, root, depth)))
}

function scalarFromSchema(type: string, schema: JsonSchema, root: Record<string, unknown>, depth: number): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return stringFromSchema(schema)
    case 'integer':
    case 'number': {
      const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1e9)
      const hi = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 1e9)
      const ints = fc.oneof(fc.integer({ min: Math.max(lo, -2147483648), max: Math.min(hi, 2147483647) }), fc.constantFrom(lo, hi))
      return type === 'integer' ? ints : fc.oneof(ints, fc.double({ min: lo, max: hi, noNaN: true }))
    }
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array':
      return fc.array(fromSchema(schema.items, root, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) })
    case 'object':
      return objectFromSchema(schema, root, depth)
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

function stringFromSchema(schema: JsonSchema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0
  const maxLength = Math.min(schema.maxLength ?? 120, 4096)
  if (schema.pattern) {
    try {
      const re = new RegExp(schema.pattern)
      return fc.stringMatching(re).filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? Number.MAX_SAFE_INTEGER))
    } catch {
      // a pattern fast-check cannot read: plain strings below
    }
  }
  return fc.oneof(
    fc.string({ minLength, maxLength }),
    fc.string({ unit: 'grapheme', minLength, maxLength }),
    fc.constantFrom(...NASTY_STRINGS).filter((s) => s.length >= minLength && s.length <= maxLength),
  )
}

function objectFromSchema(schema: JsonSchema, root: Record<string, unknown>, depth: number): fc.Arbitrary<unknown> {
  const props = schema.properties ?? {}
  const required = new Set(schema.required ?? [])
  const keys = Object.keys(props)
  const record = fc.record(Object.fromEntries(keys.map((k) => [k, fromSchema(props[k], root, depth + 1)])), {
    requiredKeys: keys.filter((k) => required.has(k)),
  })
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    const extra = fc.dictionary(hostileString(16), fromSchema(schema.additionalProperties, root, depth + 1), { maxKeys: 3 })
    return fc.tuple(record, extra).map(([a, b]) => ({ ...b, ...(a as object) }))
  }
  return record
}

/** A schema-shaped value, or a mutation of one, or any JSON: for fuzzing what a schema guards. */
export function schemaOrMutation(schema: JsonSchema | undefined, root: Record<string, unknown> = {}): fc.Arbitrary<unknown> {
  const base = fromSchema(schema, root)
  return fc.oneof({ weight: 4, arbitrary: base }, { weight: 3, arbitrary: mutateJson(base) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) })
}
