/**
 * The CLI as a user runs it, in child processes: keys in v3 key files, a non-dev chain
 * made by `sinew init` with an encrypted sequencer key, a transfer signed from a key file,
 * and a state proof fetched and checked offline (and refused once tampered with).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort, runCli, spawnNode, tempDir } from './helpers.ts'

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

describe('sinew CLI', () => {
  it('keys new, import and list keep v3 key files', async () => {
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
  })

  it('init makes a chain with an encrypted sequencer key; a transfer signed from a key file is acknowledged', async () => {
    const init = await runCli(['init', '--data-dir', dataDir, '--chain-id', '777', '--alloc', `${alice}=5000000000000000000`, '--json'], env)
    expect(init.code).toBe(0)
    const made = JSON.parse(init.stdout)
    expect(made.genesis).toMatchObject({ chainId: '777', network: 'local' })
    expect(made.genesis.insecure).toBeUndefined()
    expect(readdirSync(dataDir).sort()).toEqual(['genesis.json', 'node-key.json'])
    expect(JSON.parse(readFileSync(join(dataDir, 'node-key.json'), 'utf8')).address).toBe(made.genesis.sequencer.slice(2))

    const twice = await runCli(['init', '--data-dir', dataDir], env)
    expect(twice.code).toBe(1)
    expect(twice.stderr).toContain('already_initialised')

    const port = freePort()
    node = await spawnNode(['--data-dir', dataDir], port, env)
    const url = `http://127.0.0.1:${port}`
    const sent = await runCli(['tx', 'transfer', '--from', alice, '--to', made.genesis.sequencer, '--amount', '1.25', '--node', url, '--json'], env)
    expect(sent.stderr).toBe('')
    expect(JSON.parse(sent.stdout)).toMatchObject({ height: '1', from: alice })

    const wrong = await runCli(['tx', 'transfer', '--from', alice, '--to', made.genesis.sequencer, '--amount', '1', '--node', url], {
      ...env,
      SINEW_PASSWORD: 'nope',
    })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain('wrong_password')

    const account = JSON.parse((await runCli(['account', alice, '--node', url, '--json'])).stdout)
    expect(account).toMatchObject({ balance: '3750000000000000000', nonce: '1' })
    const block = JSON.parse((await runCli(['block', '1', '--node', url, '--json'])).stdout)
    expect(block.txHashes).toHaveLength(1)
    const human = await runCli(['account', alice, '--node', url])
    expect(human.stdout).toContain('3.75 SIN')
  })

  it('a state proof verifies offline, and fails once tampered with', async () => {
    const status = await runCli(['status', '--json', '--node', nodeUrl()])
    const sequencer = JSON.parse(status.stdout).sequencer
    const file = join(tmp.dir, 'proof.json')
    expect((await runCli(['proof', 'get', alice, '--node', nodeUrl(), '--out', file])).code).toBe(0)
    const ok = await runCli(['proof', 'verify', file, '--sequencer', sequencer, '--json'])
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, present: true, key: `acct/${alice}`, height: '1' })

    const absentFile = join(tmp.dir, 'absent.json')
    expect((await runCli(['proof', 'get', '0x000000000000000000000000000000000000dead', '--node', nodeUrl(), '--out', absentFile])).code).toBe(0)
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
  })
})

let port0 = 0
function nodeUrl(): string {
  if (!port0) {
    const args = (node as unknown as { spawnargs: string[] }).spawnargs
    port0 = Number(args[args.indexOf('--port') + 1])
  }
  return `http://127.0.0.1:${port0}`
}
