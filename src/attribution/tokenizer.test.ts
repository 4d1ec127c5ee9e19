import { describe, expect, it } from 'vitest'
import { tokenize, TOKENIZER_VERSION, Vocabulary, scanTokens } from './tokenizer.ts'

describe('tokenizer sinew-tok/1', () => {
  it('has a version string', () => {
    expect(TOKENIZER_VERSION).toBe('sinew-tok/1')
  })

  it('splits words and punctuation, lowercases, and keeps original offsets', () => {
    const t = tokenize('Hello, World!  Don’t stop—2.5x')
    expect(t.tokens).toEqual(['hello', ',', 'world', '!', 'don', '’', 't', 'stop', '—', '2', '.', '5x'])
    expect(t.length).toBe(12)
    expect(Array.from(t.starts)).toEqual([0, 5, 7, 12, 15, 18, 19, 21, 25, 26, 27, 28])
    expect(Array.from(t.ends)).toEqual([5, 6, 12, 13, 18, 19, 20, 25, 26, 27, 28, 30])
  })

  it('normalizes with NFKC per token and attaches combining marks', () => {
    // decomposed é (e + U+0301) and precomposed é give the same token; ligature ﬁ -> fi
    const t = tokenize('Cafe\u0301 café ﬁne Ｆｕｌｌ')
    expect(t.tokens).toEqual(['café', 'café', 'fine', 'full'])
    expect(Array.from(t.ends)).toEqual([5, 10, 14, 19])
  })

  it('splits ideographs one per token, keeps emoji as symbols, offsets in UTF-16 units', () => {
    const t = tokenize('日本語 text 👍🏽!')
    expect(t.tokens).toEqual(['日', '本', '語', 'text', '👍', '🏽', '!'])
    expect(Array.from(t.starts)).toEqual([0, 1, 2, 4, 9, 11, 13])
    expect(Array.from(t.ends)).toEqual([1, 2, 3, 8, 11, 13, 14])
  })

  it('drops whitespace, controls and format characters; lone surrogates separate', () => {
    const t = tokenize('a\u00a0b\u200bc\u0000d\ud800e\t\n')
    expect(t.tokens).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(tokenize('').length).toBe(0)
    expect(tokenize(' \n\t ').length).toBe(0)
  })

  it('handles mixed scripts: Cyrillic, Greek, Arabic words are runs', () => {
    expect(tokenize('Привет ΚΑΛΗΜΕΡΑ مرحبا').tokens).toEqual(['привет', 'καλημερα', 'مرحبا'])
  })

  it('vocabulary assigns ids by first appearance starting at 1, across surface variants', () => {
    const v = new Vocabulary()
    const text = 'The the THE cat. Cat'
    const ids: number[] = []
    scanTokens(text, (s, e, p) => ids.push(v.idOf(text, s, e, p)))
    expect(ids).toEqual([1, 1, 1, 2, 3, 2])
    expect(v.strings).toEqual(['', 'the', 'cat', '.'])
  })

  it('vocabulary survives table growth (many distinct surfaces)', () => {
    const v = new Vocabulary()
    const words = Array.from({ length: 200_000 }, (_, i) => 'w' + i.toString(36))
    const text = words.join(' ')
    const ids: number[] = []
    scanTokens(text, (s, e, p) => ids.push(v.idOf(text, s, e, p)))
    scanTokens(text, (s, e, p) => ids.push(v.idOf(text, s, e, p)))
    expect(ids.slice(0, 200_000)).toEqual(ids.slice(200_000))
    expect(v.size).toBe(200_001)
    expect(ids[199_999]).toBe(200_000)
  })
})
