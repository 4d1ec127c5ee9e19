/** End-to-end: the `sinew index` commands run as a separate process, as a user would. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ENTRY = resolve(import.meta.dirname, '../src/cli/main.ts')

function sinew(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, 'index', ...args], {
    encoding: 'utf8',
    input,
    cwd: resolve(import.meta.dirname, '..'),
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

let root: string
let index: string
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'sinew-cli-'))
  index = join(root, 'idx')
  const lines = [
    { id: 'a', text: 'The quick brown fox jumps over the lazy dog near the quiet river bank.' },
    { id: 'b', text: 'Tomatoes need patient watering, rich soil and plenty of summer sun to grow well.' },
    { id: 'c', text: 'A copy: the quick brown fox jumps over the lazy dog near the quiet river bank.' },
  ]
  writeFileSync(join(root, 'corpus.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n')
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

/** `sinew index build` of the corpus, once, on first use: the first test checks it, the others query it (and so also run alone). */
let built: ReturnType<typeof sinew> | undefined
const build = () => (built ??= sinew(['build', '--input', join(root, 'corpus.jsonl'), '--out', index, '--json', '--workers', '1']))

describe('sinew index CLI', () => {
  it('build --json prints the index info', () => {
    const r = build()
    expect(r.status).toBe(0)
    const info = JSON.parse(r.stdout)
    expect(info).toMatchObject({ documents: 3, formatVersion: 1, tokenizerVersion: 'sinew-tok/1', shards: 1 })
    expect(info.indexId).toMatch(/^[0-9a-f]{64}$/)
  })

  it('count, find and trace --json', () => {
    build()
    expect(JSON.parse(sinew(['count', '--index', index, '--json', 'the lazy dog']).stdout)).toEqual({ text: 'the lazy dog', count: 2 })
    expect(sinew(['count', '--index', index, 'the lazy dog']).stdout.trim()).toBe('2')
    const f = JSON.parse(sinew(['find', '--index', index, '--json', '--limit', '1', 'quiet river']).stdout)
    expect(f.count).toBe(2)
    expect(f.matches).toEqual([{ doc: 'a', position: 11, snippet: expect.stringContaining('quiet river') }])

    const out = 'Well, the quick brown fox jumps over the lazy dog today, with rich soil and plenty of summer sun.'
    const r = sinew(['trace', '--index', index, '--json', '--min-span-tokens', '4', out])
    expect(r.status).toBe(0)
    const a = JSON.parse(r.stdout)
    expect(Object.keys(a)).toEqual(['method', 'outputTokens', 'coverageBps', 'spans', 'weights'])
    expect(a.spans.map((s: { text: string; creditedTo: string; docs: string[] }) => [s.text, s.creditedTo, s.docs])).toEqual([
      ['the quick brown fox jumps over the lazy dog', 'a', ['a', 'c']],
      ['rich soil and plenty of summer sun', 'b', ['b']],
    ])
    expect(out.slice(a.spans[0].start, a.spans[0].end)).toBe(a.spans[0].text)
    expect(a.weights).toEqual([
      { doc: 'a', bps: 5625 },
      { doc: 'b', bps: 4375 },
    ])
    // same input, same bytes; text from stdin gives the same record
    expect(sinew(['trace', '--index', index, '--json', '--min-span-tokens', '4', out]).stdout).toBe(r.stdout)
    expect(sinew(['trace', '--index', index, '--json', '--min-span-tokens', '4'], out).stdout).toBe(r.stdout)
    // human output
    expect(sinew(['trace', '--index', index, '--min-span-tokens', '4', out]).stdout).toContain('coverage')
  })

  it('generate is deterministic per seed; infgram, info and verify run', () => {
    build()
    const g1 = sinew(['generate', '--index', index, '--json', '--seed', '3', '--max-tokens', '12', 'the quick'])
    const g2 = sinew(['generate', '--index', index, '--json', '--seed', '3', '--max-tokens', '12', 'the quick'])
    expect(g1.status).toBe(0)
    expect(g1.stdout).toBe(g2.stdout)
    expect(JSON.parse(g1.stdout).text.startsWith('brown fox')).toBe(true)
    const ig = JSON.parse(sinew(['infgram', '--index', index, '--json', 'over the lazy']).stdout)
    expect(ig).toEqual({ suffixTokens: 3, total: 2, next: [{ token: 'dog', count: 2 }] })
    expect(JSON.parse(sinew(['verify', '--index', index, '--json']).stdout).ok).toBe(true)
    expect(JSON.parse(sinew(['info', '--index', index, '--json']).stdout).documents).toBe(3)
  })

  it('bad input exits non-zero with a specific JSON error', () => {
    writeFileSync(join(root, 'noid.jsonl'), '{"id":"x","text":"fine"}\n{"text":"no id"}\n')
    const r = sinew(['build', '--input', join(root, 'noid.jsonl'), '--out', join(root, 'idx2'), '--json'])
    expect(r.status).toBe(1)
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'missing_document_id', details: { line: 2 } } })
    const m = sinew(['count', '--index', join(root, 'nothing'), 'x'])
    expect(m.status).toBe(1)
    expect(m.stderr).toMatch(/^error: .*\(not_found\)/)
  })
})
