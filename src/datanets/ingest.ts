/**
 * Ingestion: a contribution's bytes -> text records. One record per file for .txt and .md,
 * per line for .jsonl, per data row for .csv (the header names the columns), per page with
 * text for .pdf (pdfjs-dist), per file for .docx (mammoth, raw text). The index holds one
 * document per contribution: its records joined by blank lines.
 */
import { isSinewError, SinewError } from '../core/index.ts'
import type { MediaType } from './media.ts'

export type Ingested = { records: string[] }

export const joinRecords = (records: readonly string[]): string => records.join('\n\n')

const unparseable = (mediaType: string, reason: string, extra: Record<string, unknown> = {}): SinewError =>
  new SinewError({
    code: 'unparseable_content',
    message: `The content is not valid ${mediaType}: ${reason}`,
    details: { field: 'mediaType', mediaType, reason, ...extra },
    hint: 'Check the file, or declare the media type that matches it.',
  })

function decodeUtf8(bytes: Uint8Array, mediaType: string): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  } catch {
    throw unparseable(mediaType, 'it is not UTF-8 text')
  }
}

export async function ingest(bytes: Uint8Array, mediaType: MediaType | string): Promise<Ingested> {
  switch (mediaType) {
    case 'text/plain':
    case 'text/markdown': {
      const text = decodeUtf8(bytes, mediaType)
      if (text.trim() === '') throw unparseable(mediaType, 'it holds no text')
      return { records: [text] }
    }
    case 'application/jsonl':
      return { records: jsonlRecords(decodeUtf8(bytes, mediaType)) }
    case 'text/csv':
      return { records: csvRecords(decodeUtf8(bytes, mediaType)) }
    case 'application/pdf':
      return { records: await pdfRecords(bytes) }
    case 'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
      return { records: await docxRecords(bytes) }
    default:
      throw new SinewError({ code: 'unsupported_media_type', message: `Unsupported media type ${mediaType}`, details: { field: 'mediaType', got: mediaType } })
  }
}

/** A line's record: the string itself, or an object's "text" field, or else the JSON as written. */
function jsonlRecords(text: string): string[] {
  const records: string[] = []
  const lines = text.split('\n')
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch (e) {
      throw unparseable('application/jsonl', `line ${i + 1} is not JSON (${(e as Error).message})`, { line: i + 1 })
    }
    if (typeof value === 'string') records.push(value)
    else if (value && typeof value === 'object' && !Array.isArray(value) && typeof (value as { text?: unknown }).text === 'string')
      records.push((value as { text: string }).text)
    else records.push(line)
  })
  if (records.length === 0) throw unparseable('application/jsonl', 'it has no records')
  return records
}

/** RFC 4180 rows: quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let field = ''
  let i = 0
  let line = 1
  let quoted = false
  let fieldStarted = false
  const endField = () => {
    row.push(field)
    field = ''
    fieldStarted = false
  }
  const endRow = () => {
    endField()
    if (!(row.length === 1 && row[0] === '')) rows.push(row)
    row = []
  }
  while (i < text.length) {
    const ch = text[i]
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i += 2
          continue
        }
        quoted = false
        i++
        const next = text[i]
        if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r')
          throw unparseable('text/csv', `line ${line}: text after a closing quote`, { line })
        continue
      }
      if (ch === '\n') line++
      field += ch
      i++
      continue
    }
    if (ch === '"') {
      if (fieldStarted) throw unparseable('text/csv', `line ${line}: a quote inside an unquoted field`, { line })
      quoted = true
      fieldStarted = true
      i++
    } else if (ch === ',') {
      endField()
      i++
    } else if (ch === '\r' || ch === '\n') {
      endRow()
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1
      line++
    } else {
      field += ch
      fieldStarted = true
      i++
    }
  }
  if (quoted) throw unparseable('text/csv', `an unterminated quoted field (opened before line ${line})`, { line })
  if (fieldStarted || row.length > 0) endRow()
  return rows
}

function csvRecords(text: string): string[] {
  const rows = parseCsv(text)
  if (rows.length < 2) throw unparseable('text/csv', 'it needs a header row and at least one data row')
  const header = rows[0]
  return rows.slice(1).map((r, k) => {
    if (r.length !== header.length) throw unparseable('text/csv', `row ${k + 2} has ${r.length} fields, the header ${header.length}`, { row: k + 2 })
    return header.map((h, j) => `${h}: ${r[j]}`).join('\n')
  })
}

async function pdfRecords(bytes: Uint8Array): Promise<string[]> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs')
  let doc: Awaited<ReturnType<typeof pdfjs.getDocument>['promise']> | undefined
  try {
    // pdfjs takes ownership of (and detaches) the buffer it is given: pass a copy.
    doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), isEvalSupported: false, disableFontFace: true, useSystemFonts: false, verbosity: 0 }).promise
    const records: string[] = []
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p)
      const content = await page.getTextContent()
      let text = ''
      for (const item of content.items as { str?: string; hasEOL?: boolean }[]) {
        if (typeof item.str !== 'string') continue
        text += item.str + (item.hasEOL ? '\n' : '')
      }
      text = text.trim()
      if (text) records.push(text)
    }
    if (records.length === 0) throw unparseable('application/pdf', 'it has no extractable text (a scan without OCR?)')
    return records
  } catch (e) {
    if (isSinewError(e)) throw e
    throw unparseable('application/pdf', (e as Error)?.message ?? String(e))
  } finally {
    await doc?.destroy().catch(() => {})
  }
}

async function docxRecords(bytes: Uint8Array): Promise<string[]> {
  const mammoth = (await import('mammoth')).default
  let value: string
  try {
    ;({ value } = await mammoth.extractRawText({ buffer: Buffer.from(bytes) }))
  } catch (e) {
    throw unparseable('application/vnd.openxmlformats-officedocument.wordprocessingml.document', (e as Error)?.message ?? String(e))
  }
  const text = value.replace(/\n{3,}/g, '\n\n').trim()
  if (!text) throw unparseable('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'it has no text')
  return [text]
}
