/**
 * The crash loop at full size (issue #11): 100 `kill -9` of a real `sinew node` process at
 * random moments while a mixed load runs (transfers, contributions with uploads, reviews,
 * publishes and their index builds, paid model calls, tasks); see test/crash-loop.ts for
 * what is checked after every restart and at the end. Writes bench/results/crash-loop.json
 * and exits 1 if anything acknowledged was lost, a verify failed, a build did not end
 * ready, or a client got an answer it should not have.
 *
 *   npm run bench crash-loop                      # 100 kills, seed 1
 *   CRASH_LOOP_KILLS=10 CRASH_LOOP_SEED=7 npm run bench crash-loop
 *   CRASH_LOOP_MAX_SECONDS=1800 npm run bench crash-loop   # stop killing after 30 min, then the end checks
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCrashLoop } from '../test/crash-loop.ts'
import { runCli } from '../test/helpers.ts'
import { writeResult } from './lib.ts'

const kills = Number(process.env.CRASH_LOOP_KILLS ?? 100)
const seed = Number(process.env.CRASH_LOOP_SEED ?? 1)
/** A time budget (seconds) for a machine too busy to do every kill: the run stops early and says so. */
const maxSeconds = process.env.CRASH_LOOP_MAX_SECONDS ? Number(process.env.CRASH_LOOP_MAX_SECONDS) : undefined
const dataDir = mkdtempSync(join(tmpdir(), 'sinew-crash-loop-'))
try {
  const init = await runCli(['init', '--dev', '--data-dir', dataDir])
  if (init.code !== 0) throw new Error(`sinew init failed: ${init.stderr}`)
  const load = [loadavg()[0]]
  const r = await runCrashLoop({ dataDir, kills, seed, maxSeconds, log: (line) => console.log(line) })
  load.push(loadavg()[0])
  const passed =
    r.lost.length === 0 && r.verifyFailures.length === 0 && r.builds.notReady.length === 0 && r.builds.failedSeenAfterRestart === 0 && r.unexpected.length === 0
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
  const mid = (xs: number[]) => Math.round(sorted(xs)[Math.floor(xs.length / 2)])
  console.log(
    `crash loop ${passed ? 'PASSED' : 'FAILED'}: ${r.kills} kills of ${r.killsPlanned} (${r.killsDuringBuild} during an index build), ${r.acknowledged.total} records acknowledged ` +
      `(${Object.entries(r.acknowledged)
        .filter(([k]) => k !== 'total')
        .map(([k, v]) => `${v} ${k}`)
        .join(', ')}), lost ${r.lost.length}, verify failures ${r.verifyFailures.length}, ` +
      `${r.builds.ready}/${r.builds.versions} versions ready, ${r.unexpected.length} unexpected answers; ` +
      `chain ${r.height} blocks, ${r.txs} txs; restart median ${mid(r.restartMs)} ms, verify median ${mid(r.verifyMs)} ms; ${r.seconds.toFixed(0)} s; load average ${load.map((l) => l.toFixed(1)).join(' -> ')}`,
  )
  for (const line of [...r.lost, ...r.unexpected, ...r.verifyFailures.map((v) => `verify round ${v.round}: ${v.output}`)].slice(0, 20)) console.log(`  ${line}`)
  writeResult('crash-loop', {
    passed,
    complete: r.kills === r.killsPlanned,
    ...r,
    restartMs: { median: mid(r.restartMs), max: Math.round(Math.max(...r.restartMs)) },
    verifyMs: { median: mid(r.verifyMs), max: Math.round(Math.max(...r.verifyMs)) },
    loadAverage: load,
    reproduce: `CRASH_LOOP_KILLS=${kills} CRASH_LOOP_SEED=${seed} npm run bench crash-loop`,
  })
  process.exitCode = passed ? 0 : 1
} finally {
  rmSync(dataDir, { recursive: true, force: true })
}
