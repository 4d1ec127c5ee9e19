// Text out of PDF and DOCX files from strangers, within deterministic limits: every node
// that runs the same code on the same bytes gets the same records or the same refusal.
// Plain JavaScript so that the ingest worker thread runs it under plain node, without a
// TypeScript loader. Types: office-extract.d.mts. Rules: docs/datanets.md#ingestion.
import { inflateRawSync } from 'node:zlib'

/**
 * Whether a parser's error is this node's running out of something (stack depth, memory,
 * array or string length the engine allows) rather than a verdict on the bytes: such a
 * failure depends on the node (its stack size, its heap, its V8), so it must never make a
 * contribution be skipped. pdf.js hands on its internal errors with their message
 * (an UnknownErrorException "Maximum call stack size exceeded"), hence the messages too.
 */
export function isNodeLimitError(e) {
  if (e instanceof RangeError) return true
  const text = `${e?.name ?? ''} ${e?.message ?? ''}`
  return /Maximum call stack size exceeded|out of memory|allocation failed|Invalid (array|string|typed array) length|Array buffer allocation/i.test(text)
}

/** A parser's error as a refusal of the bytes, or rethrown as it is when it is the node's (isNodeLimitError). */
function refusal(e) {
  if (e instanceof Unparseable || isNodeLimitError(e)) return e
  return new Unparseable(e?.message ?? String(e))
}

/** A refusal that is a property of the bytes (the same on every node). */
export class Unparseable extends Error {
  constructor(reason, extra = {}) {
    super(reason)
    this.reason = reason
    this.extra = extra
  }
}

const EOCD = 0x06054b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50

/**
 * Checks a zip archive before a parser inflates it: at most `maxEntries` entries, stored or
 * deflated only, no zip64, every entry inside the file, and at most `maxExpandedBytes` bytes
 * once all entries are inflated (counted by inflating, never trusting the sizes the archive
 * declares). A zip bomb stops at the limit instead of filling the memory.
 */
export function checkZip(buf, { maxEntries, maxExpandedBytes }) {
  const u16 = (at) => buf.readUInt16LE(at)
  const u32 = (at) => buf.readUInt32LE(at)
  let end = -1
  for (let p = buf.length - 22; p >= Math.max(0, buf.length - 22 - 0xffff); p--) {
    if (u32(p) === EOCD) {
      end = p
      break
    }
  }
  if (end < 0) throw new Unparseable('it is not a zip archive (no end of central directory)')
  const count = u16(end + 10)
  const cdOffset = u32(end + 16)
  if (count === 0xffff || cdOffset === 0xffffffff) throw new Unparseable('zip64 archives are not supported')
  if (count > maxEntries) throw new Unparseable(`the archive has ${count} entries, over the limit of ${maxEntries}`, { limit: 'entries' })
  let expanded = 0
  let p = cdOffset
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || u32(p) !== CENTRAL) throw new Unparseable(`zip entry ${i + 1}: broken central directory`)
    const method = u16(p + 10)
    const compressed = u32(p + 20)
    const nameLength = u16(p + 28)
    const local = u32(p + 42)
    const next = p + 46 + nameLength + u16(p + 30) + u16(p + 32)
    if (local + 30 > buf.length || u32(local) !== LOCAL) throw new Unparseable(`zip entry ${i + 1}: broken local header`)
    const start = local + 30 + u16(local + 26) + u16(local + 28)
    if (start + compressed > buf.length) throw new Unparseable(`zip entry ${i + 1}: its data runs past the end of the file`)
    const room = maxExpandedBytes - expanded
    if (method === 0) {
      expanded += compressed
    } else if (method === 8) {
      try {
        expanded += inflateRawSync(buf.subarray(start, start + compressed), { maxOutputLength: Math.max(1, room + 1) }).length
      } catch (e) {
        if (e?.code === 'ERR_BUFFER_TOO_LARGE') expanded = maxExpandedBytes + 1
        else if (e?.code === 'Z_DATA_ERROR' || e?.code === 'Z_BUF_ERROR' || e?.code === 'Z_NEED_DICT')
          throw new Unparseable(`zip entry ${i + 1}: its data does not inflate (${e.code})`)
        else throw e
      }
    } else {
      throw new Unparseable(`zip entry ${i + 1}: compression method ${method} is not supported (stored or deflated only)`)
    }
    if (expanded > maxExpandedBytes) {
      throw new Unparseable(`the archive expands to more than ${maxExpandedBytes} bytes (the limit)`, { limit: 'expandedBytes' })
    }
    p = next
  }
}

function checkText(total, limits) {
  if (total > limits.maxTextChars) throw new Unparseable(`its text is longer than ${limits.maxTextChars} characters (the limit)`, { limit: 'textChars' })
}

/** One record per page with text; at most `maxPages` pages and `maxTextChars` characters. */
export async function extractPdf(bytes, limits) {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs')
  let doc
  try {
    // pdfjs takes ownership of (and detaches) the buffer it is given: pass a copy.
    doc = await pdfjs.getDocument({
      data: new Uint8Array(bytes),
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      verbosity: 0,
    }).promise
    if (doc.numPages > limits.maxPages) throw new Unparseable(`it has ${doc.numPages} pages, over the limit of ${limits.maxPages}`, { limit: 'pages' })
    const records = []
    let total = 0
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p)
      const content = await page.getTextContent()
      let text = ''
      for (const item of content.items) {
        if (typeof item.str !== 'string') continue
        text += item.str + (item.hasEOL ? '\n' : '')
        if (total + text.length > limits.maxTextChars) checkText(total + text.length, limits)
      }
      page.cleanup()
      text = text.trim()
      if (text) {
        records.push(text)
        total += text.length
      }
    }
    if (records.length === 0) throw new Unparseable('it has no extractable text (a scan without OCR?)')
    return records
  } catch (e) {
    throw refusal(e)
  } finally {
    await doc?.destroy().catch(() => {})
  }
}

/** One record: the raw text of the document, after the zip check. */
export async function extractDocx(bytes, limits) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  checkZip(buf, limits)
  const mammoth = (await import('mammoth')).default
  let value
  try {
    ;({ value } = await mammoth.extractRawText({ buffer: buf }))
  } catch (e) {
    throw refusal(e)
  }
  const text = value.replace(/\n{3,}/g, '\n\n').trim()
  if (!text) throw new Unparseable('it has no text')
  checkText(text.length, limits)
  return [text]
}
