/** The `sinew` command. Each subcommand lives in ./commands and owns its flags. */
import { Command } from 'commander'
import { accountCommand, blockCommand, statusCommand } from './commands/chain-reads.ts'
import { initCommand } from './commands/init.ts'
import { keysCommand } from './commands/keys.ts'
import { devCommand, nodeCommand } from './commands/node.ts'
import { proofCommand } from './commands/proof.ts'
import { txCommand } from './commands/tx.ts'
import { verifyCommand } from './commands/verify.ts'

export function buildProgram(): Command {
  const program = new Command('sinew')
    .description('Sinew: an open coordination ledger for AI — signed data, attributed model outputs, paid contributors')
    .version('0.1.0')
    .showHelpAfterError()
  for (const c of [initCommand(), nodeCommand(), devCommand(), keysCommand(), txCommand(), accountCommand(), blockCommand(), statusCommand(), verifyCommand(), proofCommand()]) {
    program.addCommand(c)
  }
  return program
}

const program = buildProgram()
try {
  const { indexCommand } = await import('./commands/index-command.ts')
  program.addCommand(indexCommand())
} catch (e) {
  if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e
}
await program.parseAsync(process.argv)
