/**
 * `npm run fuzz -- [--target tx,http,…] [--runs N] [--seed S] [--path P]`: the fuzz targets
 * of test/fuzz/ at full size (default 10 000 cases each), one after another, with progress;
 * writes bench/results/fuzz.json (cases, failures, time and outcome counts per target) and
 * exits 1 if any target found a failure (printed with its minimal case and how to replay it).
 */
import { parseArgs } from 'node:util'
import { running, runTarget, type TargetReport } from '../test/fuzz/harness.ts'
import { fuzzTargets } from '../test/fuzz/targets/index.ts'
import { writeResult } from './lib.ts'

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    runs: { type: 'string', default: '10000' },
    seed: { type: 'string' },
    path: { type: 'string' },
    out: { type: 'string', default: 'fuzz' },
  },
})
const names = values.target ? values.target.split(',') : fuzzTargets.map((t) => t.name)
const unknown = names.filter((n) => !fuzzTargets.some((t) => t.name === n))
if (unknown.length > 0) {
  console.error(`Unknown fuzz target(s): ${unknown.join(', ')}. Targets: ${fuzzTargets.map((t) => t.name).join(', ')}`)
  process.exit(2)
}
const numRuns = Number(values.runs)
const seed = values.seed !== undefined ? Number(values.seed) : Date.now() % 2 ** 31
const reports: TargetReport[] = []
// Stopped early (SIGINT, SIGTERM): write what was played, marked interrupted, so the figures are not lost.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const r = running
    const partial = {
      target: r.target,
      seed: r.seed,
      numRuns: r.numRuns,
      cases: r.cases,
      failed: false,
      interrupted: true,
      ms: Math.round(performance.now() - r.started),
      outcomes: r.outcomes,
    }
    console.log(`\n[fuzz] ${signal}: stopped after ${r.cases} cases of ${r.target} without a failure`)
    writeResult(values.out, { seed, numRuns, targets: [...reports, partial] })
    process.exit(130)
  })
}
for (const name of names) {
  const target = fuzzTargets.find((t) => t.name === name)!
  console.log(`\n=== fuzz ${name}: ${target.description}`)
  const report = await runTarget(target, { numRuns, seed, path: values.path, log: (l) => console.log(l) })
  reports.push(report)
  console.log(
    `[fuzz] ${name}: ${report.cases} cases in ${(report.ms / 1000).toFixed(1)} s (${report.casesPerSecond}/s), ${report.failed ? 'FAILED' : 'no failure'}`,
  )
  const top = Object.entries(report.outcomes).slice(0, 12)
  for (const [outcome, n] of top) console.log(`  ${String(n).padStart(7)}  ${outcome}`)
  if (report.failure) {
    console.log(
      `\n${report.failure.error}\n\nMinimal case (${report.failure.shrinks} shrinks): ${report.failure.counterexample.slice(0, 4000)}\nReplay: ${report.failure.replay}`,
    )
  }
}
writeResult(values.out, { seed, numRuns, targets: reports })
process.exit(reports.some((r) => r.failed) ? 1 : 0)
