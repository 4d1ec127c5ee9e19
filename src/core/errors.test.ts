import { describe, expect, it } from 'vitest'
import { errorCatalogue, type ErrorCode } from './error-codes.ts'
import { errorFromResponse, isSinewError, RemoteError, SinewError } from './errors.ts'

describe('SinewError', () => {
  it('takes its status from the catalogue, and keeps message, details, hint and cause apart', () => {
    const cause = new Error('disk')
    const e = new SinewError({ code: 'datanet_not_found', message: 'No Datanet x', details: { datanet: 'x' }, hint: 'List them.', cause })
    expect([e.code, e.status, e.shortMessage, e.details, e.hint, e.cause]).toEqual([
      'datanet_not_found',
      404,
      'No Datanet x',
      { datanet: 'x' },
      'List them.',
      cause,
    ])
    expect(e.status).toBe(errorCatalogue.datanet_not_found.status)
    expect(e.message).toBe('No Datanet x\n\nDetails: {"datanet":"x"}\nHint: List them.')
    expect(isSinewError(e)).toBe(true)
  })

  it('serialises to the wire form with the hint as details.hint', () => {
    const e = new SinewError({ code: 'invalid_field', message: 'bad', details: { field: 'a' }, hint: 'Fix a.' })
    expect(JSON.parse(JSON.stringify(e))).toEqual({ error: { code: 'invalid_field', message: 'bad', details: { field: 'a', hint: 'Fix a.' } } })
    expect(new SinewError({ code: 'internal', message: 'x' }).toJSON()).toEqual({ error: { code: 'internal', message: 'x', details: {} } })
  })

  it('refuses a code the catalogue lacks, however it was built', () => {
    const built = ['datanet', 'not', 'there'].join('_') as ErrorCode
    expect(() => new SinewError({ code: built, message: 'x' })).toThrow(/not in the catalogue/)
    expect(() => new SinewError({ code: 'toString' as ErrorCode, message: 'x' })).toThrow(/not in the catalogue/)
  })

  it('refuses a hint inside details: the hint has one place', () => {
    expect(() => new SinewError({ code: 'invalid_field', message: 'x', details: { hint: 'y' } })).toThrow(/hint option/)
  })
})

describe('errorFromResponse', () => {
  it('reads the node error body: code, message, details and the answer status', () => {
    const e = errorFromResponse(422, JSON.stringify({ error: { code: 'insufficient_balance', message: 'Not enough', details: { need: '5' } } }))
    expect(e).toBeInstanceOf(SinewError)
    expect(e).toBeInstanceOf(RemoteError)
    expect([e.code, e.shortMessage, e.status, e.details, e.hint]).toEqual(['insufficient_balance', 'Not enough', 422, { need: '5' }, undefined])
  })

  it('lifts details.hint into .hint, and gives the same wire form back', () => {
    const body = { error: { code: 'datanet_not_found', message: 'No Datanet x', details: { datanet: 'x', hint: 'List them.' } } }
    const e = errorFromResponse(404, JSON.stringify(body))
    expect([e.details, e.hint]).toEqual([{ datanet: 'x' }, 'List them.'])
    expect(e.toJSON()).toEqual(body)
  })

  it("keeps a code this node's catalogue lacks (an older or newer node), with the answer's status", () => {
    const e = errorFromResponse(418, JSON.stringify({ error: { code: 'teapot_busy', message: 'Later', details: {} } }))
    expect([e.code, e.status, e.shortMessage]).toEqual(['teapot_busy', 418, 'Later'])
  })

  it('falls back to the status for a body that is not a Sinew error (HTML, empty, other JSON)', () => {
    for (const body of ['<html>Bad gateway</html>', '', '{"detail":"x"}', '{"error":"text"}']) {
      const e = errorFromResponse(502, body)
      expect([e.code, e.shortMessage, e.status, e.details]).toEqual(['http_error', 'HTTP 502', 502, {}])
    }
  })
})
