/** `sinew proof get|verify`: fetch a state proof, and check one offline against its header. */
import { Command } from 'commander'
import { readFileSync, writeFileSync } from 'node:fs'
import { SinewError } from '../../core/index.ts'
import { checkProofBundle, parseAddress, parseHeaderJson } from '../../ledger/index.ts'
import { NodeClient } from '../../client/index.ts'
import { action, printJson, printLines } from '../output.ts'
import { nodeOption } from '../options.ts'

function readJson(file: string, what: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new SinewError({ code: 'file_unreadable', message: `Cannot read ${what} file ${file}`, details: { file, reason: (e as Error).message } })
  }
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new SinewError({ code: 'malformed_json', message: `${what} file ${file} is not valid JSON`, details: { file, reason: (e as Error).message } })
  }
}

export function proofCommand(): Command {
  const proof = new Command('proof').description('Merkle proofs of state (accounts, module objects) against a block header')
  proof
    .command('get')
    .description('fetch a proof of a state key (or an address) from a node')
    .argument('<key>', 'state key like acct/0x… or an address')
    .addOption(nodeOption())
    .option('--out <file>', 'write the proof bundle here')
    .option('--height <n>', 'prove against this block (e.g. a settlement checkpoint) instead of the latest')
    .action(
      action(async (key: string, flags: { node?: string; out?: string; height?: string }) => {
        const height = flags.height === undefined ? '' : `?height=${encodeURIComponent(flags.height)}`
        const bundle = await new NodeClient(flags.node).get(`/v1/proof/${encodeURIComponent(/^0x/i.test(key) ? parseAddress(key) : key)}${height}`)
        if (flags.out) {
          writeFileSync(flags.out, JSON.stringify(bundle, null, 2) + '\n')
          printLines(`Proof of ${bundle.key} at block ${bundle.header.height} written to ${flags.out}`)
        } else printJson(bundle)
      }),
    )
  proof
    .command('verify')
    .description('check a proof bundle offline: header hash and signature, then the Merkle path to its stateRoot')
    .argument('<file>', 'proof bundle JSON (from `sinew proof get` or GET /v1/proof/:key)')
    .option('--header <file>', 'check against this header instead of the one in the bundle')
    .option('--sequencer <address>', 'require the header to be signed by this sequencer')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, flags: { header?: string; sequencer?: string; json?: boolean }) => {
        const bundle = readJson(file, 'proof')
        const header = flags.header ? parseHeaderJson(readJson(flags.header, 'header')) : undefined
        const check = checkProofBundle(bundle, {
          ...(header ? { header } : {}),
          ...(flags.sequencer ? { sequencer: parseAddress(flags.sequencer, '--sequencer') } : {}),
        })
        if (!check.ok) process.exitCode = 1
        if (flags.json) return printJson(check)
        if (check.ok)
          printLines(
            `VALID: ${check.key} is ${check.present ? 'present' : 'absent'} in the state of block ${check.height} (stateRoot ${check.stateRoot}${check.signer ? `, signed by ${check.signer}` : ''})`,
          )
        else printLines(`INVALID proof of ${check.key}:`, ...check.problems.map((p) => `  - ${p}`))
      }),
    )
  return proof
}
