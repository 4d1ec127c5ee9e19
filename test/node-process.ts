/**
 * A Sinew node in a child process (`sinew node` or `sinew dev`) on a port the OS picks:
 * started with `--port 0`, its URL read back from the line it prints once it listens.
 * Used by the tests and benches that kill, starve or soak a real node process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export const repoRoot = join(import.meta.dirname, '..')
export const cliMain = join(repoRoot, 'src/cli/main.ts')

export type NodeProcess = {
  url: string
  child: ChildProcess
  pid: number
  /** Everything it printed so far (stdout and stderr). */
  output(): string
  /** Resolves with its exit code and signal once it has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export type NodeProcessOptions = {
  dataDir: string
  command?: 'node' | 'dev'
  args?: string[]
  /** Environment on top of this process's; SINEW_WORKERS defaults to 0 (one process) unless set here. */
  env?: Record<string, string>
  /** Node.js flags of the node process (default `--max-semi-space-size=32`, as `npm start` runs it). */
  nodeFlags?: string[]
  /** How long to wait for it to listen (default 60 s). */
  timeoutMs?: number
}

/** A node process that exited before it listened: its exit code and what it printed. */
export class NodeStartError extends Error {
  constructor(
    readonly code: number | null,
    readonly output: string,
  ) {
    super(`the node exited before it listened (code ${code}): ${output.slice(-2000)}`)
  }
}

const LISTENING = /(?:sinew node|Sinew dev node) on (http:\/\/\S+)/

/** Starts the node and resolves once it printed its URL (port from the OS); rejects with NodeStartError if it exits first. */
export function startNodeProcess(o: NodeProcessOptions): Promise<NodeProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(o.nodeFlags ?? ['--max-semi-space-size=32']),
      '--import',
      'tsx',
      cliMain,
      o.command ?? 'node',
      '--data-dir',
      o.dataDir,
      '--port',
      '0',
      ...(o.args ?? []),
    ],
    { cwd: repoRoot, env: { ...process.env, SINEW_LOG_LEVEL: 'warn', SINEW_WORKERS: '0', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the node did not listen within ${o.timeoutMs ?? 60_000} ms: ${output.slice(-2000)}`))
    }, o.timeoutMs ?? 60_000)
    const onData = (d: Buffer) => {
      output += d
      const m = LISTENING.exec(output)
      if (!m) return
      child.stdout!.off('data', onData)
      child.stdout!.on('data', (more: Buffer) => (output += more))
      clearTimeout(timer)
      resolve({
        url: m[1].replace('localhost', '127.0.0.1'),
        child,
        pid: child.pid!,
        output: () => output,
        exited,
        stop: async (signal = 'SIGKILL') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        },
      })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (d: Buffer) => (output += d))
    void exited.then(({ code }) => {
      clearTimeout(timer)
      reject(new NodeStartError(code, output))
    })
  })
}
