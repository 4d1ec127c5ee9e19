/** The `sinew` command: builds the program for this invocation (loading only the command that runs) and runs it. */
import { buildProgram } from './program.ts'

try {
  await (await buildProgram(process.argv)).parseAsync(process.argv)
} catch (e) {
  // Commands that do not catch their own errors still end with one clear message.
  const { reportError } = await import('./output.ts')
  reportError(e, process.argv.includes('--json'))
}
