/** Read commands against a node: `sinew account`, `sinew block`, `sinew tx get`, `sinew status`. */
import { Command } from 'commander'
import { formatUnits } from '../../core/index.ts'
import { parseAddress } from '../../ledger/index.ts'
import { NodeClient } from '../../client/index.ts'
import { action, printJson, printLines } from '../output.ts'
import { withNode } from '../options.ts'

type ReadFlags = { node?: string; json?: boolean }

export function accountCommand(): Command {
  return withNode(new Command('account').description('balance and next nonce of an account').argument('<address>')).action(
    action(async (address: string, flags: ReadFlags) => {
      const a = await new NodeClient(flags.node).get(`/v1/accounts/${parseAddress(address)}`)
      if (flags.json) return printJson(a)
      printLines(`${a.address}`, `  balance ${formatUnits(BigInt(a.balance))} SIN (${a.balance} base units)`, `  nonce   ${a.nonce}  (at height ${a.height})`)
    }),
  )
}

export function blockCommand(): Command {
  return withNode(new Command('block').description('a block header and its txs').argument('[height]', 'height or "latest"', 'latest')).action(
    action(async (height: string, flags: ReadFlags) => {
      const path = height === 'latest' ? '/v1/blocks/latest' : `/v1/blocks/${encodeURIComponent(height)}`
      const b = await new NodeClient(flags.node).get(`${path}?txs=hashes`)
      if (flags.json) return printJson(b)
      printLines(
        `block ${b.height}  ${b.hash}`,
        `  parent    ${b.parentHash}`,
        `  time      ${new Date(Number(b.timestamp)).toISOString()}`,
        `  txs       ${b.txCount}`,
        `  txRoot    ${b.txRoot}`,
        `  stateRoot ${b.stateRoot}`,
        `  receipts  ${b.receiptsRoot}`,
        `  proposer  ${b.proposer}`,
        ...(b.txHashes as string[]).slice(0, 20).map((h: string) => `  - ${h}`),
        ...(b.txHashes.length > 20 ? [`  … ${b.txHashes.length - 20} more`] : []),
      )
    }),
  )
}

export function statusCommand(): Command {
  return withNode(new Command('status').description('the node: chain, head, role')).action(
    action(async (flags: ReadFlags) => {
      const s = await new NodeClient(flags.node).get('/v1/status')
      if (flags.json) return printJson(s)
      printLines(
        `${s.role} of ${s.network} (chainId ${s.chainId})${s.insecure ? '  INSECURE dev keys' : ''}`,
        `  height ${s.height}  head ${s.headHash}`,
        `  stateRoot ${s.stateRoot}  (${s.stateKeys} keys)`,
        ...(s.replica
          ? [`  following ${s.replica.following}${s.replica.halted ? `  HALTED at block ${s.replica.halted.height}: ${s.replica.halted.field} differs` : ''}`]
          : []),
      )
    }),
  )
}
