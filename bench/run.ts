/**
 * `npm run bench [name ...]`: runs every bench/*.bench.ts (or the named ones) one after
 * another, each in its own process so they do not disturb each other's memory and JIT.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { benchDir } from './lib.ts'

const all = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort()
const wanted = process.argv.slice(2)
const unknown = wanted.filter((w) => !all.includes(w))
if (unknown.length > 0) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Available: ${all.join(', ')}`)
  process.exit(2)
}
let failed = 0
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n=== ${name} ===`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(benchDir, `${name}.bench.ts`)], { stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`[bench] ${name} failed with exit code ${r.status}`)
    failed++
  }
}
process.exit(failed > 0 ? 1 : 0)
