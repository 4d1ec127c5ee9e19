/** `sinew receipt get ID` and `sinew receipt verify ID --output FILE`: recompute a receipt's trace and split. */
import { Command } from 'commander'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatUnits, InvalidInputError, loadConfig } from '../../core/index.ts'
import { dirIndexProvider } from '../../gateway/index.ts'
import { verifyReceipt, type ModelTerms, type ReceiptView } from '../../models/index.ts'
import { NodeClient } from '../client.ts'
import { action, printJson, printLines } from '../output.ts'

type ReceiptJson = ReceiptView & { terms: ModelTerms | null; protocolFeeBps: number }

export function receiptCommand(): Command {
  const cmd = new Command('receipt').description('receipts of paid model calls: look one up, or recompute it from the output text')
  cmd
    .command('get')
    .argument('<id>', 'receipt id (x-sinew-receipt)')
    .option('--node <url>', 'node URL (default http://127.0.0.1:8545, or SINEW_NODE)')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, flags: { node?: string; json?: boolean }) => {
        const r = await new NodeClient(flags.node).get<ReceiptJson>(`/v1/receipts/${encodeURIComponent(id)}`)
        if (flags.json) return printJson(r)
        printLines(
          `Receipt ${r.id}  (tx ${r.tx}, block ${r.height})`,
          `  model ${r.model} v${r.modelVersion}, payer ${r.payer}, ${r.outputTokens} output tokens, ${r.finishReason}`,
          `  fee ${formatUnits(BigInt(r.split.fee))} SIN: treasury ${formatUnits(BigInt(r.split.protocolFee))}, contributors ${formatUnits(BigInt(r.split.contributorPool))}, owner ${formatUnits(BigInt(r.split.ownerAmount))}`,
          `  coverage ${(r.coverageBps / 100).toFixed(2)} %  method ${r.method}`,
          ...r.split.contributors.map((c) => `    ${c.contribution} (${c.author}): ${formatUnits(BigInt(c.amount))} SIN`),
        )
      }),
    )
  cmd
    .command('verify')
    .description("recompute the trace (from the output text and the Datanet versions' indexes) and the fee split; exit 1 if anything differs")
    .argument('<id>', 'receipt id')
    .requiredOption('--output <file>', 'the output text the receipt is for (UTF-8)')
    .option('--index-root <dir>', 'directory of Datanet indexes (default <data-dir>/indexes)')
    .option('--data-dir <dir>', 'data directory (default ~/.sinew/dev, or SINEW_DATA_DIR)')
    .option('--node <url>', 'node URL')
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, flags: { output: string; indexRoot?: string; dataDir?: string; node?: string; json?: boolean }) => {
        const r = await new NodeClient(flags.node).get<ReceiptJson>(`/v1/receipts/${encodeURIComponent(id)}`)
        if (!r.terms) throw new InvalidInputError(`The node has no terms for ${r.model} v${r.modelVersion}`, { code: 'not_found' })
        const root = flags.indexRoot ?? join(loadConfig({ flags: { dataDir: flags.dataDir } }).dataDir, 'indexes')
        const provider = dirIndexProvider(root)
        const sources = await Promise.all(r.terms.datanets.map(async (ref) => ({ ref, source: await provider(ref) })))
        const output = readFileSync(flags.output, 'utf8')
        const authorOf = (c: string) => {
          for (const s of sources) {
            const a = s.source.authorOf?.(c)
            if (a) return a
          }
          return undefined
        }
        const result = verifyReceipt(r, r.terms, r.protocolFeeBps, sources.map((s) => ({ ref: s.ref, index: s.source.index })), output, authorOf)
        if (!result.ok) process.exitCode = 1
        if (flags.json) return printJson({ id: r.id, ...result })
        printLines(
          result.ok ? `OK: receipt ${r.id} matches the output and the Datanet versions (${r.terms.datanets.join(', ')})` : `MISMATCH: receipt ${r.id}`,
          ...result.checks.map((c) => (c.ok ? `  ok        ${c.name}` : `  DIFFERS   ${c.name}: recomputed ${JSON.stringify(c.expected)}, receipt ${JSON.stringify(c.actual)}`)),
        )
      }),
    )
  return cmd
}
