import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { makeDocx, makePdf } from './fixtures.ts'
import { ingest, INGEST_LIMITS, INGEST_PARSERS, INGEST_RULES, isLocalIngestFailure, parseCsv } from './ingest.ts'
import { isNodeLimitError } from './office-extract.mjs'

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e) => e.code,
  )

describe('ingest', () => {
  it('text and markdown are one record each', async () => {
    expect(await ingest(Buffer.from('\ufeffhello world'), 'text/plain')).toEqual({ records: ['hello world'] })
    expect((await ingest(Buffer.from('# T\n\nbody'), 'text/markdown')).records).toHaveLength(1)
  })
  it('jsonl is a record per line: strings, text fields, else the JSON line', async () => {
    const r = await ingest(Buffer.from('"a"\n{"text":"b","x":1}\n\n{"y":2}\r\n'), 'application/jsonl')
    expect(r.records).toEqual(['a', 'b', '{"y":2}'])
  })
  it('csv is a record per data row, quotes and newlines included', async () => {
    expect(parseCsv('a,b\r\n"x, ""y""","line\nbreak"\n')).toEqual([
      ['a', 'b'],
      ['x, "y"', 'line\nbreak'],
    ])
    const r = await ingest(Buffer.from('name,text\nann,hello\nbob,"hi, there"\n'), 'text/csv')
    expect(r.records).toEqual(['name: ann\ntext: hello', 'name: bob\ntext: hi, there'])
  })
  it('pdf pages and docx text are extracted', async () => {
    const pdf = await ingest(makePdf(['The quick brown fox', 'jumps over (the) lazy dog']), 'application/pdf')
    expect(pdf.records).toHaveLength(1)
    expect(pdf.records[0]).toContain('The quick brown fox')
    expect(pdf.records[0]).toContain('jumps over (the) lazy dog')
    const docx = await ingest(makeDocx(['First paragraph here.', 'Second & last.']), DOCX)
    expect(docx.records[0]).toBe('First paragraph here.\n\nSecond & last.')
  })
  it('unparseable content gets unparseable_content', async () => {
    expect(await code(ingest(Buffer.from('not a pdf at all'), 'application/pdf'))).toBe('unparseable_content')
    expect(await code(ingest(Buffer.from('PK not a zip'), DOCX))).toBe('unparseable_content')
    expect(await code(ingest(Buffer.from('a,b\n"open,2\n'), 'text/csv'))).toBe('unparseable_content')
    expect(await code(ingest(Buffer.from('a,b\n1,2,3\n'), 'text/csv'))).toBe('unparseable_content')
    expect(await code(ingest(Buffer.from('{"a":1}\n{oops\n'), 'application/jsonl'))).toBe('unparseable_content')
    expect(await code(ingest(Buffer.from([0xff, 0xfe, 0x00]), 'text/plain'))).toBe('unparseable_content')
  })
})

describe('ingest limits: hostile files are refused by rule, the same way on every node', () => {
  it('a DOCX zip bomb is refused at the expansion limit, without inflating it all', async () => {
    const bomb = makeDocx(['hello'], { padding: INGEST_LIMITS.maxExpandedBytes + 1024 })
    expect(bomb.length).toBeLessThan(INGEST_LIMITS.maxExpandedBytes / 100)
    const err = await ingest(bomb, DOCX).then(
      () => undefined,
      (e) => e,
    )
    expect(err?.code).toBe('unparseable_content')
    expect(err.details.reason).toBe(`the archive expands to more than ${INGEST_LIMITS.maxExpandedBytes} bytes (the limit)`)
    // Deflated but within the limit: read as before.
    expect((await ingest(makeDocx(['padded but fine'], { padding: 1000 }), DOCX)).records).toEqual(['padded but fine'])
  })
  it('a PDF of more pages than the limit is refused before its pages are read', async () => {
    const err = await ingest(makePdf(['page after page'], { pages: INGEST_LIMITS.maxPages + 1 }), 'application/pdf').then(
      () => undefined,
      (e) => e,
    )
    expect(err?.code).toBe('unparseable_content')
    expect(err.details.reason).toBe(`it has ${INGEST_LIMITS.maxPages + 1} pages, over the limit of ${INGEST_LIMITS.maxPages}`)
  })
  it('running out of time is a local failure, not a property of the bytes; the next file is read by a fresh worker', async () => {
    // Hundreds of pages: far more than 1 ms of parsing, even for a warm worker on a fast machine
    // (a one-page PDF sometimes came back within the 1 ms and the test saw no timeout).
    const err = await ingest(makePdf(['slow'], { pages: Math.min(500, INGEST_LIMITS.maxPages) }), 'application/pdf', { timeoutMs: 1 }).then(
      () => undefined,
      (e) => e,
    )
    expect(err?.code).toBe('ingest_timeout')
    expect(isLocalIngestFailure(err)).toBe(true)
    expect((await ingest(makePdf(['after the timeout']), 'application/pdf')).records).toEqual(['after the timeout'])
  })

  it("running out of stack or memory in a parser is the node's, never a verdict on the bytes", () => {
    const deep = (n: number): number => (n === 0 ? 0 : 1 + deep(n - 1))
    let overflow: unknown
    try {
      deep(1e7)
    } catch (e) {
      overflow = e
    }
    expect(isNodeLimitError(overflow)).toBe(true)
    // pdf.js hands on its internal errors by message.
    expect(isNodeLimitError(Object.assign(new Error('Maximum call stack size exceeded'), { name: 'UnknownErrorException' }))).toBe(true)
    expect(isNodeLimitError(new Error('Array buffer allocation failed'))).toBe(true)
    expect(isNodeLimitError(new Error('Invalid PDF structure.'))).toBe(false)
    expect(isNodeLimitError(new Error("Can't find end of central directory : is this a zip file ?"))).toBe(false)
  })
  it('the rules name the exact parser versions, and package.json pins them without a range', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
    for (const [name, version] of Object.entries(INGEST_PARSERS)) {
      expect(pkg.dependencies[name]).toBe(version)
      expect(INGEST_RULES).toContain(`${name}@${version}`)
    }
  })
})
