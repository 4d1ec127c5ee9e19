/** `sinew receipt get ID` and `sinew receipt verify ID --output FILE`: recompute a receipt's trace and split. */
import { Command } from 'commander'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { openIndex } from '../../attribution/index.ts'
import { formatUnits, loadConfig, SinewError } from '../../core/index.ts'
import { parseVersionRef, versionIndexDir } from '../../datanets/index.ts'
import type { Address } from '../../ledger/index.ts'
import { verifyReceipt, type AnswerToolCall, type ModelTerms, type ReceiptView } from '../../models/index.ts'
import { NodeClient } from '../../client/index.ts'
import { readInputFile } from '../files.ts'
import { action, printJson, printLines } from '../output.ts'
import { nodeOption } from '../options.ts'

type ReceiptJson = ReceiptView & { terms: ModelTerms | null; protocolFeeBps: number }

export function receiptCommand(): Command {
  const cmd = new Command('receipt').description('receipts of paid model calls: look one up, or recompute it from the output text')
  cmd
    .command('get')
    .argument('<id>', 'receipt id (x-sinew-receipt)')
    .addOption(nodeOption())
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
    .description(
      "recompute the trace (from the output text and the Datanet versions' indexes), the authors (from Datanets state) and the fee split; exit 1 if anything differs",
    )
    .argument('<id>', 'receipt id')
    .requiredOption('--output <file>', 'the output text the receipt is for (UTF-8)')
    .option('--tool-calls <file>', "the answer's function calls, JSON: the message's tool_calls as the node answered them")
    .option('--index-root <dir>', "a node's Datanet index directory, laid out <datanet id>/<n>/index (default <data-dir>/indexes)")
    .option('--data-dir <dir>', 'data directory (default ~/.sinew/dev, or SINEW_DATA_DIR)')
    .addOption(nodeOption())
    .option('--json', 'print JSON')
    .action(
      action(async (id: string, flags: { output: string; toolCalls?: string; indexRoot?: string; dataDir?: string; node?: string; json?: boolean }) => {
        const r = await new NodeClient(flags.node).get<ReceiptJson>(`/v1/receipts/${encodeURIComponent(id)}`)
        if (!r.terms) throw new SinewError({ code: 'not_found', message: `The node has no terms for ${r.model} v${r.modelVersion}` })
        const root = flags.indexRoot ?? join(loadConfig({ flags: { dataDir: flags.dataDir } }).dataDir, 'indexes')
        const client = new NodeClient(flags.node)
        // Each ref (`<datanet id or name>@<n>`) resolves through the node to the Datanet's id;
        // its index is where the Datanets builder keeps it: <root>/<id>/<n>/index.
        const indexes = await Promise.all(
          r.terms.datanets.map(async (ref) => {
            const p = parseVersionRef(ref)
            if (!p) throw new SinewError({ code: 'invalid_version_ref', message: `The model names ${ref}, not a Datanet version ref`, details: { ref } })
            const d = await client.get<{ id: string }>(`/v1/datanets/${encodeURIComponent(p.datanet)}`)
            await client.get(`/v1/datanets/${d.id}/versions/${p.version}`)
            const dir = versionIndexDir(root, d.id, p.version)
            if (!existsSync(dir)) {
              throw new SinewError({
                code: 'not_found',
                message: `Datanet version index not found: ${ref}`,
                details: { datanet_version_index: ref, dir },
                hint: `Run this where the node keeps its data (--data-dir), or pass --index-root <dir> holding <datanet id>/<n>/index; wait until GET /v1/datanets/${d.id}/versions/${p.version} says ready.`,
              })
            }
            return { ref, index: openIndex(dir) }
          }),
        )
        const output = readInputFile(flags.output, '--output').toString('utf8')
        // Authors from Datanets state, as the node's RecordReceipt checks them: accepted contributions only.
        const authors = new Map<string, Address | undefined>()
        for (const w of r.weights) {
          const c = await client.get<{ author: Address; status: string }>(`/v1/contributions/${encodeURIComponent(w.contribution)}`).catch((e) => {
            if (e instanceof SinewError && e.status === 404) return undefined
            throw e
          })
          authors.set(w.contribution, c?.status === 'accepted' ? c.author : undefined)
        }
        const authorOf = (c: string) => authors.get(c)
        const answer = { text: output, toolCalls: flags.toolCalls === undefined ? [] : readToolCalls(flags.toolCalls) }
        const result = verifyReceipt(r, r.terms, r.protocolFeeBps, indexes, answer, authorOf)
        for (const x of indexes) x.index.close()
        if (!result.ok) process.exitCode = 1
        if (flags.json) return printJson({ id: r.id, ...result })
        printLines(
          result.ok ? `OK: receipt ${r.id} matches the output and the Datanet versions (${r.terms.datanets.join(', ')})` : `MISMATCH: receipt ${r.id}`,
          ...result.checks.map((c) =>
            c.ok ? `  ok        ${c.name}` : `  DIFFERS   ${c.name}: recomputed ${JSON.stringify(c.expected)}, receipt ${JSON.stringify(c.actual)}`,
          ),
        )
      }),
    )
  return cmd
}

/** An answer's function calls from a file: OpenAI's `tool_calls` (`{id, type, function: {name, arguments}}`) or `{id, name, arguments}`. */
function readToolCalls(file: string): AnswerToolCall[] {
  const bad = (why: string) =>
    new SinewError({
      code: 'invalid_field',
      message: `--tool-calls ${file}: ${why}`,
      details: { field: '--tool-calls' },
      hint: "Save the answer's message.tool_calls (a JSON array) as the node returned it.",
    })
  let json: unknown
  try {
    json = JSON.parse(readInputFile(file, '--tool-calls').toString('utf8'))
  } catch (e) {
    if (e instanceof SinewError) throw e
    throw bad('is not JSON')
  }
  if (!Array.isArray(json)) throw bad('is not a JSON array')
  type Entry = { id?: unknown; name?: unknown; arguments?: unknown; function?: { name?: unknown; arguments?: unknown } } | null
  return (json as Entry[]).map((c, i) => {
    const fn = c?.function ?? c
    if (typeof c?.id !== 'string' || typeof fn?.name !== 'string' || typeof fn?.arguments !== 'string')
      throw bad(`entry ${i} is not a function call with a string id, name and arguments`)
    return { id: c.id, name: fn.name, arguments: fn.arguments }
  })
}
