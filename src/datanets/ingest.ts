/**
 * Ingestion: a contribution's bytes -> text records. One record per file for .txt and .md,
 * per line for .jsonl, per data row for .csv (the header names the columns), per page with
 * text for .pdf (pdfjs-dist), per file for .docx (mammoth, raw text). The index holds one
 * document per contribution: its records joined by blank lines.
 *
 * Bytes come from strangers, so ingestion has limits (INGEST_LIMITS). They are protocol
 * constants, not settings: a refusal (`unparseable_content`) is a property of the bytes and
 * of the rules (INGEST_RULES: their version and the exact versions of the PDF and DOCX
 * parsers, pinned in package.json), the same on every node that runs them, which is what
 * lets a version build skip such a contribution and still produce the same index
 * everywhere. PDF and DOCX are parsed in a worker thread with a time and memory budget;
 * running out of time, memory or stack is this node's trouble, not a property of the
 * bytes (a faster node, or one with a deeper stack, might finish), so it is a different
 * error (`ingest_timeout`, `ingest_failed`: see isLocalIngestFailure) that never makes a
 * build skip anything.
 *
 * Extraction runs in lanes (`Extractor`), one worker thread each, one file at a time: a
 * node gives admission and index builds a lane each, so a build never waits behind
 * strangers' files being admitted.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { isSinewError, SinewError } from '../core/index.ts'
import type { MediaType } from './media.ts'

export type Ingested = { records: string[] }

/**
 * Version of the ingestion rules (formats, limits, which failures are the bytes' and which
 * the node's). A change that turns some bytes' records or refusal into others must bump it.
 */
export const INGEST_RULES_VERSION = 3

/** The exact version of an installed parser package (package.json pins it: no range). */
function installedVersion(name: string): string {
  const require = createRequire(import.meta.url)
  let dir = require.resolve(name)
  // The package's own package.json: walk up from its entry point to the folder named after it.
  for (;;) {
    const up = dir.slice(0, dir.lastIndexOf('/'))
    if (up === dir || up === '') throw new Error(`cannot find the package.json of ${name}`)
    dir = up
    if (dir.endsWith(`/node_modules/${name}`)) return (JSON.parse(readFileSync(`${dir}/package.json`, 'utf8')) as { version: string }).version
  }
}

/** The parsers whose output (and refusals) the rules depend on, at the versions this node runs. */
export const INGEST_PARSERS = { 'pdfjs-dist': installedVersion('pdfjs-dist'), mammoth: installedVersion('mammoth') } as const

/**
 * What decides a contribution's records or refusal, as one string: cached results are keyed
 * by it, and a version's index manifest and build id record it, so two nodes that would
 * ingest differently are told apart.
 */
export const INGEST_RULES = `sinew-ingest/${INGEST_RULES_VERSION};pdfjs-dist@${INGEST_PARSERS['pdfjs-dist']};mammoth@${INGEST_PARSERS.mammoth}`

/** Deterministic limits on what a contribution may ingest into (docs/datanets.md#ingestion). */
export const INGEST_LIMITS = {
  /** Characters of text (UTF-16 code units, all records together). */
  maxTextChars: 64 * 1024 * 1024,
  /** Pages of a PDF. */
  maxPages: 10_000,
  /** Entries of a DOCX archive. */
  maxEntries: 10_000,
  /** Bytes a DOCX archive inflates to, all entries together (a zip bomb stops here). */
  maxExpandedBytes: 64 * 1024 * 1024,
} as const

/** Time budget of one PDF or DOCX extraction (local: exceeding it is not a property of the bytes). */
export const INGEST_TIMEOUT_MS = 60_000
/** Heap of the extraction worker, MiB. */
const WORKER_HEAP_MB = 1024

export type IngestOptions = {
  /** Time budget of a PDF or DOCX extraction (default INGEST_TIMEOUT_MS). */
  timeoutMs?: number
  /** The lane that extracts PDF and DOCX files (default: one shared by this process). */
  extractor?: Extractor
}

export const joinRecords = (records: readonly string[]): string => records.join('\n\n')

const unparseable = (mediaType: string, reason: string, extra: Record<string, unknown> = {}): SinewError =>
  new SinewError({
    code: 'unparseable_content',
    message: `The content is not valid ${mediaType}: ${reason}`,
    details: { field: 'mediaType', mediaType, reason, ...extra },
    hint: 'Check the file, or declare the media type that matches it.',
  })

/** Ingestion failed for a reason of this node (time, memory), not of the bytes: retry, never skip. */
export const isLocalIngestCode = (code: string): boolean => code === 'ingest_timeout' || code === 'ingest_failed'
/** The same, for a thrown error. */
export const isLocalIngestFailure = (e: unknown): boolean => isSinewError(e) && isLocalIngestCode(e.code)

function decodeUtf8(bytes: Uint8Array, mediaType: string): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  } catch {
    throw unparseable(mediaType, 'it is not UTF-8 text')
  }
}

function limitText(records: string[], mediaType: string): string[] {
  let total = 0
  for (const r of records) total += r.length
  if (total > INGEST_LIMITS.maxTextChars)
    throw unparseable(mediaType, `its text is longer than ${INGEST_LIMITS.maxTextChars} characters (the limit)`, { limit: 'textChars' })
  return records
}

export async function ingest(bytes: Uint8Array, mediaType: MediaType | string, opts: IngestOptions = {}): Promise<Ingested> {
  switch (mediaType) {
    case 'text/plain':
    case 'text/markdown': {
      const text = decodeUtf8(bytes, mediaType)
      if (text.trim() === '') throw unparseable(mediaType, 'it holds no text')
      return { records: limitText([text], mediaType) }
    }
    case 'application/jsonl':
      return { records: limitText(jsonlRecords(decodeUtf8(bytes, mediaType)), mediaType) }
    case 'text/csv':
      return { records: limitText(csvRecords(decodeUtf8(bytes, mediaType)), mediaType) }
    case 'application/pdf':
    case 'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
      return { records: await (opts.extractor ?? sharedExtractor).run(bytes, mediaType, opts.timeoutMs ?? INGEST_TIMEOUT_MS) }
    default:
      throw new SinewError({ code: 'unsupported_media_type', message: `Unsupported media type ${mediaType}`, details: { field: 'mediaType', got: mediaType } })
  }
}

type WorkerAnswer = { id: number; ok: true; records: string[] } | { id: number; ok: false; reason?: string; extra?: Record<string, unknown>; crashed?: string }

/** What a lane has done: files queued or being read now, and since start, files read and how many ran out of time or failed. */
export type ExtractorStats = { queued: number; jobs: number; timeouts: number; failures: number }

/**
 * A lane of PDF/DOCX extraction: a worker thread, one job at a time, started on first use,
 * ended and replaced when a job runs out of time or memory. Referenced only while a job
 * runs, so an idle worker never keeps a process alive.
 */
export class Extractor {
  private worker: Worker | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private nextId = 0
  private readonly counts: ExtractorStats = { queued: 0, jobs: 0, timeouts: 0, failures: 0 }

  stats(): ExtractorStats {
    return { ...this.counts }
  }

  run(bytes: Uint8Array, mediaType: string, timeoutMs: number): Promise<string[]> {
    this.counts.queued++
    const job = this.queue.then(() => {
      this.counts.jobs++
      return this.runNow(bytes, mediaType, timeoutMs)
    })
    const settled = job.catch((e) => {
      if (isSinewError(e) && e.code === 'ingest_timeout') this.counts.timeouts++
      else if (isSinewError(e) && e.code === 'ingest_failed') this.counts.failures++
    })
    this.queue = settled.then(() => {
      this.counts.queued--
    })
    return job
  }

  private spawn(): Worker {
    const w = new Worker(new URL('./ingest-worker.mjs', import.meta.url), { execArgv: [], resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } })
    w.unref()
    return w
  }

  private runNow(bytes: Uint8Array, mediaType: string, timeoutMs: number): Promise<string[]> {
    if (!this.worker) this.worker = this.spawn()
    const w = this.worker
    const id = ++this.nextId
    return new Promise<string[]>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer)
        w.off('message', onMessage).off('error', onError).off('exit', onExit)
        w.unref()
      }
      const lose = (err: Error) => {
        done()
        if (this.worker === w) this.worker = undefined
        void w.terminate()
        reject(err)
      }
      const onMessage = (m: WorkerAnswer) => {
        if (m.id !== id) return
        done()
        if (m.ok) resolve(m.records)
        else if (m.reason !== undefined) reject(unparseable(mediaType, m.reason, m.extra))
        else lose(failed(mediaType, m.crashed ?? 'unknown error'))
      }
      const onError = (e: Error) => lose(failed(mediaType, e.message))
      const onExit = (code: number) => lose(failed(mediaType, `the worker exited with code ${code}`))
      const timer = setTimeout(
        () =>
          lose(
            new SinewError({
              code: 'ingest_timeout',
              message: `Reading the ${mediaType} content took over ${timeoutMs} ms`,
              details: { field: 'mediaType', mediaType, timeoutMs },
              hint: 'This node gave up on it; another try (or a faster node) may finish. If it never does, the file is hostile or broken.',
            }),
          ),
        timeoutMs,
      )
      w.on('message', onMessage).on('error', onError).on('exit', onExit)
      w.ref()
      w.postMessage({ id, mediaType, bytes, limits: INGEST_LIMITS })
    })
  }
}

const failed = (mediaType: string, reason: string) =>
  new SinewError({
    code: 'ingest_failed',
    message: `Reading the ${mediaType} content failed on this node: ${reason}`,
    details: { field: 'mediaType', mediaType, reason },
    hint: 'The extraction worker ran out of memory or crashed; it is restarted for the next file.',
  })

/** The lane of callers that name none (the CLI checking files before it uploads them). */
const sharedExtractor = new Extractor()

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
      // Only a syntax error is the line's fault; anything else (out of memory, say) is the node's.
      if (!(e instanceof SyntaxError)) throw e
      throw unparseable('application/jsonl', `line ${i + 1} is not JSON (${e.message})`, { line: i + 1 })
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
