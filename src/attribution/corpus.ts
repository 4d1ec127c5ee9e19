/**
 * Corpus readers for the builder: a JSONL file (`{"id": "...", "text": "..."}` per line)
 * or a directory of .txt/.md files (id = relative path with '/' separators, files in
 * code-unit order of that path). Both stream: only the current chunk or file is held.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { SinewError } from '../core/index.ts'

export type Doc = { id: string; text: string }

export type Source = {
  docs: AsyncIterable<Doc>
  /** Bytes consumed so far and the total, for progress. */
  bytesRead: () => number
  totalBytes: number
}

const CHUNK = 8 << 20

export async function openSource(input: string): Promise<Source> {
  let st
  try {
    st = await stat(input)
  } catch {
    throw new SinewError({ code: 'corpus_not_found', message: `corpus not found: ${input}`, details: { input } })
  }
  if (st.isDirectory()) return directorySource(input)
  return jsonlSource(input, st.size)
}

function jsonlSource(file: string, totalBytes: number): Source {
  let read = 0
  async function* docs(): AsyncGenerator<Doc> {
    const fh = await open(file, 'r')
    const dec = new TextDecoder('utf-8', { fatal: true })
    const buf = Buffer.allocUnsafe(CHUNK)
    let carry = ''
    let line = 0
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null)
        let text: string
        try {
          text = bytesRead === 0 ? dec.decode() : dec.decode(buf.subarray(0, bytesRead), { stream: true })
        } catch {
          throw new SinewError({
            code: 'invalid_utf8',
            message: `corpus is not valid UTF-8 (after line ${line})`,
            details: { file, afterLine: line, nearByte: read },
          })
        }
        read += bytesRead
        text = carry + text
        let from = 0
        for (;;) {
          const nl = text.indexOf('\n', from)
          if (nl < 0) break
          line++
          const doc = parseLine(text.slice(from, nl), line, file)
          if (doc) yield doc
          from = nl + 1
        }
        carry = text.slice(from)
        if (bytesRead === 0) break
      }
      if (carry.length > 0) {
        const doc = parseLine(carry, line + 1, file)
        if (doc) yield doc
      }
    } finally {
      await fh.close()
    }
  }
  return { docs: docs(), bytesRead: () => read, totalBytes }
}

function parseLine(raw: string, line: number, file: string): Doc | undefined {
  const s = raw.endsWith('\r') ? raw.slice(0, -1) : raw
  if (s.trim() === '') return undefined
  let v: unknown
  try {
    v = JSON.parse(s)
  } catch (err) {
    throw new SinewError({
      code: 'invalid_jsonl',
      message: `line ${line} is not valid JSON`,
      details: { file, line, reason: (err as Error).message },
      hint: 'Each line must be a JSON object {"id": "...", "text": "..."}.',
    })
  }
  return checkDoc(v, `line ${line}`, { file, line })
}

/** Validates one document object; `where` names it in errors. */
export function checkDoc(v: unknown, where: string, details: Record<string, unknown> = {}): Doc {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new SinewError({ code: 'invalid_jsonl', message: `${where} is not a JSON object`, details })
  }
  const o = v as Record<string, unknown>
  if (typeof o.id !== 'string' || o.id === '') {
    throw new SinewError({ code: 'missing_document_id', message: `${where} has no "id" string`, details, hint: 'Every document needs a non-empty string id.' })
  }
  if (typeof o.text !== 'string') {
    throw new SinewError({ code: 'missing_document_text', message: `${where} has no "text" string`, details: { ...details, id: o.id } })
  }
  return { id: o.id, text: o.text }
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = []
  async function walk(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true })
    for (const e of entries) {
      const p = join(dir, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile() && /\.(txt|md)$/i.test(e.name)) out.push(relative(root, p).split(sep).join('/'))
    }
  }
  await walk(root)
  // Code-unit order, not locale order: the build order must not depend on the machine.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
}

function directorySource(root: string): Source {
  let read = 0
  let total = 0
  const files = listFiles(root)
  async function* docs(): AsyncGenerator<Doc> {
    const list = await files
    const dec = new TextDecoder('utf-8', { fatal: true })
    for (const id of list) {
      const bytes = await readFile(join(root, ...id.split('/')))
      let text: string
      try {
        text = dec.decode(bytes)
      } catch {
        throw new SinewError({ code: 'invalid_utf8', message: `file is not valid UTF-8: ${id}`, details: { file: id } })
      }
      read += bytes.length
      yield { id, text }
    }
  }
  void files
    .then(async (list) => {
      for (const f of list) total += (await stat(join(root, ...f.split('/')))).size
    })
    .catch(() => {})
  return {
    docs: docs(),
    bytesRead: () => read,
    get totalBytes() {
      return total
    },
  }
}
