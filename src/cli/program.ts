/**
 * The `sinew` program. Each subcommand lives in ./commands and owns its flags; its module
 * is loaded only when it runs (or its help is asked for), so a command pays only for what
 * it uses: `sinew account` does not load the HTTP server, fastify, pdfjs or mammoth. The
 * top-level help lists every command from COMMANDS below without loading any of them.
 */
import { Command, Help } from 'commander'
// Straight to the file, not core/index.ts: that would load zod, pino and wasm before anything runs.
import { SINEW_VERSION } from '../core/version.ts'

export type CommandEntry = {
  name: string
  /** What the top-level help shows after the name: commander's term for the command (a test checks it against the module). */
  usage: string
  description: string
  load: () => Promise<Command>
}

/** Every command, in the order `sinew --help` lists them. */
export const COMMANDS: CommandEntry[] = [
  {
    name: 'init',
    usage: '[options]',
    description: 'create a new chain in a data dir: genesis.json, and an encrypted sequencer key (node-key.json)',
    load: async () => (await import('./commands/init.ts')).initCommand(),
  },
  {
    name: 'node',
    usage: '[options]',
    description: 'run a node: the sequencer of an initialised data dir, or a replica with --follow',
    load: async () => (await import('./commands/node.ts')).nodeCommand(),
  },
  {
    name: 'dev',
    usage: '[options]',
    description: 'run a local dev node (initialises an INSECURE dev chain with funded public keys if needed)',
    load: async () => (await import('./commands/node.ts')).devCommand(),
  },
  {
    name: 'keys',
    usage: '',
    description: 'manage encrypted account keys (v3 keystore files; password from SINEW_PASSWORD or a prompt)',
    load: async () => (await import('./commands/keys.ts')).keysCommand(),
  },
  {
    name: 'tx',
    usage: '',
    description: 'sign and submit transactions; look them up',
    load: async () => (await import('./commands/tx.ts')).txCommand(),
  },
  {
    name: 'account',
    usage: '[options] <address>',
    description: 'balance and next nonce of an account',
    load: async () => (await import('./commands/chain-reads.ts')).accountCommand(),
  },
  {
    name: 'block',
    usage: '[options] [height]',
    description: 'a block header and its txs',
    load: async () => (await import('./commands/chain-reads.ts')).blockCommand(),
  },
  {
    name: 'status',
    usage: '[options]',
    description: 'the node: chain, head, role',
    load: async () => (await import('./commands/chain-reads.ts')).statusCommand(),
  },
  {
    name: 'verify',
    usage: '[options]',
    description: 'replay the chain in a data dir from genesis into a fresh state: every signature, nonce, receipt, root and the state table',
    load: async () => (await import('./commands/verify.ts')).verifyCommand(),
  },
  {
    name: 'store',
    usage: '',
    description: "a network's store: copy it between a data dir (SQLite) and PostgreSQL",
    load: async () => (await import('./commands/store.ts')).storeCommand(),
  },
  {
    name: 'proof',
    usage: '',
    description: 'Merkle proofs of state (accounts, module objects) against a block header',
    load: async () => (await import('./commands/proof.ts')).proofCommand(),
  },
  {
    name: 'index',
    usage: '',
    description: 'Proof of Attribution index: build it, count, find, trace and generate',
    load: async () => (await import('./commands/index-command.ts')).indexCommand(),
  },
  {
    name: 'datanet',
    usage: '',
    description: 'Datanets: create, contribute files, review the queue, exclude, publish versions, search',
    load: async () => (await import('./commands/datanet.ts')).datanetCommand(),
  },
  {
    name: 'agent',
    usage: '',
    description: 'the agent registry: register, list and show agents with their reputation',
    load: async () => (await import('./commands/agent.ts')).agentCommand(),
  },
  {
    name: 'task',
    usage: '',
    description: 'the task board: post tasks with escrowed rewards, claim, submit, verify',
    load: async () => (await import('./commands/task.ts')).taskCommand(),
  },
  {
    name: 'mcp',
    usage: '[options]',
    description: 'serve the MCP tools over stdio; write tools sign with --from (SINEW_PASSWORD), --dev-account or --session-key; without one, read tools only',
    load: async () => (await import('./commands/mcp.ts')).mcpCommand(),
  },
  {
    name: 'model',
    usage: '',
    description: 'models served through the OpenAI-compatible gateway',
    load: async () => (await import('./commands/model.ts')).modelCommand(),
  },
  {
    name: 'apikey',
    usage: '',
    description: 'API keys for the OpenAI-compatible gateway, bound to your account',
    load: async () => (await import('./commands/apikey.ts')).apikeyCommand(),
  },
  {
    name: 'delegate',
    usage: '',
    description: 'session keys: let another key sign chosen tx kinds for your account, within spend caps, until an expiry',
    load: async () => (await import('./commands/delegate.ts')).delegateCommand(),
  },
  {
    name: 'settle',
    usage: '',
    description: 'settlement on an EVM chain: deploy the contracts, deposit, withdraw, claim, status',
    load: async () => (await import('./commands/settle.ts')).settleCommand(),
  },
  {
    name: 'chat',
    usage: '[options] <model> <prompt>',
    description: 'ask a model through the gateway (streams), then print the receipt: fee, coverage, contributors paid',
    load: async () => (await import('./commands/chat.ts')).chatCommand(),
  },
  {
    name: 'receipt',
    usage: '',
    description: 'receipts of paid model calls: look one up, or recompute it from the output text',
    load: async () => (await import('./commands/receipt.ts')).receiptCommand(),
  },
]

/**
 * The command `args` (process.argv) will run: the first operand, or with `help` the one
 * after it. The program's own options (--help, --version) take no values, so every
 * argument that does not start with `-` is an operand.
 */
export function commandToRun(args: readonly string[]): string | undefined {
  const operands = args.slice(2).filter((a) => !a.startsWith('-'))
  return operands[0] === 'help' ? operands[1] : operands[0]
}

/**
 * The program for `args`: the command it runs is loaded whole; every other command is a
 * stand-in with the name and description, for the top-level help, for commander's "did
 * you mean" and for its "unknown command".
 */
export async function buildProgram(args: readonly string[] = process.argv): Promise<Command> {
  const usages = new Map(COMMANDS.map((c) => [c.name, c.usage]))
  const program = new Command('sinew')
    .description('Sinew: an open coordination ledger for AI — signed data, attributed model outputs, paid contributors')
    .version(SINEW_VERSION)
    .showHelpAfterError()
  program.configureHelp({
    subcommandTerm: (cmd) => {
      const usage = cmd.parent === program ? usages.get(cmd.name()) : undefined
      return usage === undefined ? new Help().subcommandTerm(cmd) : usage ? `${cmd.name()} ${usage}` : cmd.name()
    },
  })
  const wanted = commandToRun(args)
  for (const entry of COMMANDS) {
    program.addCommand(entry.name === wanted ? await entry.load() : new Command(entry.name).description(entry.description))
  }
  return program
}
