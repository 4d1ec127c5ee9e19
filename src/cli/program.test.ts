import { Help, type Command } from 'commander'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildProgram, COMMANDS, commandToRun } from './program.ts'

const packageVersion = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version

/** Runs the program on `args` with output captured and exits turned into a thrown CommanderError. */
async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = await buildProgram(['node', 'sinew', ...args])
  let out = ''
  let err = ''
  const capture = (c: Command) => {
    c.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) })
    c.commands.forEach(capture)
  }
  capture(program)
  try {
    await program.parseAsync(['node', 'sinew', ...args])
    return { out, err, code: 0 }
  } catch (e) {
    return { out, err, code: (e as { exitCode: number }).exitCode }
  }
}

describe('the sinew program', () => {
  it('COMMANDS says what each command module says: name, usage term and description', async () => {
    const help = new Help()
    for (const entry of COMMANDS) {
      const command = await entry.load()
      expect(command.name()).toBe(entry.name)
      expect(command.description()).toBe(entry.description)
      expect(help.subcommandTerm(command)).toBe(entry.usage ? `${entry.name} ${entry.usage}` : entry.name)
    }
  })

  it('loads only the command that runs; the others are stand-ins without options or actions', async () => {
    const program = await buildProgram(['node', 'sinew', 'account', '0x00'])
    const account = program.commands.find((c) => c.name() === 'account')!
    expect(account.options.map((o) => o.long)).toEqual(['--node', '--json'])
    for (const c of program.commands.filter((c) => c.name() !== 'account')) expect(c.options).toEqual([])
  })

  it('finds the command to run past options, and after `help`', () => {
    expect(commandToRun(['node', 'sinew', '--help'])).toBeUndefined()
    expect(commandToRun(['node', 'sinew', 'account', '0xabc', '--json'])).toBe('account')
    expect(commandToRun(['node', 'sinew', '-h', 'tx', 'send'])).toBe('tx')
    expect(commandToRun(['node', 'sinew', 'help', 'keys'])).toBe('keys')
  })

  it('--help lists every command with its usage and description; <command> --help is that command in full', async () => {
    const top = await run(['--help'])
    expect(top.code).toBe(0)
    for (const entry of COMMANDS) expect(top.out).toContain(entry.usage ? `${entry.name} ${entry.usage}` : `${entry.name} `)
    const chat = await run(['chat', '--help'])
    expect(chat.out).toContain('Usage: sinew chat [options] <model> <prompt>')
    expect(chat.out).toContain('--api-key')
    const typo = await run(['acount'])
    expect(typo.code).toBe(1)
    expect(typo.err).toContain("error: unknown command 'acount'\n(Did you mean account?)")
  })

  it('--version is package.json version', async () => {
    expect(await run(['--version'])).toEqual({ out: `${packageVersion}\n`, err: '', code: 0 })
  })
})
