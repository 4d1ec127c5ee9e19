import { describe, expect, it } from 'vitest'
import { makeDocx, makePdf } from './fixtures.ts'
import { ingest, INGEST_LIMITS, isLocalIngestFailure, parseCsv } from './ingest.ts'

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
    const err = await ingest(makePdf(['slow']), 'application/pdf', { timeoutMs: 1 }).then(
      () => undefined,
      (e) => e,
    )
    expect(err?.code).toBe('ingest_timeout')
    expect(isLocalIngestFailure(err)).toBe(true)
    expect((await ingest(makePdf(['after the timeout']), 'application/pdf')).records).toEqual(['after the timeout'])
  })
})
