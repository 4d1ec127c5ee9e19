/**
 * The web app's first page as a visitor gets it, in the test browser (Debian's Chromium via
 * playwright-core) against a dev node started here (temp data dir, OS-chosen port):
 *
 * - **JS size**: every script the first page (`/`, the explorer) loads, summed as sent
 *   (gzip, as the node serves it) and raw. Target ≤ 250 KB gzipped.
 * - **Time to interactive**: from navigation start to the explorer showing the chain height
 *   with its search box usable, in a fresh browser context each run (cold cache), and again
 *   in the same context (warm: hashed assets cached as immutable). Target ≤ 1 s. Median and
 *   p90 of RUNS runs.
 *
 * Writes bench/results/web.json.
 *
 *   nice npx tsx bench/web.bench.ts     (or: npm run bench web; RUNS=20 for more)
 */
import { loadavg } from 'node:os'
import type { Response } from 'playwright-core'
import { DEV_SEQUENCER_KEY, makeDevGenesis } from '../src/cli/data-dir.ts'
import { loadConfig } from '../src/core/index.ts'
import { startNode } from '../src/server/index.ts'
import { buildWebApp } from '../scripts/web-build.ts'
import { launchBrowser } from '../test/web-browser.ts'
import { tempDir } from '../test/helpers.ts'
import { median, percentile, writeResult } from './lib.ts'

const RUNS = Number(process.env.RUNS ?? 9)

await buildWebApp({ ifStale: true })
const tmp = tempDir('sinew-bench-web-')
const config = loadConfig({ flags: { dataDir: tmp.dir, port: 0, logLevel: 'silent', signatureWorkers: 1 }, env: {} })
const node = await startNode({ config, genesis: makeDevGenesis(), sequencerKey: DEV_SEQUENCER_KEY })
const browser = await launchBrowser()

/** Loads `/` in `page` and resolves with ms from navigation start until the explorer is usable. */
async function timeToInteractive(page: import('playwright-core').Page): Promise<number> {
  await page.goto(`${node.url}/`, { waitUntil: 'commit' })
  await page.getByTestId('height').waitFor()
  await page.locator('#search:enabled').waitFor()
  return page.evaluate('performance.now()') as Promise<number>
}

try {
  // Sizes: the scripts of one cold load, as they came over the wire.
  const context = await browser.newContext()
  const page = await context.newPage()
  const scripts: Response[] = []
  page.on('response', (r) => {
    if (r.request().resourceType() === 'script') scripts.push(r)
  })
  await timeToInteractive(page)
  let wire = 0
  let raw = 0
  const files: { url: string; wireBytes: number; rawBytes: number; encoding: string }[] = []
  for (const r of scripts) {
    const sizes = await r.request().sizes()
    const body = await r.body()
    const encoding = (await r.headerValue('content-encoding')) ?? 'identity'
    files.push({ url: new URL(r.url()).pathname, wireBytes: sizes.responseBodySize, rawBytes: body.length, encoding })
    wire += sizes.responseBodySize
    raw += body.length
  }
  await context.close()

  const cold: number[] = []
  const warm: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const ctx = await browser.newContext()
    const p = await ctx.newPage()
    cold.push(await timeToInteractive(p))
    warm.push(await timeToInteractive(p))
    await ctx.close()
  }
  const result = {
    firstPage: '/',
    scripts: files,
    jsGzipKB: +(wire / 1024).toFixed(1),
    jsRawKB: +(raw / 1024).toFixed(1),
    targetJsGzipKB: 250,
    ttiColdMs: { median: +median(cold).toFixed(0), p90: +percentile(cold, 90).toFixed(0), runs: cold.map((x) => Math.round(x)) },
    ttiWarmMs: { median: +median(warm).toFixed(0), p90: +percentile(warm, 90).toFixed(0) },
    targetTtiMs: 1000,
    loadavg: loadavg(),
  }
  const path = writeResult('web', result)
  console.log(`first page (/): ${files.length} scripts, ${result.jsGzipKB} KB as sent (gzip), ${result.jsRawKB} KB raw (target ≤ 250 KB gzipped)`)
  console.log(
    `time to interactive: cold median ${result.ttiColdMs.median} ms (p90 ${result.ttiColdMs.p90}), warm median ${result.ttiWarmMs.median} ms (target ≤ 1000 ms); ${RUNS} runs`,
  )
  console.log(`wrote ${path}`)
} finally {
  await browser.close()
  await node.close()
  tmp.cleanup()
}
