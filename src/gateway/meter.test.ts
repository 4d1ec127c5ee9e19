import { describe, expect, it } from 'vitest'
import { tokenize } from '../attribution/index.ts'
import { AnswerMeter, TokenMeter } from './meter.ts'

describe('TokenMeter', () => {
  const text = "The lighthouse keeper's 17 gulls—flying 日本 over é the sea, don't they? 👍🏽 Yes."
  it('counts exactly as tokenize() however the text is chunked', () => {
    for (const size of [1, 2, 3, 5, 8, 13]) {
      const m = new TokenMeter(10_000)
      for (let i = 0; i < text.length; i += size) m.push(text.slice(i, i + size))
      expect(m.output).toBe(text)
      expect(m.tokens).toBe(tokenize(text).length)
    }
  })
  it('cuts at the budget, at the end of the last token', () => {
    for (const size of [1, 4, 7, 100]) {
      const m = new TokenMeter(5)
      let out = ''
      for (let i = 0; i < text.length && !m.full; i += size) out += m.push(text.slice(i, i + size))
      expect(m.full).toBe(true)
      expect(tokenize(out).length).toBe(5)
      expect(out).toBe(m.output)
      expect(text.startsWith(out)).toBe(true)
    }
  })
  it('matches tokenize() on random text split at random points (marks, surrogates, CR/LF, budgets)', () => {
    const alphabet = [
      'a',
      'B',
      '7',
      ' ',
      '  ',
      '\n',
      '\t',
      "'",
      '-',
      '.',
      '\u0301',
      'é',
      '日',
      '本',
      '👍',
      '🏽',
      '\ud83d',
      '\ude00',
      '\u200b',
      '\u00a0',
      'ß',
      'ﬁ',
    ]
    let seed = 42
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    for (let round = 0; round < 400; round++) {
      let text = ''
      for (let i = rand(60); i > 0; i--) text += alphabet[rand(alphabet.length)]
      const budget = 1 + rand(30)
      const m = new TokenMeter(round % 2 ? 10_000 : budget)
      let out = ''
      for (let i = 0; i < text.length && !m.full; ) {
        const size = 1 + rand(6)
        out += m.push(text.slice(i, i + size))
        i += size
        expect(m.tokens).toBe(tokenize(m.output).length)
      }
      expect(out).toBe(m.output)
      expect(text.startsWith(out)).toBe(true)
      if (round % 2) expect(out).toBe(text)
      else expect(m.tokens).toBe(Math.min(budget, tokenize(text).length))
    }
  })
})

describe('AnswerMeter', () => {
  // Canonical tokens, counted by hand (docs/attribution.md): `let me check .` = 4; `{ " city " : " paris " }` = 9.
  const text = 'Let me check.'
  const args = '{"city": "Paris"}'
  it('counts the text and each call’s arguments apart, however they are chunked', () => {
    for (const size of [1, 3, 100]) {
      const m = new AnswerMeter(1000)
      for (let i = 0; i < text.length; i += size) m.pushText(text.slice(i, i + size))
      for (const index of [0, 1]) for (let i = 0; i < args.length; i += size) m.pushArguments(index, args.slice(i, i + size))
      expect(m.tokens).toBe(4 + 9 + 9)
      expect(m.full).toBe(false)
    }
  })
  it('one budget for the whole answer: the arguments get what the text leaves, and the answer is full at the budget', () => {
    for (const size of [1, 2, 100]) {
      const m = new AnswerMeter(10)
      let t = ''
      for (let i = 0; i < text.length; i += size) t += m.pushText(text.slice(i, i + size))
      let a = ''
      for (let i = 0; i < args.length && !m.full; i += size) a += m.pushArguments(0, args.slice(i, i + size))
      expect(t).toBe(text)
      expect(m.full).toBe(true)
      expect(m.tokens).toBe(10)
      // 6 tokens of arguments: `{ " city " : "`.
      expect(a).toBe('{"city": "')
      expect(m.pushArguments(1, '{}')).toBe('')
      expect(m.pushText(' more')).toBe('')
    }
  })
})
