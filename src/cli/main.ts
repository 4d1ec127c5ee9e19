/** The `sinew` command. Each subcommand lives in ./commands and owns its flags. */
import { Command } from 'commander'
import { accountCommand, blockCommand, statusCommand } from './commands/chain-reads.ts'
import { datanetCommand } from './commands/datanet.ts'
import { initCommand } from './commands/init.ts'
import { keysCommand } from './commands/keys.ts'
import { indexCommand } from './commands/index-command.ts'
import { devCommand, nodeCommand } from './commands/node.ts'
import { proofCommand } from './commands/proof.ts'
import { txCommand } from './commands/tx.ts'
import { verifyCommand } from './commands/verify.ts'
import { agentCommand } from './commands/agent.ts'
import { taskCommand } from './commands/task.ts'
import { mcpCommand } from './commands/mcp.ts'
import { modelCommand } from './commands/model.ts'
import { apikeyCommand } from './commands/apikey.ts'
import { chatCommand } from './commands/chat.ts'
import { receiptCommand } from './commands/receipt.ts'
import { reportError } from './output.ts'

export function buildProgram(): Command {
  const program = new Command('sinew')
    .description('Sinew: an open coordination ledger for AI — signed data, attributed model outputs, paid contributors')
    .version('0.1.0')
    .showHelpAfterError()
  for (const c of [
    initCommand(),
    nodeCommand(),
    devCommand(),
    keysCommand(),
    txCommand(),
    accountCommand(),
    blockCommand(),
    statusCommand(),
    verifyCommand(),
    proofCommand(),
    indexCommand(),
    datanetCommand(),
    agentCommand(),
    taskCommand(),
    mcpCommand(),
  ]) {
    program.addCommand(c)
  }
  for (const c of [modelCommand(), apikeyCommand(), chatCommand(), receiptCommand()]) program.addCommand(c)
  return program
}

try {
  await buildProgram().parseAsync(process.argv)
} catch (e) {
  // Commands that do not catch their own errors still end with one clear message.
  reportError(e, process.argv.includes('--json'))
}
