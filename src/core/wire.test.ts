import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { fieldIssueError, fieldPath, hash32Schema, txEnvelopeSchema, uintStringSchema } from './wire.ts'

describe('wire schemas', () => {
  it('accept the wire forms and refuse near misses', () => {
    expect(hash32Schema.safeParse(`0x${'aB'.repeat(32)}`).success).toBe(true)
    expect(hash32Schema.safeParse(`0x${'ab'.repeat(31)}`).success).toBe(false)
    expect(
      ['0', '10', '115792089237316195423570985008687907853269984665640564039457584007913129639935'].map((v) => uintStringSchema.safeParse(v).success),
    ).toEqual([true, true, true])
    expect(['01', '-1', '1.5', '1e3', ''].map((v) => uintStringSchema.safeParse(v).success)).toEqual([false, false, false, false, false])
    expect(txEnvelopeSchema.safeParse({ type: 'Transfer', message: {}, signature: '0x' }).success).toBe(true)
    expect(txEnvelopeSchema.safeParse({ type: 'Transfer', message: {}, signature: '0x', gas: '1' }).success).toBe(false)
  })
})

describe('fieldIssueError: one zod issue as a catalogue error', () => {
  const first = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error!.issues[0]
  const shape = z.object({ a: z.object({ b: z.array(z.string()) }) }).strict()

  it('names the field by its path, arrays by index', () => {
    expect(fieldPath('txs', [3, 'message', 'to'])).toBe('txs[3].message.to')
    expect(fieldPath('', ['a', 0])).toBe('a[0]')
    const e = fieldIssueError(first(shape, { a: { b: [1] } }), 'body')
    expect([e.code, e.details.field, e.status]).toEqual(['invalid_field', 'body.a.b[0]', 400])
  })
  it('tells a missing value and an unknown key from a bad one', () => {
    const missing = fieldIssueError(first(shape, { a: {} }), 'tx')
    expect([missing.code, missing.details.field]).toEqual(['missing_field', 'tx.a.b'])
    const unknown = fieldIssueError(first(shape, { a: { b: [] }, z: 1 }), 'tx')
    expect([unknown.code, unknown.details.field]).toEqual(['unknown_field', 'tx.z'])
  })
})
