/**
 * A local EVM chain for tests, benchmarks and `sinew dev --settle`: anvil from the npm
 * package `@foundry-rs/anvil` (its platform package ships the binary), on 127.0.0.1 and a
 * port the OS picks (`--port 0`; the port is read from anvil's "Listening on" line). Only
 * tests may use anvil-only RPC methods (evm_increaseTime, evm_snapshot, …); nothing else
 * depends on them, so any EVM JSON-RPC endpoint works in their place.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { SinewError } from '../core/index.ts'

export type AnvilOptions = {
  /** The EVM chain id (anvil's default is 31337). */
  chainId?: number
  /** Seconds between blocks; by default anvil mines one block per transaction. */
  blockTime?: number
  /** The port (default 0: the OS picks one). */
  port?: number
  /** More anvil arguments. */
  args?: readonly string[]
  /** How long to wait for the RPC to answer (default 30 s). */
  startTimeoutMs?: number
}

export type Anvil = {
  readonly rpcUrl: string
  readonly port: number
  readonly chainId: number
  readonly process: ChildProcess
  /** Stops anvil (SIGTERM, then SIGKILL after 5 s); resolves once it has exited. */
  stop(): Promise<void>
}

/** The anvil binary of this platform's `@foundry-rs/anvil-<os>-<arch>` package. */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url)
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const os = process.platform === 'win32' ? 'win32' : process.platform
  const pkg = `@foundry-rs/anvil-${os}-${arch}`
  let dir: string
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`))
  } catch (e) {
    throw new SinewError({
      code: 'anvil_unavailable',
      message: `anvil is not installed for ${os}-${arch}`,
      details: { package: pkg },
      hint: 'Run `npm install` (the optional dependency of @foundry-rs/anvil for this platform ships the binary).',
      cause: e,
    })
  }
  const file = join(dir, 'bin', os === 'win32' ? 'anvil.exe' : 'anvil')
  if (!existsSync(file)) throw new SinewError({ code: 'anvil_unavailable', message: `anvil binary missing at ${file}`, details: { package: pkg } })
  return file
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const chainId = options.chainId ?? 31337
  const args = ['--host', '127.0.0.1', '--port', String(options.port ?? 0), '--chain-id', String(chainId)]
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime))
  args.push(...(options.args ?? []))
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let output = ''
  let onEarlyExit: ((code: number | null) => void) | undefined
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`anvil did not start within ${options.startTimeoutMs ?? 30_000} ms`), options.startTimeoutMs ?? 30_000)
    const fail = (message: string) => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new SinewError({ code: 'anvil_unavailable', message, details: { output: output.slice(-2000) } }))
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.once('error', (e) => fail(`anvil could not be started: ${e.message}`))
    onEarlyExit = (code) => fail(`anvil exited with code ${code} before listening`)
    child.once('exit', onEarlyExit)
  })
  // Keep draining its log so a full pipe never stalls it.
  child.stdout!.removeAllListeners('data')
  child.stdout!.resume()
  child.stderr!.resume()
  child.off('exit', onEarlyExit!)
  const rpcUrl = `http://127.0.0.1:${port}`
  await waitForRpc(rpcUrl, options.startTimeoutMs ?? 30_000)
  return {
    rpcUrl,
    port,
    chainId,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Waits until `eth_chainId` answers at `rpcUrl`. */
async function waitForRpc(rpcUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      })
      if (res.ok) return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new SinewError({ code: 'anvil_unavailable', message: `anvil at ${rpcUrl} did not answer within ${timeoutMs} ms` })
    await new Promise((r) => setTimeout(r, delay))
  }
}
