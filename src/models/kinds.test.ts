/** Model tx rules for free text others read: descriptions and API key labels show as what they are. */
import { describe, expect, it } from 'vitest'
import { isSinewError } from '../core/index.ts'
import { createModelKinds } from './kinds.ts'

const kinds = Object.fromEntries(createModelKinds().map((k) => [k.type, k]))
const model = {
  name: 'm',
  description: 'a model',
  backend: 'openai-compatible:http://127.0.0.1:9/v1',
  datanets: [],
  pricePerMillion: 1n,
  contributorShareBps: 0n,
  active: true,
  nonce: 0n,
}
const refusal = (type: string, message: Record<string, unknown>) => {
  try {
    kinds[type].validate?.(message as never)
    return undefined
  } catch (e) {
    if (!isSinewError(e)) throw e
    return { code: e.code, details: e.details }
  }
}

describe('model descriptions and API key labels', () => {
  const unsafe = ['\u202e', '\u2066', '\u2028', '\u2029', '\u001b', '\u0000', '\u009b']
  it('refuse control characters, bidi overrides and isolates, and line separators, naming the field', () => {
    for (const c of unsafe) {
      for (const type of ['RegisterModel', 'UpdateModel']) {
        expect(refusal(type, { ...model, description: `fast${c}model` })).toMatchObject({ code: 'invalid_field', details: { field: 'message.description' } })
      }
      expect(refusal('GrantApiKey', { keyHash: '0x' + '11'.repeat(32), label: `ci${c}key`, spendLimit: 0n, expiresAt: 0n, nonce: 0n })).toMatchObject({
        code: 'invalid_field',
        details: { field: 'message.label' },
      })
    }
  })
  it('let ordinary text through: other scripts, and line breaks in a description', () => {
    expect(refusal('RegisterModel', { ...model, description: 'Résumés, 要約\nand\tmore' })).toBeUndefined()
    expect(refusal('GrantApiKey', { keyHash: '0x' + '11'.repeat(32), label: 'laptop – ノート', spendLimit: 0n, expiresAt: 0n, nonce: 0n })).toBeUndefined()
    expect(refusal('GrantApiKey', { keyHash: '0x' + '11'.repeat(32), label: 'two\nlines', spendLimit: 0n, expiresAt: 0n, nonce: 0n })).toMatchObject({
      code: 'invalid_field',
    })
  })
})
