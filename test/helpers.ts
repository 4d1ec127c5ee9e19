/** Shared pieces of the end-to-end tests: temp data dirs, dev keys, viem signing, a node in- or out-of-process. */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { loadConfig, type Clock, type Hex } from '../src/core/index.ts'
import { devAccounts } from '../src/ledger/keys/index.ts'
import { startNode, type RunningNode, type StartNodeOptions } from '../src/server/index.ts'
import { DEV_SEQUENCER_KEY, makeDevGenesis } from '../src/cli/data-dir.ts'
import { NodeClient, signEnvelope, type TypesInfo } from '../src/client/index.ts'
import { hashApiKey, newApiKey } from '../src/models/index.ts'

import { cliMain, repoRoot } from './node-process.ts'
import { testStoreFlags } from './pg.ts'

export { repoRoot }
export const dev = devAccounts(10)
export const DEV_CHAIN_ID = 31415n

export function tempDir(prefix = 'sinew-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

export const TRANSFER_TYPES = {
  Transfer: [
    { name: 'to', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'nonce', type: 'uint64' },
  ],
} as const

/** A Transfer envelope signed by viem's signTypedData, exactly as a wallet makes it. */
export async function signTransfer(
  privateKey: Hex,
  m: { to: Hex; amount: bigint; nonce: bigint },
  chainId = DEV_CHAIN_ID,
): Promise<{ type: 'Transfer'; message: { to: Hex; amount: string; nonce: string }; signature: Hex }> {
  const signature = await privateKeyToAccount(privateKey).signTypedData({
    domain: { name: 'Sinew', version: '1', chainId },
    types: TRANSFER_TYPES,
    primaryType: 'Transfer',
    message: m,
  })
  return { type: 'Transfer', message: { to: m.to, amount: m.amount.toString(), nonce: m.nonce.toString() }, signature }
}

const typesByNode = new Map<string, Promise<TypesInfo>>()

/**
 * Signs a `type` tx with `key` as a wallet would (the node's EIP-712 types, the account's next
 * nonce) and submits it to the node at `url`; resolves with the ack once it is in a block, or
 * rejects with the node's error.
 */
export async function sendTx(url: string, key: Hex, type: string, message: Record<string, unknown>) {
  const client = new NodeClient(url)
  const types = typesByNode.get(url) ?? client.get('/v1/types')
  typesByNode.set(url, types)
  const { nonce } = await client.get(`/v1/accounts/${privateKeyToAccount(key).address.toLowerCase()}`)
  return client.post('/v1/tx', await signEnvelope(key, await types, type, { ...message, nonce }))
}

/** A new API key of the account of `key`, granted on the ledger with GrantApiKey; returns the secret. */
export async function grantApiKey(url: string, key: Hex, o: { spendLimit?: bigint; expiresAt?: bigint; label?: string } = {}): Promise<string> {
  const secret = newApiKey()
  await sendTx(url, key, 'GrantApiKey', {
    keyHash: hashApiKey(secret),
    label: o.label ?? 'test',
    spendLimit: (o.spendLimit ?? 0n).toString(),
    expiresAt: (o.expiresAt ?? 0n).toString(),
  })
  return secret
}

/**
 * A dev node in this process, on a port the OS picks, over a real SQLite file (or, in the
 * `postgres` test project, a fresh PostgreSQL database: test/pg.ts); `overrides` are config flags.
 */
export async function startDevNode(
  dataDir: string,
  overrides: Record<string, unknown> = {},
  options: Omit<Partial<StartNodeOptions>, 'config'> = {},
): Promise<RunningNode> {
  const config = await testNodeConfig(dataDir, overrides)
  return startNode({ config, genesis: makeDevGenesis(), ...(overrides.follow ? {} : { sequencerKey: DEV_SEQUENCER_KEY }), ...options })
}

/** The config of a test node on `dataDir`: port 0, silent, the run's store (test/pg.ts), then `overrides`. */
export async function testNodeConfig(dataDir: string, overrides: Record<string, unknown> = {}) {
  const store = overrides.store === undefined ? await testStoreFlags(dataDir) : {}
  return loadConfig({ flags: { dataDir, port: 0, logLevel: 'silent', signatureWorkers: 1, ...store, ...overrides }, env: {} })
}

/** How many txs the node has committed, summed from its blocks' headers. */
export async function countTxs(running: RunningNode): Promise<number> {
  let n = 0
  for (let from = 1n; ; from += 1000n) {
    const blocks = await running.node.store.listBlocks(from, 1000)
    for (const b of blocks) n += b.txCount
    if (blocks.length < 1000) return n
  }
}

/**
 * A node clock that runs with the system clock but can be moved forward: a test that needs
 * a deadline or an expiry behind it advances the node's time past it instead of sleeping.
 */
export function testClock(): { now: Clock; advance(ms: number | bigint): void } {
  let offset = 0n
  return {
    now: () => BigInt(Date.now()) + offset,
    advance: (ms) => {
      offset += BigInt(ms)
    },
  }
}

/** A replica (`--follow`) of `leaderUrl` in this process, polling every 20 ms. */
export function startReplica(dataDir: string, leaderUrl: string, overrides: Record<string, unknown> = {}): Promise<RunningNode> {
  return startDevNode(dataDir, { follow: leaderUrl, followPollMs: 20, ...overrides })
}

/** Reads until `ok` holds (every 25 ms), and returns what it read; throws with the last value after `ms`. */
export async function waitFor<T>(read: () => Promise<T>, ok: (value: T) => boolean = Boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(value)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export async function http(url: string, init?: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> }) {
  const body = init?.raw ?? (init?.body === undefined ? undefined : JSON.stringify(init.body))
  const response = await fetch(url, {
    method: init?.method ?? (body === undefined ? 'GET' : 'POST'),
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init?.headers ?? {}) },
    body,
  })
  const text = await response.text()
  return { status: response.status, json: text ? JSON.parse(text) : undefined }
}

/** Runs the sinew CLI in a child process. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cliMain, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** A node in a child process: the process, and the URL it listens on (its port picked by the OS). */
export type SpawnedNode = { child: ChildProcess; url: string; port: number /** Everything it printed so far (stdout and stderr). */; output: () => string }

/** Starts `sinew node` in a child process on a port the OS picks, and resolves once it answers. */
export function spawnNode(args: string[], env: Record<string, string> = {}, options: { prefix?: string[] } = {}): Promise<SpawnedNode> {
  return spawnServer('node', args, env, options)
}

/**
 * Starts `sinew <command>` (`node` or `dev`) in a child process with `--port 0`, reads the
 * URL it prints ("… on http://127.0.0.1:PORT"), and resolves once it answers there.
 */
export async function spawnServer(
  command: 'node' | 'dev',
  args: string[],
  env: Record<string, string> = {},
  options: { prefix?: string[] } = {},
): Promise<SpawnedNode> {
  // `prefix` runs the node under another program (e.g. strace ... --): [program, ...its args].
  const argv = [...(options.prefix ?? []), process.execPath, '--import', 'tsx', cliMain, command, '--port', '0', '--log-level', 'warn', ...args]
  const child = spawn(argv[0], argv.slice(1), {
    cwd: repoRoot,
    // One process unless the test asks for serving workers (SINEW_WORKERS or --workers).
    env: { ...process.env, SINEW_WORKERS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  try {
    const url = await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`node exited early (${child.exitCode}): ${output}`)
        return / on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1]
      },
      Boolean,
      // A start under tsx on a loaded 2-core machine can take most of a minute.
      120_000,
    )
    await waitFor(
      () =>
        fetch(`${url}/v1/status`).then(
          (r) => r.ok,
          () => false,
        ),
      Boolean,
      30_000,
    )
    return { child, url: url!, port: Number(new URL(url!).port), output: () => output }
  } catch (e) {
    child.kill('SIGKILL')
    await exited
    throw new Error(`node did not start: ${(e as Error).message}\n${output}`)
  }
}
