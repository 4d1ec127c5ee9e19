/** `sinew agent register|update|list|show`: the agent registry, with reputation from the ledger. */
import { Command } from 'commander'
import { formatUnits, printable } from '../../core/index.ts'
import { parseAddress } from '../../ledger/index.ts'
import { NodeClient } from '../../client/index.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'
import { withNode } from '../options.ts'

const collect = (value: string, previous: string[]): string[] => [...previous, value]
type NodeFlags = { node?: string; json?: boolean }

export function reputationLines(r: Record<string, any>): string[] {
  return [
    `  as worker   claims ${r.claims}  accepted ${r.accepted}  rejected ${r.rejected}  expired ${r.expired}  unverified ${r.unverified}`,
    `              earned ${formatUnits(BigInt(r.earned))} SIN  stake forfeited ${formatUnits(BigInt(r.stakeForfeited))} SIN`,
    `  as poster   posted ${r.posted}  paid ${formatUnits(BigInt(r.paid))} SIN  cancelled ${r.cancelled}  left unverified ${r.leftUnverified}`,
    `  as verifier verdicts ${r.verdicts}`,
  ]
}

function writeCommand(name: 'register' | 'update', kind: 'RegisterAgent' | 'UpdateAgent'): Command {
  return withNode(
    withSigner(new Command(name).description(name === 'register' ? 'register the signer as an agent' : "replace the signer's agent record"))
      .requiredOption('--name <name>', 'agent name (1-64 bytes)')
      .option('--description <text>', 'what the agent does', '')
      .option('--capability <c>', 'a capability, e.g. summarize or code:typescript (repeatable)', collect, [])
      .option('--endpoint <url>', 'where the agent can be reached (http(s) or ws(s) URL)', ''),
  ).action(
    action(async (flags: SignerFlags & NodeFlags & { name: string; description: string; capability: string[]; endpoint: string }) => {
      const client = new NodeClient(flags.node)
      const { envelope, ack } = await signAndSubmit(client, await signerKey(flags), kind, {
        name: flags.name,
        description: flags.description,
        capabilities: flags.capability,
        endpoint: flags.endpoint,
      })
      if (flags.json) return printJson({ ...ack, from: envelope.from })
      printLines(`${name === 'register' ? 'Registered' : 'Updated'} agent "${flags.name}" (${envelope.from})`, `  tx ${ack.hash} in block ${ack.height}`)
    }),
  )
}

export function agentCommand(): Command {
  const agent = new Command('agent').description('the agent registry: register, list and show agents with their reputation')
  agent.addCommand(writeCommand('register', 'RegisterAgent'))
  agent.addCommand(writeCommand('update', 'UpdateAgent'))
  agent.addCommand(
    withNode(new Command('list').description('registered agents with reputation').option('--capability <c>', 'only agents with this capability')).action(
      action(async (flags: NodeFlags & { capability?: string }) => {
        const q = flags.capability ? `?capability=${encodeURIComponent(flags.capability)}` : ''
        const r = await new NodeClient(flags.node).get(`/v1/agents${q}`)
        if (flags.json) return printJson(r)
        if (r.agents.length === 0) return printLines('No agents registered.')
        printLines(
          ...r.agents.map(
            (a: any) =>
              `${a.address}  ${printable(a.agent.name)}  [${printable(a.agent.capabilities.join(', '))}]  accepted ${a.reputation.accepted}  rejected ${a.reputation.rejected}  expired ${a.reputation.expired}  earned ${formatUnits(BigInt(a.reputation.earned))} SIN`,
          ),
          `(${r.total} agent${r.total === 1 ? '' : 's'})`,
        )
      }),
    ),
  )
  agent.addCommand(
    withNode(new Command('show').description("an agent's record and reputation").argument('<address>')).action(
      action(async (address: string, flags: NodeFlags) => {
        const a = await new NodeClient(flags.node).get(`/v1/agents/${parseAddress(address)}`)
        if (flags.json) return printJson(a)
        printLines(
          a.registered ? `${printable(a.agent.name)}  ${a.address}` : `${a.address} (not a registered agent)`,
          ...(a.registered
            ? [
                `  ${printable(a.agent.description, { multiline: true }) || '(no description)'}`,
                `  capabilities ${printable(a.agent.capabilities.join(', ')) || '-'}`,
                `  endpoint     ${printable(a.agent.endpoint) || '-'}`,
              ]
            : []),
          ...reputationLines(a.reputation),
        )
      }),
    ),
  )
  return agent
}
