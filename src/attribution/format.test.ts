import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { buildIndex, buildIndexFromPath, openIndex } from './index.ts'
import { SinewError } from '../core/index.ts'
import { decodeHeader, encodeHeader, HEADER_FILE, sha256Hex } from './format.ts'
import { TOKENIZER_VERSION } from './tokenizer.ts'

let root: string
let good: string
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'sinew-fmt-'))
  good = join(root, 'good')
  const docs = Array.from({ length: 20 }, (_, i) => ({ id: `doc-${i}`, text: `document number ${i} says hello to the world, and ${i % 3} more things.` }))
  await buildIndex(docs, good, { workers: 0, shardTokens: 100 })
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

function copy(name: string): string {
  const dir = join(root, name)
  cpSync(good, dir, { recursive: true })
  return dir
}

function code(fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SinewError)
    return (err as SinewError).code
  }
  throw new Error('expected an error')
}

async function codeAsync(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SinewError)
    return (err as SinewError).code
  }
  throw new Error('expected an error')
}

describe('opening damaged indexes fails with a specific error', () => {
  it('opens and verifies the intact index', () => {
    const idx = openIndex(good)
    expect(idx.count('hello to the world')).toBe(20)
    idx.verify()
    idx.close()
  })

  it('missing index -> not_found', () => {
    expect(code(() => openIndex(join(root, 'nope')))).toBe('not_found')
  })

  it('bad magic, wrong format version, tokenizer version, header checksum', () => {
    const a = copy('magic')
    const h = readFileSync(join(a, 'index.sinew'))
    h.write('NOTSINEW', 0, 'latin1')
    writeFileSync(join(a, 'index.sinew'), h)
    expect(code(() => openIndex(a))).toBe('index_corrupt')

    const b = copy('version')
    const hb = readFileSync(join(b, 'index.sinew'))
    hb.writeUInt32LE(99, 8)
    writeFileSync(join(b, 'index.sinew'), hb)
    const err = (() => {
      try {
        openIndex(b)
      } catch (e) {
        return e
      }
    })()
    expect(err).toBeInstanceOf(SinewError)
    expect(err).toMatchObject({ code: 'index_version_unsupported', status: 500 })

    const c = copy('flip')
    const hc = readFileSync(join(c, 'index.sinew'))
    hc[60] ^= 1 // inside the counts
    writeFileSync(join(c, 'index.sinew'), hc)
    expect(code(() => openIndex(c))).toBe('index_corrupt')

    const d = copy('trunc-header')
    truncateSync(join(d, 'index.sinew'), 100)
    expect(code(() => openIndex(d))).toBe('index_corrupt')

    // Another tokenizer version, with a valid header checksum: refused as unsupported.
    const e = copy('tokenizer')
    const he = readFileSync(join(e, 'index.sinew'))
    he.fill(0, 16, 48)
    he.write('sinew-tok/999', 16, 'latin1')
    he.write(
      createHash('sha256')
        .update(he.subarray(0, he.length - 32))
        .digest('hex'),
      he.length - 32,
      32,
      'hex',
    )
    writeFileSync(join(e, 'index.sinew'), he)
    expect(code(() => openIndex(e))).toBe('index_tokenizer_unsupported')

    // Trailing bytes after the header
    const f = copy('long-header')
    writeFileSync(join(f, 'index.sinew'), Buffer.concat([readFileSync(join(f, 'index.sinew')), Buffer.alloc(1)]))
    expect(code(() => openIndex(f))).toBe('index_corrupt')
  })

  it('missing shard file', () => {
    const a = copy('missing-shard')
    rmSync(join(a, 'shard-0002.tok'))
    expect(code(() => openIndex(a))).toBe('index_corrupt')
    expect(code(() => openIndex(a, { mode: 'paged' }))).toBe('index_corrupt')
  })

  it('paged: a bad shard file further on leaves no file of the earlier shards open; close() releases them all', () => {
    const openFiles = (): number => readdirSync('/proc/self/fd').length
    const a = copy('missing-last-shard')
    rmSync(join(a, 'shard-0002.sa')) // shards 0 and 1 open first
    const before = openFiles()
    for (let i = 0; i < 10; i++) expect(code(() => openIndex(a, { mode: 'paged' }))).toBe('index_corrupt')
    expect(openFiles()).toBe(before)
    const idx = openIndex(good, { mode: 'paged' })
    expect(openFiles()).toBeGreaterThan(before)
    expect(idx.count('hello to the world')).toBe(20)
    idx.close()
    expect(openFiles()).toBe(before)
  })

  it('truncated or corrupted shard files', () => {
    const a = copy('trunc-shard')
    truncateSync(join(a, 'shard-0001.sa'), 10)
    expect(code(() => openIndex(a))).toBe('index_corrupt')
    expect(code(() => openIndex(a, { mode: 'paged' }))).toBe('index_corrupt')

    const b = copy('flip-shard')
    const s = readFileSync(join(b, 'shard-0000.tok'))
    s[5] ^= 0x40
    writeFileSync(join(b, 'shard-0000.tok'), s)
    expect(code(() => openIndex(b))).toBe('index_corrupt') // memory mode checks checksums
    const paged = openIndex(b, { mode: 'paged' }) // paged mode opens cheaply ...
    expect(code(() => paged.verify())).toBe('index_corrupt') // ... and verify() catches it
    paged.close()

    const c = copy('sa-range')
    const sa = readFileSync(join(c, 'shard-0000.sa'))
    sa.fill(0xff, 0, 30) // out-of-range suffix array entries
    writeFileSync(join(c, 'shard-0000.sa'), sa)
    const pc = openIndex(c, { mode: 'paged' })
    expect(code(() => pc.verify())).toBe('index_corrupt')
    expect(code(() => pc.count('document number'))).toBe('index_corrupt')
    pc.close()
  })

  it('corrupted docs or vocab files', () => {
    for (const f of ['docs.bin', 'vocab.bin']) {
      const a = copy('c-' + f)
      const buf = readFileSync(join(a, f))
      buf[buf.length - 1] ^= 1
      writeFileSync(join(a, f), buf)
      expect(code(() => openIndex(a))).toBe('index_corrupt')
      const b = copy('t-' + f)
      truncateSync(join(b, f), 3)
      expect(code(() => openIndex(b))).toBe('index_corrupt')
    }
  })
  it('a crafted index whose document id or vocab token is not UTF-8, with the header re-sealed over it: index_corrupt, not a TypeError (found by the fuzzer)', () => {
    for (const f of ['docs.bin', 'vocab.bin']) {
      const dir = copy('utf8-' + f)
      const buf = readFileSync(join(dir, f))
      buf[buf.length - 1] = 0xff // the last byte of the last id or token: never UTF-8
      writeFileSync(join(dir, f), buf)
      const header = decodeHeader(readFileSync(join(dir, HEADER_FILE)), TOKENIZER_VERSION)
      if (f === 'docs.bin') header.docsSha256 = sha256Hex(buf)
      else header.vocabSha256 = sha256Hex(buf)
      writeFileSync(join(dir, HEADER_FILE), encodeHeader(header))
      expect(code(() => openIndex(dir))).toBe('index_corrupt')
    }
  })
})

describe('bad corpus input fails with a specific error', () => {
  const jsonl = (name: string, content: string | Buffer): string => {
    const p = join(root, name)
    writeFileSync(p, content)
    return p
  }

  it('empty corpus', async () => {
    expect(await codeAsync(() => buildIndex([], join(root, 'o1')))).toBe('empty_corpus')
    expect(await codeAsync(() => buildIndexFromPath(jsonl('empty.jsonl', '\n\n'), join(root, 'o2')))).toBe('empty_corpus')
    expect(await codeAsync(() => buildIndex([{ id: 'a', text: '  ' }], join(root, 'o3')))).toBe('empty_corpus')
    mkdirSync(join(root, 'emptydir'))
    expect(await codeAsync(() => buildIndexFromPath(join(root, 'emptydir'), join(root, 'o4')))).toBe('empty_corpus')
  })

  it('invalid UTF-8, missing id, bad JSON, duplicate ids, missing input', async () => {
    const bad = Buffer.concat([Buffer.from('{"id":"a","text":"ok"}\n{"id":"b","text":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')])
    expect(await codeAsync(() => buildIndexFromPath(jsonl('bad-utf8.jsonl', bad), join(root, 'o5')))).toBe('invalid_utf8')
    expect(await codeAsync(() => buildIndexFromPath(jsonl('noid.jsonl', '{"id":"a","text":"x"}\n{"text":"y"}\n'), join(root, 'o6')))).toBe(
      'missing_document_id',
    )
    expect(await codeAsync(() => buildIndexFromPath(jsonl('notext.jsonl', '{"id":"a"}\n'), join(root, 'o7')))).toBe('missing_document_text')
    expect(await codeAsync(() => buildIndexFromPath(jsonl('badjson.jsonl', '{"id":"a","text":"x"}\n{oops\n'), join(root, 'o8')))).toBe('invalid_jsonl')
    expect(await codeAsync(() => buildIndexFromPath(jsonl('dup.jsonl', '{"id":"a","text":"x"}\n{"id":"a","text":"y"}\n'), join(root, 'o9')))).toBe(
      'duplicate_document_id',
    )
    expect(await codeAsync(() => buildIndexFromPath(join(root, 'missing.jsonl'), join(root, 'o10')))).toBe('corpus_not_found')
    const err = await buildIndexFromPath(jsonl('noid2.jsonl', '{"id":"a","text":"x"}\n{"text":"y"}\n'), join(root, 'o11')).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(SinewError)
    expect(err).toMatchObject({ code: 'missing_document_id', status: 400, details: { line: 2 } })
  })

  it('more malformed documents: empty or non-string id, non-object line, non-string text, cut UTF-8 at the end', async () => {
    expect(await codeAsync(() => buildIndexFromPath(jsonl('emptyid.jsonl', '{"id":"","text":"x"}\n'), join(root, 'o14')))).toBe('missing_document_id')
    expect(await codeAsync(() => buildIndexFromPath(jsonl('numid.jsonl', '{"id":7,"text":"x"}\n'), join(root, 'o15')))).toBe('missing_document_id')
    expect(await codeAsync(() => buildIndexFromPath(jsonl('array.jsonl', '["a","x"]\n'), join(root, 'o16')))).toBe('invalid_jsonl')
    expect(await codeAsync(() => buildIndexFromPath(jsonl('numtext.jsonl', '{"id":"a","text":5}\n'), join(root, 'o17')))).toBe('missing_document_text')
    const cut = Buffer.concat([Buffer.from('{"id":"a","text":"caf'), Buffer.from([0xc3])])
    expect(await codeAsync(() => buildIndexFromPath(jsonl('cut-utf8.jsonl', cut), join(root, 'o18')))).toBe('invalid_utf8')
    expect(await codeAsync(() => buildIndex([{ id: 'a', text: 'x' }, { text: 'y' } as never], join(root, 'o19'), { workers: 0 }))).toBe('missing_document_id')
    const dir = join(root, 'bad-utf8-dir')
    mkdirSync(dir)
    writeFileSync(join(dir, 'a.txt'), 'fine text')
    writeFileSync(join(dir, 'b.txt'), Buffer.from([0x61, 0xff, 0x62]))
    expect(await codeAsync(() => buildIndexFromPath(dir, join(root, 'o20'), { workers: 0 }))).toBe('invalid_utf8')
  })

  it('a failed build leaves no openable index behind', async () => {
    const out = join(root, 'o12')
    await buildIndex([{ id: 'a', text: 'hello' }], out, { workers: 0 })
    await expect(
      buildIndex(
        [
          { id: 'a', text: 'x' },
          { id: 'a', text: 'y' },
        ],
        out,
        { workers: 0 },
      ),
    ).rejects.toThrow(/duplicate/)
    expect(code(() => openIndex(out))).toBe('not_found')
  })

  it('builds from a directory of .txt/.md files with relative-path ids in code-unit order', async () => {
    const dir = join(root, 'corpus-dir')
    mkdirSync(join(dir, 'sub'), { recursive: true })
    writeFileSync(join(dir, 'b.txt'), 'second file text')
    writeFileSync(join(dir, 'a.md'), '# first file text')
    writeFileSync(join(dir, 'sub', 'c.txt'), 'third file text')
    writeFileSync(join(dir, 'ignored.bin'), 'file text')
    await buildIndexFromPath(dir, join(root, 'o13'), { workers: 0 })
    const idx = openIndex(join(root, 'o13'))
    expect(idx.info.documents).toBe(3)
    expect(idx.find('file text').matches.map((m) => m.doc)).toEqual(['a.md', 'b.txt', 'sub/c.txt'])
    idx.close()
  })
})
