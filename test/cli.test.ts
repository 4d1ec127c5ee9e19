/**
 * The CLI as a user runs it, in child processes: keys in v3 key files, a non-dev chain
 * made by `sinew init` with an encrypted sequencer key, a transfer signed from a key file,
 * and a state proof fetched and checked offline (and refused once tampered with).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { formatUnits } from '../src/core/index.ts'
import { runCli, spawnNode, tempDir } from './helpers.ts'

const tmp = tempDir()
const keysDir = join(tmp.dir, 'keys')
const dataDir = join(tmp.dir, 'chain')
const env = { SINEW_PASSWORD: 'correct horse', SINEW_NODE_PASSWORD: 'node secret', SINEW_KEYS_DIR: keysDir }
const aliceKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'
const alice = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
let node: ChildProcess | undefined

afterAll(() => {
  node?.kill('SIGKILL')
  tmp.cleanup()
})

/**
 * The chain the node tests share, made on first use (so each test also runs alone): alice's
 * key imported into the key dir, `sinew init` with a 5 SIN alloc to her, and `sinew node` on it.
 */
let chainSetup: Promise<{ made: any; filesAfterInit: string[]; url: string }> | undefined
const chain = () =>
  (chainSetup ??= (async () => {
    const imported = await runCli(['keys', 'import', '--scrypt-n', '1024', '--json'], { ...env, SINEW_PRIVATE_KEY: aliceKey })
    expect(imported.code, imported.stderr).toBe(0)
    const init = await runCli(['init', '--data-dir', dataDir, '--chain-id', '777', '--alloc', `${alice}=5000000000000000000`, '--json'], env)
    expect(init.code, init.stderr).toBe(0)
    const filesAfterInit = readdirSync(dataDir).sort()
    const spawned = await spawnNode(['--data-dir', dataDir], env)
    node = spawned.child
    return { made: JSON.parse(init.stdout), filesAfterInit, url: spawned.url }
  })())
const account = async (url: string) => JSON.parse((await runCli(['account', alice, '--node', url, '--json'])).stdout)

// Each test spawns several CLI processes (tsx start-up, scrypt key files): CPU-bound work that
// takes minutes, not seconds, when CI runs other files beside it on 2 cores; hence 180 s.
describe('sinew CLI', () => {
  it('keys new, import and list keep v3 key files', async () => {
    const env = { SINEW_PASSWORD: 'correct horse', SINEW_KEYS_DIR: join(tmp.dir, 'keys-list') } // a key dir of its own
    const made = await runCli(['keys', 'new', '--scrypt-n', '1024', '--json'], env)
    expect(made.code).toBe(0)
    const entry = JSON.parse(made.stdout)
    expect(entry.address).toMatch(/^0x[0-9a-f]{40}$/)
    const file = JSON.parse(readFileSync(entry.file, 'utf8'))
    expect(file).toMatchObject({ version: 3, address: entry.address.slice(2), crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt' } })

    const imported = await runCli(['keys', 'import', '--scrypt-n', '1024', '--json'], { ...env, SINEW_PRIVATE_KEY: aliceKey })
    expect(imported.code).toBe(0)
    expect(JSON.parse(imported.stdout).address).toBe(alice)

    const again = await runCli(['keys', 'import', '--scrypt-n', '1024'], { ...env, SINEW_PRIVATE_KEY: aliceKey })
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('key_exists')

    const bad = await runCli(['keys', 'import'], { ...env, SINEW_PRIVATE_KEY: '0x1234' })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('invalid_private_key')

    const list = await runCli(['keys', 'list', '--json'], env)
    expect(
      JSON.parse(list.stdout)
        .map((k: { address: string }) => k.address)
        .sort(),
    ).toEqual([alice, entry.address].sort())
  }, 180_000)

  it('init makes a chain with an encrypted sequencer key; a transfer signed from a key file is acknowledged', async () => {
    const { made, filesAfterInit, url } = await chain()
    expect(made.genesis).toMatchObject({ chainId: '777', network: 'local' })
    expect(made.genesis.insecure).toBeUndefined()
    expect(filesAfterInit).toEqual(['genesis.json', 'node-key.json'])
    expect(JSON.parse(readFileSync(join(dataDir, 'node-key.json'), 'utf8')).address).toBe(made.genesis.sequencer.slice(2))

    const twice = await runCli(['init', '--data-dir', dataDir], env)
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain('already_initialised')

    const before = await account(url)
    const sent = await runCli(['tx', 'transfer', '--from', alice, '--to', made.genesis.sequencer, '--amount', '1.25', '--node', url, '--json'], env)
    expect(sent.stderr).toBe('')
    const ack = JSON.parse(sent.stdout)
    expect(ack).toMatchObject({ from: alice })

    const wrong = await runCli(['tx', 'transfer', '--from', alice, '--to', made.genesis.sequencer, '--amount', '1', '--node', url], {
      ...env,
      SINEW_PASSWORD: 'nope',
    })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('wrong_password')

    const after = await account(url)
    expect(after).toMatchObject({ balance: String(BigInt(before.balance) - 1_250_000_000_000_000_000n), nonce: String(Number(before.nonce) + 1) })
    const block = JSON.parse((await runCli(['block', ack.height, '--node', url, '--json'])).stdout)
    expect(block.txHashes).toEqual([ack.hash])
    const human = await runCli(['account', alice, '--node', url])
    expect(human.stdout).toContain(`${formatUnits(BigInt(after.balance))} SIN`)
  }, 180_000)

  it('a state proof verifies offline, and fails once tampered with', async () => {
    const { url } = await chain()
    const status = await runCli(['status', '--json', '--node', url])
    const sequencer = JSON.parse(status.stdout).sequencer
    // A block that writes alice's account, signed by the sequencer, for the proof to be at.
    const sent = await runCli(['tx', 'transfer', '--from', alice, '--to', sequencer, '--amount', '0.01', '--node', url, '--json'], env)
    expect(sent.code, sent.stderr).toBe(0)
    const file = join(tmp.dir, 'proof.json')
    expect((await runCli(['proof', 'get', alice, '--node', url, '--out', file])).code).toBe(0)
    const ok = await runCli(['proof', 'verify', file, '--sequencer', sequencer, '--json'])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, present: true, key: `acct/${alice}`, height: JSON.parse(sent.stdout).height })

    const absentFile = join(tmp.dir, 'absent.json')
    expect((await runCli(['proof', 'get', '0x000000000000000000000000000000000000dead', '--node', url, '--out', absentFile])).code).toBe(0)
    expect(JSON.parse((await runCli(['proof', 'verify', absentFile, '--json'])).stdout)).toMatchObject({ ok: true, present: false })

    const bundle = JSON.parse(readFileSync(file, 'utf8'))
    const richer = '0x' + (BigInt('0x' + bundle.value.slice(2, 66)) + 1n).toString(16).padStart(64, '0') + bundle.value.slice(66)
    writeFileSync(file, JSON.stringify({ ...bundle, value: richer }))
    const bad = await runCli(['proof', 'verify', file])
    expect(bad.code).toBe(1)
    expect(bad.stdout).toContain('INVALID')

    writeFileSync(file, JSON.stringify({ ...bundle, header: { ...bundle.header, stateRoot: '0x' + '00'.repeat(32) } }))
    const badHeader = await runCli(['proof', 'verify', file, '--json'])
    expect(badHeader.code).toBe(1)
    expect(JSON.parse(badHeader.stdout).problems).toContain('the header hash does not match its fields')

    const wrongSequencer = await runCli(['proof', 'verify', absentFile, '--sequencer', alice, '--json'])
    expect(wrongSequencer.code).toBe(1)

    writeFileSync(file, '{not json')
    const malformed = await runCli(['proof', 'verify', file])
    expect(malformed.code).toBe(1)
    expect(malformed.stderr).toContain('malformed_json')
  }, 180_000)
})
