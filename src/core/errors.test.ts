import { describe, expect, it } from 'vitest'
import { errorFromResponse, SinewError } from './errors.ts'

describe('errorFromResponse', () => {
  it('reads the node error body: code, message, details and the answer status', () => {
    const e = errorFromResponse(422, JSON.stringify({ error: { code: 'insufficient_balance', message: 'Not enough', details: { need: '5' } } }))
    expect(e).toBeInstanceOf(SinewError)
    expect([e.code, e.shortMessage, e.status, e.details]).toEqual(['insufficient_balance', 'Not enough', 422, { need: '5' }])
  })

  it('falls back to the status for a body that is not a Sinew error (HTML, empty, other JSON)', () => {
    for (const body of ['<html>Bad gateway</html>', '', '{"detail":"x"}']) {
      const e = errorFromResponse(502, body)
      expect([e.code, e.shortMessage, e.status, e.details]).toEqual(['http_error', 'HTTP 502', 502, {}])
    }
  })
})
