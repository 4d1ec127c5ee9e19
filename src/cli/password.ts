/** Passwords for key files: from an environment variable, else asked on the terminal without echo. */
import { createInterface } from 'node:readline'
import { SinewError } from '../core/index.ts'

export async function readPassword(prompt: string, envVar = 'SINEW_PASSWORD', confirm = false): Promise<string> {
  const fromEnv = process.env[envVar]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  if (!process.stdin.isTTY) {
    throw new SinewError({
      code: 'password_required',
      message: `A password is needed and there is no terminal to ask on`,
      hint: `Set ${envVar} in the environment.`,
    })
  }
  const first = await ask(prompt)
  if (confirm && (await ask('Repeat: ')) !== first) throw new SinewError({ code: 'password_mismatch', message: 'The passwords differ' })
  if (first.length === 0) throw new SinewError({ code: 'password_required', message: 'The password is empty' })
  return first
}

function ask(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true })
    const out = rl as unknown as { _writeToOutput: (s: string) => void }
    process.stderr.write(prompt)
    out._writeToOutput = () => {}
    rl.question('', (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    })
  })
}
