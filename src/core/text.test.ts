import { describe, expect, it } from 'vitest'
import { findUnsafeCharacter, printable, refuseUnsafeText } from './text.ts'

describe('text others read', () => {
  it('finds the first unsafe character by code point and index', () => {
    expect(findUnsafeCharacter('report\u202Efdp.exe')).toEqual({ index: 6, codePoint: 'U+202E' })
    expect(findUnsafeCharacter('a\u2069')).toEqual({ index: 1, codePoint: 'U+2069' })
    expect(findUnsafeCharacter('x\u0085')).toEqual({ index: 1, codePoint: 'U+0085' })
    expect(findUnsafeCharacter('two\nlines')).toEqual({ index: 3, codePoint: 'U+000A' })
    expect(findUnsafeCharacter('two\nlines\ttab', { multiline: true })).toBeUndefined()
    expect(findUnsafeCharacter('para\u2029graph', { multiline: true })).toEqual({ index: 4, codePoint: 'U+2029' })
    expect(findUnsafeCharacter('CR\r\n', { multiline: true })).toEqual({ index: 2, codePoint: 'U+000D' })
    // Ordinary text in any script, with marks and emoji, is left alone.
    expect(findUnsafeCharacter('Ünïcödé — العربية ‏עברית‎ 日本語 🤖')).toBeUndefined()
  })

  it('every code point below U+3000 is judged by the fixed list', () => {
    const listed = (c: number) =>
      c <= 0x1f || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)
    for (let c = 0; c < 0x3000; c++) {
      expect(findUnsafeCharacter(String.fromCharCode(c)) !== undefined, c.toString(16)).toBe(listed(c))
      expect(findUnsafeCharacter(String.fromCharCode(c), { multiline: true }) !== undefined, c.toString(16)).toBe(listed(c) && c !== 0x0a && c !== 0x09)
    }
  })

  it('printable replaces them with U+FFFD; one-line text stays on one line', () => {
    expect(printable('evil\u202Egpj.exe\u001b[2J')).toBe('evil\ufffdgpj.exe\ufffd[2J')
    expect(printable('a\nb\tc')).toBe('a\ufffdb\ufffdc')
    expect(printable('a\r\nb\tc\u2028d', { multiline: true })).toBe('a\nb\tc\ufffdd')
  })

  it('refuseUnsafeText names the field and the code point', () => {
    expect(() => refuseUnsafeText('message.name', 'x\u202Ey')).toThrow(
      expect.objectContaining({ code: 'invalid_field', details: { field: 'message.name', codePoint: 'U+202E', index: 1 } }),
    )
    expect(() => refuseUnsafeText('message.description', 'ok\nfine', { multiline: true })).not.toThrow()
  })
})
