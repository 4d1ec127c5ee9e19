import { describe, expect, it } from 'vitest'
import { isSinewError } from '../core/index.ts'
import { findPrototypeKey, jsonDepthExceeds, MAX_JSON_DEPTH, parseJsonBody } from './json-body.ts'

/** The depth of a parsed value, computed independently of the text scan. */
function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0
  const children = Object.values(v as object)
  return 1 + (children.length ? Math.max(...children.map(depthOf)) : 0)
}

function codeOf(text: string): string | undefined {
  try {
    parseJsonBody(text)
    return undefined
  } catch (e) {
    return isSinewError(e) ? e.code : 'not typed'
  }
}

describe('jsonDepthExceeds', () => {
  it('agrees with the depth of the parsed value, strings with brackets and escaped quotes included', () => {
    const samples = [
      '{}',
      '[[[]]]',
      '{"a":[{"b":[1,2,{"c":"[[[[{{{{"}]}]}',
      '["\\"[[[", ["\\\\"], [["x\\\\\\"]]"]]]',
      '{"k":"}}}]]]","n":[[[[[[[[[[0]]]]]]]]]]}',
      '"just a string [[["',
      '[' + '{"a":'.repeat(20) + '1' + '}'.repeat(20) + ']',
    ]
    for (const text of samples) {
      const depth = depthOf(JSON.parse(text))
      expect(jsonDepthExceeds(text, depth), text).toBe(false)
      if (depth > 0) expect(jsonDepthExceeds(text, depth - 1), text).toBe(true)
    }
  })
  it('scans 100 000 levels without recursion', () => {
    expect(jsonDepthExceeds('['.repeat(100_000) + ']'.repeat(100_000), MAX_JSON_DEPTH)).toBe(true)
  })
})

describe('findPrototypeKey', () => {
  it('finds __proto__ and constructor.prototype keys at any depth, and nothing in values', () => {
    expect(findPrototypeKey(JSON.parse('{"a":[{"__proto__":{}}]}'))).toBe('body.a.0.__proto__')
    expect(findPrototypeKey(JSON.parse('{"constructor":{"prototype":{"x":1}}}'))).toBe('body.constructor.prototype')
    expect(findPrototypeKey(JSON.parse('{"constructor":"ok","proto":"__proto__","x":{"constructor":{"name":"y"}}}'))).toBeUndefined()
  })
})

describe('parseJsonBody', () => {
  it('parses ordinary JSON as JSON.parse does', () => {
    const text = '{"type":"Transfer","message":{"to":"0x01","amount":"1","nonce":"0"},"list":[1,[2,[3]]],"s":"\\u00e9"}'
    expect(parseJsonBody(text)).toEqual(JSON.parse(text))
    expect(parseJsonBody('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).toBeInstanceOf(Array)
  })
  it('refuses each kind of bad body with its own code', () => {
    expect(codeOf('')).toBe('malformed_json')
    expect(codeOf('{"a":')).toBe('malformed_json')
    expect(codeOf('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1))).toBe('json_too_deep')
    expect(codeOf('{"__proto__":{"isAdmin":true}}')).toBe('forbidden_json_key')
    expect(codeOf('{"\\u005f\\u005fproto\\u005f\\u005f":1}')).toBe('forbidden_json_key')
    expect(codeOf('{"__proto__ ":1, "x__proto__":2}')).toBeUndefined()
  })
})
