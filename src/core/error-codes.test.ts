import { describe, expect, it } from 'vitest'
import { errorCatalogue, errorCatalogueList, isErrorCode } from './error-codes.ts'

describe('error catalogue', () => {
  const entries = Object.entries(errorCatalogue)

  it('gives every code an error status (400-599) and a one-line meaning', () => {
    expect(entries.length).toBeGreaterThan(100)
    for (const [code, { status, meaning }] of entries) {
      expect(code, code).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/)
      expect(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: ${status}`).toBe(true)
      expect(meaning.trim().length, code).toBeGreaterThan(10)
      expect(meaning, code).not.toMatch(/\n/)
    }
  })

  it('answers every *_not_found code with 404 (a request naming something that does not exist)', () => {
    for (const [code, { status }] of entries) if (code.endsWith('_not_found')) expect(status, code).toBe(404)
  })

  it('lists the catalogue sorted by code, each code once', () => {
    const list = errorCatalogueList()
    const codes = list.map((e) => e.code)
    expect(codes).toEqual(Object.keys(errorCatalogue).sort())
    expect(new Set(codes).size).toBe(codes.length)
    expect(list.find((e) => e.code === 'nonce_too_low')).toEqual({ code: 'nonce_too_low', ...errorCatalogue.nonce_too_low })
  })

  it('tells catalogue codes from other strings, own keys only', () => {
    expect(isErrorCode('insufficient_balance')).toBe(true)
    for (const x of ['nope', 'toString', '__proto__', '', 42, undefined]) expect(isErrorCode(x), String(x)).toBe(false)
  })
})
