/**
 * The node's one JSON body parser (every route that takes `application/json`), with the
 * limits a body from a stranger needs before any schema or handler sees it:
 *
 * - **Depth**: a body nested deeper than `MAX_JSON_DEPTH` is refused before it is parsed.
 *   A few hundred kilobytes of `[[[[…]]]]` is valid JSON that blows the stack of any
 *   recursive code after the parser (validation, hashing, serialising): the OpenAI routes
 *   answered it with a 500. No request of this API needs more than a dozen levels.
 * - **Prototype keys**: a `__proto__` key (or `constructor.prototype`) is refused with its
 *   own error naming where it is. Such a key can pollute prototypes in code that merges
 *   objects; no request of this API has one, and dropping it silently would change what
 *   the caller sent (and, for a tx, signed).
 */
import type { FastifyInstance } from 'fastify'
import { SinewError } from '../core/index.ts'

/** Deepest nesting of arrays and objects accepted in a JSON body. */
export const MAX_JSON_DEPTH = 64

/** Whether `text` nests arrays/objects deeper than `max`; strings are skipped, so brackets in them do not count. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22) {
      // To the closing quote: one not preceded by an odd run of backslashes.
      let end = i
      for (;;) {
        end = text.indexOf('"', end + 1)
        if (end < 0) return false // unterminated: the parser says so
        let backslashes = 0
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes++
        if (backslashes % 2 === 0) break
      }
      i = end
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true
    } else if (c === 0x5d || c === 0x7d) {
      depth--
    }
  }
  return false
}

/** Text that may spell a prototype key (directly or with \u escapes): only then is the parsed value walked. */
const MAY_HOLD_PROTO_KEY = /proto|constructor|\\u/

/** The path (`body.a.0.__proto__`) of the first `__proto__` or `constructor.prototype` key in `value`, if any. */
export function findPrototypeKey(value: unknown): string | undefined {
  const stack: [unknown, string][] = [[value, 'body']]
  while (stack.length > 0) {
    const [v, path] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    for (const key of Object.keys(v)) {
      const child = (v as Record<string, unknown>)[key]
      if (key === '__proto__') return `${path}.${key}`
      if (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype')) return `${path}.constructor.prototype`
      stack.push([child, `${path}.${key}`])
    }
  }
  return undefined
}

/** Parses a JSON request body with the limits above; every refusal is a typed 400. */
export function parseJsonBody(text: string): unknown {
  if (!/\S/.test(text)) throw new SinewError({ code: 'malformed_json', message: 'The JSON body is empty', hint: 'Send a JSON value, or no Content-Type.' })
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new SinewError({
      code: 'json_too_deep',
      message: `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`,
      details: { maxDepth: MAX_JSON_DEPTH },
      hint: 'No request to this node needs that much nesting: flatten the body.',
    })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    throw new SinewError({ code: 'malformed_json', message: `The body is not valid JSON: ${(e as Error).message}` })
  }
  const protoKey = MAY_HOLD_PROTO_KEY.test(text) ? findPrototypeKey(value) : undefined
  if (protoKey) {
    throw new SinewError({
      code: 'forbidden_json_key',
      message: `The JSON body holds the key ${protoKey}, which this node refuses`,
      details: { field: protoKey },
      hint: 'Keys named __proto__ (and constructor.prototype) are refused: they can pollute object prototypes. Rename or remove it.',
    })
  }
  return value
}

/** Replaces fastify's JSON parser (route plugins that take raw bytes replace it in their own scope). */
export function installJsonParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string))
    } catch (e) {
      done(e as Error, undefined)
    }
  })
}
