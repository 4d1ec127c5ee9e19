/** `sinew store copy`: move a network's store between a data dir (SQLite) and PostgreSQL, losslessly. */
import { Command } from 'commander'
import cliProgress from 'cli-progress'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { parseGenesis } from '../../ledger/index.ts'
import { copyStore, type CopyProgress } from '../../node/index.ts'
import { isPostgresUrl, openStore, redactUrl, storeFile } from '../../store/index.ts'
import { GENESIS_FILE, writeGenesisFile } from '../data-dir.ts'
import { action, printJson, printLines } from '../output.ts'

export function storeCommand(): Command {
  const store = new Command('store').description("a network's store: copy it between a data dir (SQLite) and PostgreSQL")
  store
    .command('copy')
    .description('copy every block, tx, state row, setting and blob to an empty target; `sinew verify` checks both the same')
    .requiredOption('--from <where>', 'a data dir, or postgres://user:password@host:port/database')
    .requiredOption('--to <where>', 'an empty data dir or PostgreSQL database (same forms)')
    .option('--json', 'print JSON')
    .action(
      action(async (flags: { from: string; to: string; json?: boolean }) => {
        const bar =
          process.stderr.isTTY && !flags.json
            ? new cliProgress.SingleBar({ format: 'copy {phase} [{bar}] {value}/{total}', stream: process.stderr }, cliProgress.Presets.shades_classic)
            : undefined
        let phase: CopyProgress['phase'] | undefined
        let lastLine = 0
        const onProgress = (p: CopyProgress) => {
          if (bar) {
            if (p.phase !== phase) {
              if (phase) bar.stop()
              bar.start(p.total || p.done, 0, { phase: p.phase })
            }
            if (p.phase === 'blobs') bar.setTotal(p.done)
            bar.update(p.done, { phase: p.phase })
          } else if (p.phase !== phase || Date.now() - lastLine > 2000) {
            lastLine = Date.now()
            process.stderr.write(`copy: ${p.phase} ${p.done}${p.total ? `/${p.total}` : ''}\n`)
          }
          phase = p.phase
        }
        let report
        try {
          report = await copyStore(flags.from, flags.to, onProgress)
        } finally {
          bar?.stop()
        }
        // A data dir runs a node only with its genesis.json: written from the chain's own record.
        const genesisWritten = !isPostgresUrl(flags.to) && !existsSync(join(flags.to, GENESIS_FILE)) && (await writeGenesisFrom(flags.to))
        if (flags.json) return printJson({ ...report, genesisFile: genesisWritten || undefined })
        printLines(
          `copied ${redactUrl(flags.from)} to ${redactUrl(flags.to)}: ${report.blocks} blocks, ${report.txs} txs, ${report.stateKeys} state keys, ${report.meta} settings, ${report.blobs} blobs (${report.blobBytes} bytes)`,
          `  head ${report.headHash ?? '(none)'}`,
          ...(genesisWritten ? [`  wrote ${genesisWritten} from the chain's genesis`] : []),
          '  keys (node-key.json, keys/) and config.json stay in the data dir: a node on the copy needs them there.',
        )
      }),
    )
  return store
}

async function writeGenesisFrom(dataDir: string): Promise<string | false> {
  const store = await openStore(storeFile(dataDir), { readonly: true })
  try {
    const json = await store.getMeta('genesis')
    return json ? writeGenesisFile(dataDir, parseGenesis(JSON.parse(json))) : false
  } finally {
    await store.close()
  }
}
