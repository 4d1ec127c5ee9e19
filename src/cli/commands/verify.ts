/** `sinew verify`: replay a data dir's chain from genesis and name the first block that does not match. */
import { Command } from 'commander'
import cliProgress from 'cli-progress'
import { existsSync } from 'node:fs'
import { loadConfig, SinewError } from '../../core/index.ts'
import { replayChain, type ReplayReport } from '../../ledger/index.ts'
import { isPostgresUrl, openStore, redactUrl, storeLocation } from '../../store/index.ts'
import { createNodeRegistry } from '../../node/index.ts'
import { action, printJson, printLines } from '../output.ts'

export function verifyCommand(): Command {
  return new Command('verify')
    .description('replay the chain in a data dir from genesis into a fresh state: every signature, nonce, receipt, root and the state table')
    .option('--data-dir <dir>', 'data directory (default ~/.sinew/dev, or SINEW_DATA_DIR)')
    .option('--store <url>', 'the chain in PostgreSQL (postgres://…) instead of the data dir (or the `store` setting, SINEW_STORE)')
    .option('--workers <n>', 'signature-recovery worker threads', '2')
    .option('--json', 'print JSON')
    .action(
      action(async (flags: { dataDir?: string; store?: string; workers: string; json?: boolean }) => {
        const config = loadConfig({ flags: { dataDir: flags.dataDir, store: flags.store } })
        const { dataDir } = config
        const file = storeLocation(config)
        if (!isPostgresUrl(file) && !existsSync(file))
          throw new SinewError({
            code: 'not_found',
            message: `No chain in ${dataDir}`,
            details: { file: redactUrl(file) },
            hint: 'Pass the data dir of the node to check with --data-dir (or set SINEW_DATA_DIR); `npm start` keeps its chain in ~/.sinew/dev.',
          })
        const store = await openStore(file, { readonly: true })
        const bar =
          process.stderr.isTTY && !flags.json
            ? new cliProgress.SingleBar(
                { format: 'verify [{bar}] block {value}/{total}  {txs} txs', stream: process.stderr },
                cliProgress.Presets.shades_classic,
              )
            : undefined
        let started = false
        try {
          const report = await replayChain(store, createNodeRegistry(), {
            workers: Number(flags.workers),
            onProgress: ({ height, head, txs }) => {
              if (!bar) return
              if (!started) bar.start(Number(head), 0, { txs: 0 })
              started = true
              bar.update(Number(height), { txs })
            },
          })
          bar?.stop()
          if (!report.ok) process.exitCode = 1
          if (flags.json) return printJson(report)
          if (report.ok) {
            printLines(
              `OK: replayed ${report.blocks} blocks and ${report.txs} txs from genesis in ${report.seconds.toFixed(2)} s; everything matches`,
              `  head ${report.headHash}`,
              `  stateRoot ${report.stateRoot} (${report.stateKeys} keys)`,
            )
          } else printLines(...mismatchLines(report))
        } finally {
          bar?.stop()
          await store.close()
        }
      }),
    )
}

/** What differs, where, and what was checked before it: a block during the replay, or the state table after it. */
export function mismatchLines(report: ReplayReport): string[] {
  const m = report.mismatch!
  const extra = (skip: string[]) =>
    Object.entries(m.details)
      .filter(([k]) => !['height', 'field', 'expected', 'actual', ...skip].includes(k))
      .map(([k, v]) => `  ${k}: ${String(v)}`)
  if (m.stage === 'state') {
    const lastWritten =
      m.details.lastWrittenBy === 'none'
        ? 'no block wrote this key'
        : m.details.lastWrittenBy === '0'
          ? 'last written by genesis'
          : `last written by block ${m.details.lastWrittenBy}`
    const stored = m.details.storedHeight === 'absent' ? 'no row' : `the row says block ${m.details.storedHeight} wrote it`
    return [
      `MISMATCH in the state table: ${m.field} differs from the state replayed from genesis through block ${m.height} (the head)`,
      `  replay gives ${m.expected} (${lastWritten})`,
      `  stored       ${m.actual} (${stored})`,
      ...extra(['key', 'lastWrittenBy', 'storedHeight']),
      `  (all ${report.blocks} blocks and ${report.txs} txs verified; the state table is compared with the replay after the last block)`,
    ]
  }
  return [
    `MISMATCH in block ${m.height}: ${m.field}`,
    `  replay gives ${m.expected}`,
    `  stored       ${m.actual}`,
    ...extra([]),
    `  (blocks before ${m.height} verified: ${report.blocks}, txs: ${report.txs})`,
  ]
}
