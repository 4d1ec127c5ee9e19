/**
 * How long a `sinew` command takes from exec to exit, as a user feels it: `sinew --help`,
 * `sinew --version` and `sinew account ADDRESS --node URL` (against a dev node started
 * here on a temp data dir and an OS-chosen port), each through bin/sinew.js and through
 * `node --import tsx src/cli/main.ts` (how the tests spawn the CLI). The floors beside them
 * are bare `node -e ''` and `node --import tsx -e ''`: what any command costs before Sinew
 * code runs. Commands run round-robin, RUNS times each after one warm-up; median and p90.
 * Writes bench/results/cli-startup.json.
 *
 *   npx tsx bench/cli-startup.bench.ts      (or: npm run bench cli-startup; RUNS=20 for more)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { DEV_SEQUENCER_KEY, makeDevGenesis } from '../src/cli/data-dir.ts'
import { loadConfig } from '../src/core/index.ts'
import { devAccounts } from '../src/ledger/keys/index.ts'
import { startNode } from '../src/server/index.ts'
import { benchDir, median, percentile, writeResult } from './lib.ts'

const RUNS = Number(process.env.RUNS ?? 10)
const repoRoot = join(benchDir, '..')
const bin = join(repoRoot, 'bin/sinew.js')
const main = join(repoRoot, 'src/cli/main.ts')

/** Runs one command to its exit; resolves with the wall time in ms (the node answers meanwhile, so no spawnSync). */
function timeRun(args: string[], expect: (stdout: string) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = performance.now() - t0
      if (code !== 0 || !expect(stdout)) reject(new Error(`${args.join(' ')} exited ${code}: ${stdout.slice(0, 200)} ${stderr.slice(0, 500)}`))
      else resolve(ms)
    })
  })
}

const dataDir = mkdtempSync(join(tmpdir(), 'sinew-bench-cli-'))
const config = loadConfig({ flags: { dataDir, port: 0, logLevel: 'silent', signatureWorkers: 1 }, env: {} })
const running = await startNode({ config, genesis: makeDevGenesis(), sequencerKey: DEV_SEQUENCER_KEY })
const address = devAccounts(1)[0].address
const version = (stdout: string) => /^\d+\.\d+\.\d+/.test(stdout.trim())
const help = (stdout: string) => stdout.includes('Commands:') && stdout.includes('account')
const account = (stdout: string) => stdout.toLowerCase().includes(address.toLowerCase()) && stdout.includes('balance')

const cases: { name: string; args: string[]; expect: (stdout: string) => boolean }[] = [
  { name: "node -e ''", args: ['-e', ''], expect: () => true },
  { name: "node --import tsx -e ''", args: ['--import', 'tsx', '-e', ''], expect: () => true },
  { name: 'sinew --help', args: [bin, '--help'], expect: help },
  { name: 'sinew --version', args: [bin, '--version'], expect: version },
  { name: 'sinew account ADDRESS', args: [bin, 'account', address, '--node', running.url], expect: account },
  { name: 'tsx main.ts --help', args: ['--import', 'tsx', main, '--help'], expect: help },
  { name: 'tsx main.ts account ADDRESS', args: ['--import', 'tsx', main, 'account', address, '--node', running.url], expect: account },
]

const times = new Map<string, number[]>(cases.map((c) => [c.name, []]))
const load0 = loadavg()[0]
try {
  for (const c of cases) await timeRun(c.args, c.expect) // warm-up: tsx's transform cache, the OS file cache
  for (let run = 0; run < RUNS; run++) {
    for (const c of cases) times.get(c.name)!.push(await timeRun(c.args, c.expect))
  }
} finally {
  await running.close()
  rmSync(dataDir, { recursive: true, force: true })
}

const r = (x: number) => Math.round(x)
const results = cases.map((c) => {
  const ms = times.get(c.name)!
  return { command: c.name, runs: ms.length, medianMs: r(median(ms)), p90Ms: r(percentile(ms, 90)), minMs: r(Math.min(...ms)) }
})
console.log(`${RUNS} runs each (load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end):`)
for (const x of results)
  console.log(`  ${x.command.padEnd(30)} median ${String(x.medianMs).padStart(5)} ms   p90 ${String(x.p90Ms).padStart(5)} ms   min ${x.minMs} ms`)
writeResult('cli-startup', { runs: RUNS, loadAverage: { start: load0, end: loadavg()[0] }, results })
