/**
 * Target `blobs`: contents for every media type a Datanet accepts, uploaded and contributed
 * through the node as a client does (sign Contribute, PUT /v1/blobs with it as permit, POST
 * /v1/datanets/:id/contributions) to a Datanet that accepts them all. Per type: hostile
 * text (bad UTF-8, BOMs, NULs, ragged CSV, JSONL of non-objects); PDFs made from hostile
 * text, hand-made hostile ones (xref loops, a page tree that names itself, a /Count in the
 * billions, deep nesting, junk streams, no trailer) and byte-level mutations of both;
 * DOCX made from hostile text, zip bombs (over the expansion limit, and many entries),
 * broken archives, XML entity bombs and byte-level mutations. Sometimes the declared type
 * is another than the bytes'.
 *
 * Checked on top of the node invariants (harness.ts): the node takes a contribution exactly
 * when `ingest` (called here, in this process) reads the bytes as their declared type, and
 * refuses it with `unparseable_content` exactly when ingest does.
 */
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import type { Hex } from '../../../src/core/index.ts'
import { ALL_MEDIA_TYPES, INGEST_LIMITS, ingest, type MediaType } from '../../../src/datanets/index.ts'
import { makeDocx, makePdf, makeZip } from '../../../src/datanets/fixtures.ts'
import { addressOf } from '../../../src/ledger/index.ts'
import { datanetsClient } from '../../datanets-fixtures.ts'
import { dev } from '../../helpers.ts'
import { hostileString } from '../arbitraries.ts'
import { InvariantViolation, errorCode, outcomeOf, postJson, type FuzzTarget } from '../harness.ts'
import { startFuzzNode, uploadBlob, type FuzzNode } from '../node-setup.ts'

const PDF = 'application/pdf' satisfies MediaType
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' satisfies MediaType

/** Hand-made PDFs a parser can trip on: each a complete file, not a mutation. */
const HOSTILE_PDFS: Record<string, () => Buffer> = {
  'xref loop': () =>
    Buffer.from(
      '%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\nxref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R /Prev 9 >>\nstartxref\n9\n%%EOF\n',
      'latin1',
    ),
  'page tree names itself': () =>
    Buffer.from(
      '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [2 0 R] /Count 1 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n',
      'latin1',
    ),
  'count in the billions': () => Buffer.from(makePdf(['one page']).toString('latin1').replace('/Count 1', '/Count 4294967295'), 'latin1'),
  'deep nesting': () => Buffer.from(`%PDF-1.4\n1 0 obj ${'['.repeat(100_000)}${']'.repeat(100_000)} endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`, 'latin1'),
  'deep dictionaries': () =>
    Buffer.from(`%PDF-1.4\n1 0 obj ${'<< /A '.repeat(20_000)}1${' >>'.repeat(20_000)} endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`, 'latin1'),
  'junk flate stream': () =>
    Buffer.from(
      makePdf(['x'])
        .toString('latin1')
        .replace(/<< \/Length (\d+) >>/, '<< /Length $1 /Filter /FlateDecode >>'),
      'latin1',
    ),
  'huge length': () =>
    Buffer.from(
      makePdf(['x'])
        .toString('latin1')
        .replace(/\/Length \d+/, '/Length 999999999999'),
      'latin1',
    ),
  'no trailer': () => {
    const s = makePdf(['no trailer here']).toString('latin1')
    return Buffer.from(s.slice(0, s.indexOf('xref')), 'latin1')
  },
  'encrypted with no key': () =>
    Buffer.from(
      makePdf(['secret']).toString('latin1').replace('/Root 1 0 R', '/Root 1 0 R /Encrypt << /Filter /Standard /V 5 /R 6 /O <00> /U <00> >>'),
      'latin1',
    ),
  'only a header': () => Buffer.from('%PDF-1.7\n', 'latin1'),
  'javascript action': () =>
    Buffer.from(makePdf(['x']).toString('latin1').replace('/Type /Catalog', '/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>'), 'latin1'),
}

/** Built once: a zip bomb is costly to deflate and the same every time. */
let bombs: Record<string, Buffer> | undefined
function hostileDocxs(): Record<string, Buffer> {
  bombs ??= {
    'zip bomb over the expansion limit': makeDocx(['boom'], { padding: INGEST_LIMITS.maxExpandedBytes + 1 }),
    'zip bomb at the expansion limit, less the rest': makeDocx(['fits'], { padding: INGEST_LIMITS.maxExpandedBytes - 4096 }),
    'more entries than the limit': makeZip(Object.fromEntries(Array.from({ length: INGEST_LIMITS.maxEntries + 1 }, (_, i) => [`e${i}`, '']))),
    'entity bomb': makeZip({
      '[Content_Types].xml': '<?xml version="1.0"?><Types/>',
      'word/document.xml': `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "${'a'.repeat(100)}">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${String.fromCharCode(98 + i)} "${`&${String.fromCharCode(97 + i)};`.repeat(10)}">`).join('')}]><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&j;</w:t></w:r></w:p></w:body></w:document>`,
    }),
    'no document.xml': makeZip({ '[Content_Types].xml': '<Types/>' }),
    'traversal entry names': makeZip({ '../../../../tmp/evil': 'x', '/etc/passwd': 'y', 'word/document.xml': '<w:document/>' }),
    'deep xml': makeZip({ 'word/document.xml': `${'<w:p>'.repeat(50_000)}${'</w:p>'.repeat(50_000)}` }, { deflate: true }),
    'zip in a zip': makeZip({ 'word/document.xml': makeDocx(['inner']) }),
    'empty zip': makeZip({}),
  }
  return bombs
}

/** A byte-level mutation: truncate, flip bytes, splice junk in. */
const mutateBytes = (base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> =>
  fc
    .tuple(
      base,
      fc.array(
        fc.record({
          op: fc.constantFrom('truncate', 'flip', 'splice'),
          at: fc.double({ min: 0, max: 1, noNaN: true }),
          junk: fc.uint8Array({ minLength: 1, maxLength: 16 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([b, edits]) => {
      let out = Buffer.from(b)
      for (const e of edits) {
        const at = Math.floor(e.at * out.length)
        if (e.op === 'truncate') out = out.subarray(0, at)
        else if (e.op === 'flip' && out.length > 0) out[Math.min(at, out.length - 1)] ^= e.junk[0] || 1
        else out = Buffer.concat([out.subarray(0, at), Buffer.from(e.junk), out.subarray(at)])
      }
      return out
    })

const lines = fc.array(hostileString(120), { minLength: 1, maxLength: 6 })

/** Bytes generated for one media type. */
export function contentOf(type: MediaType): fc.Arbitrary<Buffer> {
  // (every MediaType has a case below)
  const utf8 = (a: fc.Arbitrary<string>) => a.map((s) => Buffer.from(s, 'utf8'))
  switch (type) {
    case 'text/plain':
    case 'text/markdown':
      return fc.oneof(
        utf8(hostileString(400)),
        utf8(hostileString(200).map((s) => `\ufeff${s}`)),
        fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
        fc.constantFrom(Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xef, 0xbb, 0xbf]), Buffer.alloc(0), Buffer.alloc(64, 0)),
      )
    case 'application/jsonl':
      return fc.oneof(
        utf8(
          fc
            .array(
              fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
              { maxLength: 8 },
            )
            .map((l) => l.join('\n')),
        ),
        utf8(
          fc
            .array(fc.oneof(hostileString(60), fc.constantFrom('{', '{"text":1}', '[]', '""', '{"text":"\\ud800"}', '   ')), { maxLength: 6 })
            .map((l) => l.join('\n')),
        ),
        utf8(fc.array(fc.record({ text: hostileString(80) }), { minLength: 1, maxLength: 6 }).map((l) => l.map((o) => JSON.stringify(o)).join('\r\n'))),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      )
    case 'text/csv':
      return fc.oneof(
        utf8(
          fc
            .array(fc.array(fc.oneof(hostileString(30), fc.constantFrom('"', '""', '"a,b"', '"unclosed', '\r', '\n', ',')), { maxLength: 5 }), { maxLength: 8 })
            .map((rows) => rows.map((r) => r.join(',')).join('\n')),
        ),
        utf8(fc.constantFrom('', 'a,b\n', 'a,b\n1,2,3\n', 'a\n"x\n', '\ufeffa,b\n1,2', 'a,a,a\n1,2,3')),
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      )
    case PDF: {
      const made = fc.tuple(lines, fc.integer({ min: 1, max: 30 })).map(([l, pages]) => makePdf(l, { pages }))
      const hostile = fc.constantFrom(...Object.keys(HOSTILE_PDFS)).map((k) => HOSTILE_PDFS[k]())
      return fc.oneof({ weight: 3, arbitrary: made }, { weight: 2, arbitrary: hostile }, { weight: 3, arbitrary: mutateBytes(fc.oneof(made, hostile)) })
    }
    case DOCX: {
      const made = lines.map((l) => makeDocx(l))
      const hostile = fc.constantFrom(...Object.keys(hostileDocxs())).map((k) => hostileDocxs()[k])
      return fc.oneof({ weight: 3, arbitrary: made }, { weight: 2, arbitrary: hostile }, { weight: 3, arbitrary: mutateBytes(fc.oneof(made, hostile)) })
    }
    default:
      throw new Error(`no content generator for ${type satisfies never}`)
  }
}

export type BlobCase = { made: MediaType; declared: MediaType; bytes: Buffer; author: number }

export const blobCaseArb = (authors: number): fc.Arbitrary<BlobCase> =>
  fc.constantFrom(...ALL_MEDIA_TYPES).chain((made) =>
    fc.record({
      made: fc.constant(made),
      declared: fc.oneof({ weight: 6, arbitrary: fc.constant(made) }, { weight: 1, arbitrary: fc.constantFrom(...ALL_MEDIA_TYPES) }),
      bytes: contentOf(made).filter((b) => b.length > 0),
      author: fc.nat({ max: authors - 1 }),
    }),
  )

/** Funded authors; the node's upload quotas are lifted so every case reaches ingestion. */
/** Large enough for every generated file (the zip bombs are small; their inflation is the attack). */
const MAX_BLOB_BYTES = 16 * 1024 * 1024

const AUTHORS: Hex[] = dev.slice(2, 8).map((a) => a.privateKey)

export const blobsTarget: FuzzTarget<BlobCase> = {
  name: 'blobs',
  description: 'contents for every media type (hostile text, PDFs, DOCX incl. zip bombs, mutated bytes), uploaded and contributed',
  async setup() {
    // Deflating the bombs takes a while and blocks this process (the node in it too): do it before the node starts.
    hostileDocxs()
    const f = await startFuzzNode({ overrides: { maxBlobBytes: MAX_BLOB_BYTES, blobQuotaBytes: 1e12, blobNodeQuotaBytes: 1e13 }, seed: false })
    const c = await datanetsClient(f.url)
    const created = await c.submit(dev[1].privateKey, 'CreateDatanet', {
      name: 'fuzz-blobs',
      description: 'every media type',
      license: 'CC0-1.0',
      mediaTypes: [...ALL_MEDIA_TYPES],
      maxSize: String(MAX_BLOB_BYTES),
      stake: '0',
    })
    if (created.status !== 200) {
      await f.close()
      throw new InvariantViolation('fuzz blobs: CreateDatanet failed', { body: created.json })
    }
    const datanet = created.json.receipt.result.datanet as string
    return { arbitrary: blobCaseArb(AUTHORS.length), run: (bc) => runBlobCase(f, datanet, bc), close: () => f.close() }
  },
}

/** What `ingest` says of some bytes as a media type, here in this process; memoised (the hostile files recur). */
const verdicts = new Map<string, Promise<string>>()
function oracle(bytes: Buffer, mediaType: MediaType): Promise<string> {
  const key = `${createHash('sha256').update(bytes).digest('hex')}:${mediaType}`
  let v = verdicts.get(key)
  if (!v) {
    v = ingest(bytes, mediaType).then(
      () => 'ok',
      (e: { code?: string }) => e.code ?? 'thrown',
    )
    if (verdicts.size < 10_000) verdicts.set(key, v)
  }
  return v
}

async function runBlobCase(f: FuzzNode, datanet: string, bc: BlobCase): Promise<string> {
  const key = AUTHORS[bc.author]
  const touched = new Set([addressOf(key).toLowerCase()])
  const before = await f.watch.snapshot(touched, { alive: false })
  const contentHash = `0x${createHash('sha256').update(bc.bytes).digest('hex')}`
  const nonce = f.nonceOf(addressOf(key)).toString()
  const tx = await f.sign(key, 'Contribute', { datanet, contentHash, title: 'fuzz', mediaType: bc.declared, size: String(bc.bytes.length), nonce })
  const what = { made: bc.made, declared: bc.declared, size: bc.bytes.length, head: bc.bytes.subarray(0, 64).toString('latin1') }
  const up = await uploadBlob(f.url, bc.bytes, tx)
  f.watch.checkAnswer(up, { ...what, step: 'upload' })
  const answer = up.status < 300 ? await postJson(f.url, `/v1/datanets/${datanet}/contributions`, tx) : up
  f.watch.checkAnswer(answer, what)
  const after = await f.watch.snapshot(touched)
  const accepted = answer.status === 200
  if (accepted) f.watch.checkSupply(what)
  else f.watch.checkUnchanged(before, after, what)

  // The oracle: ingest the same bytes here. A 5xx-free refusal other than unparseable_content
  // (a duplicate of content contributed before) says nothing about the bytes.
  const code = errorCode(answer)
  if (accepted || code === 'unparseable_content') {
    const verdict = await oracle(bc.bytes, bc.declared)
    if (accepted !== (verdict === 'ok')) {
      throw new InvariantViolation(
        `the node ${accepted ? 'took' : 'refused'} a contribution that ingest ${verdict === 'ok' ? 'reads' : `refuses (${verdict})`}`,
        { request: what, answer: answer.text.slice(0, 500) },
      )
    }
  }
  return `${bc.made === bc.declared ? bc.made : `${bc.made} as ${bc.declared}`}: ${outcomeOf(answer)}${up.status >= 300 ? ' (upload)' : ''}`
}
