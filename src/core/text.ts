/**
 * Free text that strangers put on the ledger (agent names, task titles, descriptions) is
 * shown to other people in terminals and web pages. These characters make text show as
 * something other than it is, or act on the terminal: C0 and C1 control characters and DEL
 * (escape sequences included), bidirectional embeddings, overrides and isolates
 * (U+202A–U+202E, U+2066–U+2069: "‮txt.exe" shows as "exe.txt"), and the line and paragraph
 * separators U+2028/U+2029. Tx rules refuse them (deterministically: a fixed list, no Unicode
 * tables that change between versions); the CLI replaces any it meets in stored text.
 */
import { SinewError } from './errors.ts'

// biome-ignore lint/suspicious/noControlCharactersInRegex: it exists to find control characters
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/
// biome-ignore lint/suspicious/noControlCharactersInRegex: it exists to find control characters
const UNSAFE_BUT_NEWLINE_AND_TAB = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

export type UnsafeCharacter = { index: number; codePoint: string }

/**
 * The first character of `text` that must not be shown as is, with its UTF-16 index and its
 * code point as `U+XXXX`; undefined if there is none. `multiline` lets LF and TAB through
 * (descriptions), otherwise they count too (names, titles).
 */
export function findUnsafeCharacter(text: string, options: { multiline?: boolean } = {}): UnsafeCharacter | undefined {
  const m = (options.multiline ? UNSAFE_BUT_NEWLINE_AND_TAB : UNSAFE).exec(text)
  if (!m) return undefined
  return { index: m.index, codePoint: `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` }
}

/**
 * The tx rule for such text: refuses it with `invalid_field`, naming the field (`message.name`),
 * the code point and where it is.
 */
export function refuseUnsafeText(field: string, text: string, options: { multiline?: boolean } = {}): void {
  const c = findUnsafeCharacter(text, options)
  if (!c) return
  throw new SinewError({
    code: 'invalid_field',
    message: `${field} must not contain control characters, bidirectional overrides or isolates${options.multiline ? '' : ', line breaks'} or line separators (${c.codePoint} at ${c.index})`,
    details: { field, codePoint: c.codePoint, index: c.index },
    hint: 'These characters make text show as something other than it is; remove them.',
  })
}

/**
 * Text safe to print: every character `findUnsafeCharacter` refuses becomes U+FFFD. With
 * `multiline`, CRLF becomes LF and LF and TAB stay; without, they are replaced too, so a
 * one-line field stays on one line.
 */
export function printable(text: string, options: { multiline?: boolean } = {}): string {
  const pattern = new RegExp((options.multiline ? UNSAFE_BUT_NEWLINE_AND_TAB : UNSAFE).source, 'g')
  return (options.multiline ? text.replace(/\r\n/g, '\n') : text).replace(pattern, '\ufffd')
}
