import { describe, expect, expectTypeOf, it } from 'vitest'
import type { Hex } from '../core/index.ts'
import type { TxMessage } from './kinds.ts'
import { messageToWire, parseMessage, type MessageOf } from './message.ts'
import type { transferKind, TransferMessage } from './transfer.ts'

const fields = [
  { name: 'to', type: 'address' },
  { name: 'amount', type: 'uint256' },
  { name: 'title', type: 'string' },
  { name: 'hash', type: 'bytes32' },
  { name: 'ok', type: 'bool' },
  { name: 'tags', type: 'string[]' },
  { name: 'part', type: 'Part' },
]
const types = { Part: [{ name: 'bps', type: 'uint16' }] }
const good = {
  to: '0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266',
  amount: '1000',
  title: 'a title ✓',
  hash: '0x' + 'AB'.repeat(32),
  ok: true,
  tags: ['x', 'y'],
  part: { bps: '10000' },
}

function errorOf(f: () => unknown): { code: string; field: unknown } {
  try {
    f()
  } catch (e) {
    const err = e as { code: string; details: { field?: unknown } }
    return { code: err.code, field: err.details.field }
  }
  throw new Error('expected an error')
}

describe('parseMessage', () => {
  it('parses every supported type and normalises hex to lowercase', () => {
    const m = parseMessage(good, fields, types)
    expect(m).toEqual({ ...good, to: good.to.toLowerCase(), amount: 1000n, hash: good.hash.toLowerCase(), part: { bps: 10000n } })
    expect(messageToWire(m)).toEqual({ ...good, to: good.to.toLowerCase(), hash: good.hash.toLowerCase() })
  })
  it.each([
    ['missing field', { ...good, amount: undefined }, 'missing_field', 'message.amount'],
    ['extra field', { ...good, memo: 'x' }, 'unknown_field', 'message.memo'],
    ['number for uint', { ...good, amount: 1000 }, 'invalid_field', 'message.amount'],
    ['leading zero', { ...good, amount: '01' }, 'invalid_field', 'message.amount'],
    ['exponent', { ...good, amount: '1e3' }, 'invalid_field', 'message.amount'],
    ['uint16 overflow in a struct', { ...good, part: { bps: '65536' } }, 'invalid_field', 'message.part.bps'],
    ['short bytes32', { ...good, hash: '0xabcd' }, 'invalid_field', 'message.hash'],
    ['string bool', { ...good, ok: 'true' }, 'invalid_field', 'message.ok'],
    ['non-array', { ...good, tags: 'x' }, 'invalid_field', 'message.tags'],
    ['bad array item', { ...good, tags: ['x', 3] }, 'invalid_field', 'message.tags[1]'],
    ['lone surrogate', { ...good, title: 'a\uD800b' }, 'invalid_field', 'message.title'],
    ['bad address', { ...good, to: '0x12' }, 'invalid_address', 'message.to'],
  ])('%s', (_name, input, code, field) => {
    expect(errorOf(() => parseMessage(input, fields, types))).toEqual({ code, field })
  })
  it('refuses non-objects and over-long strings', () => {
    expect(errorOf(() => parseMessage([], fields, types)).code).toBe('invalid_field')
    expect(errorOf(() => parseMessage({ ...good, title: 'x'.repeat(11) }, fields, types, 'message', { maxStringBytes: 10 })).field).toBe('message.title')
  })
})

describe('MessageOf: the TypeScript message type read off the EIP-712 fields', () => {
  it('maps every EIP-712 type to what parseMessage returns', () => {
    const declared = [
      { name: 'to', type: 'address' },
      { name: 'amount', type: 'uint256' },
      { name: 'bps', type: 'uint16' },
      { name: 'title', type: 'string' },
      { name: 'hash', type: 'bytes32' },
      { name: 'blob', type: 'bytes' },
      { name: 'ok', type: 'bool' },
      { name: 'tags', type: 'string[]' },
      { name: 'pair', type: 'uint8[2]' },
      { name: 'parts', type: 'Part[]' },
    ] as const
    const structs = { Part: [{ name: 'bps', type: 'uint16' }] } as const
    type M = MessageOf<typeof declared, typeof structs>
    expectTypeOf<M>().toEqualTypeOf<{
      to: Hex
      amount: bigint
      bps: bigint
      title: string
      hash: Hex
      blob: Hex
      ok: boolean
      tags: string[]
      pair: bigint[]
      parts: { bps: bigint }[]
      nonce: bigint
    }>()
    // And the value parsed at run time is of that type, field by field.
    const parsed = parseMessage(
      {
        to: good.to,
        amount: '1',
        bps: '2',
        title: 't',
        hash: good.hash,
        blob: '0xab',
        ok: false,
        tags: [],
        pair: ['1', '2'],
        parts: [{ bps: '3' }],
        nonce: '0',
      },
      [...declared, { name: 'nonce', type: 'uint64' }],
      structs,
    ) as M
    expect([typeof parsed.amount, typeof parsed.bps, typeof parsed.pair[0], typeof parsed.parts[0].bps, typeof parsed.nonce]).toEqual([
      'bigint',
      'bigint',
      'bigint',
      'bigint',
      'bigint',
    ])
  })

  it('gives each kind its message type from defineTxKind, with no type written by hand', () => {
    expectTypeOf<TransferMessage>().toEqualTypeOf<{ to: Hex; amount: bigint; nonce: bigint }>()
    expectTypeOf<TxMessage<typeof transferKind>>().toEqualTypeOf<TransferMessage>()
  })
})
