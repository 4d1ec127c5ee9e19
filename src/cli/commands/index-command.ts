/**
 * `sinew index ...`: build a Proof of Attribution index and query it from the shell.
 * Human output by default, `--json` for machines (`trace --json` is the attribution record
 * the gateway stores). Mounted by src/cli/main.ts (`sinew index ...`), which also prints
 * errors with their codes.
 */
import { Command, InvalidArgumentError } from 'commander'
import cliProgress from 'cli-progress'
import { readFileSync } from 'node:fs'

import { buildIndexFromPath, openIndex, type BuildProgress } from '../../attribution/index.ts'

function positiveInt(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v)
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`)
    return n
  }
}

function nonNegativeNumber(v: string): number {
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0')
  return n
}

/** The text argument, or stdin when it is omitted or "-". */
function textArg(text: string | undefined): string {
  if (text === undefined || text === '-') return readFileSync(0, 'utf8')
  return text
}

const out = (s: string): void => {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n')
}
const json = (v: unknown): void => out(JSON.stringify(v))

function progressReporter(enabled: boolean): { onProgress?: (p: BuildProgress) => void; stop: () => void } {
  if (!enabled) return { stop: () => {} }
  const bar = new cliProgress.SingleBar(
    { format: '{phase} [{bar}] {percentage}% | {value}/{total}', stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  )
  let phase = ''
  return {
    onProgress: (p) => {
      if (p.phase !== phase) {
        if (phase) bar.stop()
        phase = p.phase
        bar.start(Math.max(1, p.total), 0, { phase: p.phase.padEnd(8) })
      }
      bar.setTotal(Math.max(1, p.total, p.done))
      bar.update(p.done, { phase: p.phase.padEnd(8) })
    },
    stop: () => {
      if (phase) bar.stop()
    },
  }
}

export function indexCommand(): Command {
  const cmd = new Command('index').description('Proof of Attribution index: build it, count, find, trace and generate')

  cmd
    .command('build')
    .description('build an index from a .jsonl file ({"id","text"} per line) or a directory of .txt/.md files')
    .requiredOption('--input <path>', 'corpus.jsonl or a directory')
    .requiredOption('--out <dir>', 'output directory')
    .option('--workers <n>', 'worker threads (0 = build on the main thread)', positiveInt('workers', 0))
    .option('--shard-tokens <n>', 'maximum tokens per shard', positiveInt('shard-tokens', 2))
    .option('--json', 'print the index info as JSON')
    .action(async (o: { input: string; out: string; workers?: number; shardTokens?: number; json?: boolean }) => {
      const t0 = performance.now()
      const progress = progressReporter(!o.json && process.stderr.isTTY === true)
      let info
      try {
        info = await buildIndexFromPath(o.input, o.out, { workers: o.workers, shardTokens: o.shardTokens, onProgress: progress.onProgress })
      } finally {
        progress.stop()
      }
      const seconds = (performance.now() - t0) / 1000
      if (o.json) return json({ ...info, seconds: Math.round(seconds * 1000) / 1000 })
      out(
        [
          `index ${info.dir}`,
          `  documents ${info.documents}, tokens ${info.tokens}, vocabulary ${info.vocab}, shards ${info.shards}`,
          `  ${info.bytesOnDisk} bytes on disk (${(info.bytesOnDisk / info.tokens).toFixed(2)} bytes/token)`,
          `  built in ${seconds.toFixed(1)} s (${(info.tokens / 1e6 / seconds).toFixed(2)} M tokens/s)`,
          `  id ${info.indexId}`,
        ].join('\n'),
      )
    })

  cmd
    .command('info')
    .description('show an index header')
    .requiredOption('--index <dir>', 'index directory')
    .option('--json', 'JSON output')
    .action((o: { index: string; json?: boolean }) => {
      const idx = openIndex(o.index, { mode: 'paged' })
      try {
        if (o.json) return json(idx.info)
        for (const [k, v] of Object.entries(idx.info)) out(`${k.padEnd(16)} ${v}`)
      } finally {
        idx.close()
      }
    })

  cmd
    .command('verify')
    .description('check every checksum and value range of an index')
    .requiredOption('--index <dir>', 'index directory')
    .option('--json', 'JSON output')
    .action((o: { index: string; json?: boolean }) => {
      const idx = openIndex(o.index, { mode: 'paged' })
      try {
        idx.verify()
        if (o.json) json({ ok: true, indexId: idx.info.indexId })
        else out(`ok ${idx.info.indexId}`)
      } finally {
        idx.close()
      }
    })

  cmd
    .command('count')
    .description('occurrences of a text (as canonical tokens) in the index')
    .requiredOption('--index <dir>', 'index directory')
    .option('--json', 'JSON output')
    .argument('[text]', 'text to count ("-" or omitted: stdin)')
    .action((text: string | undefined, o: { index: string; json?: boolean }) => {
      const idx = openIndex(o.index)
      try {
        const t = textArg(text)
        const count = idx.count(t)
        if (o.json) json({ text: t, count })
        else out(String(count))
      } finally {
        idx.close()
      }
    })

  cmd
    .command('find')
    .description('documents and positions where a text occurs')
    .requiredOption('--index <dir>', 'index directory')
    .option('--limit <n>', 'maximum matches', positiveInt('limit', 0), 10)
    .option('--json', 'JSON output')
    .argument('[text]', 'text to find ("-" or omitted: stdin)')
    .action((text: string | undefined, o: { index: string; limit: number; json?: boolean }) => {
      const idx = openIndex(o.index)
      try {
        const r = idx.find(textArg(text), { limit: o.limit })
        if (o.json) return json(r)
        out(`${r.count} occurrence${r.count === 1 ? '' : 's'}`)
        for (const m of r.matches) out(`  ${m.doc} @${m.position}: ${m.snippet}`)
      } finally {
        idx.close()
      }
    })

  cmd
    .command('infgram')
    .description('next-token distribution after a prompt (infinity-gram)')
    .requiredOption('--index <dir>', 'index directory')
    .option('--limit <n>', 'maximum next tokens shown', positiveInt('limit', 0), 20)
    .option('--json', 'JSON output')
    .argument('[prompt]', 'prompt ("-" or omitted: stdin)')
    .action((prompt: string | undefined, o: { index: string; limit: number; json?: boolean }) => {
      const idx = openIndex(o.index)
      try {
        const r = idx.infgram(textArg(prompt), { limit: o.limit })
        if (o.json) return json(r)
        out(`longest suffix with a continuation: ${r.suffixTokens} tokens, ${r.total} continuations`)
        for (const n of r.next) out(`  ${String(n.count).padStart(8)}  ${JSON.stringify(n.token)}`)
      } finally {
        idx.close()
      }
    })

  cmd
    .command('trace')
    .description('spans of a text that occur in the index, with the documents credited')
    .requiredOption('--index <dir>', 'index directory')
    .option('--min-span-tokens <n>', 'shortest span reported', positiveInt('min-span-tokens'))
    .option('--max-span-count <n>', 'spans occurring more often are ignored', positiveInt('max-span-count'))
    .option('--json', 'print the attribution record as JSON')
    .argument('[text]', 'model output ("-" or omitted: stdin)')
    .action((text: string | undefined, o: { index: string; minSpanTokens?: number; maxSpanCount?: number; json?: boolean }) => {
      const idx = openIndex(o.index)
      try {
        const a = idx.attribute(textArg(text), { minSpanTokens: o.minSpanTokens, maxSpanCount: o.maxSpanCount })
        if (o.json) return json(a)
        out(`${a.outputTokens} tokens, coverage ${(a.coverageBps / 100).toFixed(2)}%, ${a.spans.length} span${a.spans.length === 1 ? '' : 's'}`)
        for (const s of a.spans) {
          const docs = s.docs.length > 3 ? `${s.docs.slice(0, 3).join(', ')} +${s.docs.length - 3}` : s.docs.join(', ')
          out(`  [${s.start}, ${s.end}) ${s.tokens} tokens x${s.count} -> ${s.creditedTo}  (${docs})`)
          out(`    ${JSON.stringify(s.text.length > 160 ? s.text.slice(0, 157) + '...' : s.text)}`)
        }
        if (a.weights.length > 0) out('weights:')
        for (const w of a.weights) out(`  ${(w.bps / 100).toFixed(2).padStart(6)}%  ${w.doc}`)
        out(`method ${a.method}`)
      } finally {
        idx.close()
      }
    })

  cmd
    .command('generate')
    .description('continue a prompt with the built-in infinity-gram model (deterministic per seed)')
    .requiredOption('--index <dir>', 'index directory')
    .option('--max-tokens <n>', 'tokens to generate', positiveInt('max-tokens', 0), 64)
    .option('--seed <n>', 'sampling seed', positiveInt('seed', 0), 0)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', nonNegativeNumber, 1)
    .option('--json', 'JSON output')
    .argument('[prompt]', 'prompt ("-" or omitted: stdin)')
    .action((prompt: string | undefined, o: { index: string; maxTokens: number; seed: number; temperature: number; json?: boolean }) => {
      const idx = openIndex(o.index)
      try {
        const r = idx.generate(textArg(prompt), { maxTokens: o.maxTokens, seed: o.seed, temperature: o.temperature })
        if (o.json) return json(r)
        out(r.text)
      } finally {
        idx.close()
      }
    })

  return cmd
}
