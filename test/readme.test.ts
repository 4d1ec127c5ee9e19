/**
 * The README's snippets run as written: its JavaScript blocks (saved as .mjs beside the
 * package, as the README says, and run with node) and its first CLI block (run by sh with
 * SINEW_NODE pointing at the node), against a dev node seeded as `npm start` seeds it.
 * Checked on the ledger, not on what the snippets print.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { setupDemoModel } from '../src/cli/commands/model.ts'
import { seedSotu } from '../src/datanets/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, repoRoot, startDevNode, tempDir } from './helpers.ts'

const README = readFileSync(join(repoRoot, 'README.md'), 'utf8')
const blocks = (lang: string) => [...README.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1])
const RECIPIENT = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8'
const SIN = 10n ** 18n

let node: RunningNode
let tmp: ReturnType<typeof tempDir>

beforeAll(async () => {
  tmp = tempDir('sinew-readme-')
  node = await startDevNode(tmp.dir)
  await seedSotu(node.node, node.datanets, { ownerKey: dev[0].privateKey })
  expect(await setupDemoModel(node.url)).toMatchObject({ ok: true })
}, 120_000)

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env } })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('close', (code) => resolve({ code, out }))
  })
}

/** Saves a JavaScript block beside package.json (so its imports resolve) with the node's URL, and runs it. */
async function runJs(block: string, name: string) {
  const file = join(repoRoot, `.readme-${process.pid}-${name}.mjs`)
  writeFileSync(file, block.replaceAll('http://127.0.0.1:8545', node.url))
  try {
    return await run(process.execPath, [file])
  } finally {
    rmSync(file, { force: true })
  }
}

const balance = async (a: string) => BigInt((await http(`${node.url}/v1/accounts/${a}`)).json.balance)

it('has the blocks this test runs', () => {
  expect(blocks('js')).toHaveLength(2)
  expect(blocks('sh')[1]).toContain('npx sinew tx transfer')
})

it('the viem transfer moves 1.5 SIN', async () => {
  const before = await balance(RECIPIENT)
  const r = await runJs(blocks('js')[0], 'transfer')
  expect(r.code, r.out).toBe(0)
  expect(await balance(RECIPIENT)).toBe(before + (15n * SIN) / 10n)
})

it('the openai client gets an answer and a receipt that is on the ledger', async () => {
  const r = await runJs(blocks('js')[1], 'chat')
  expect(r.code, r.out).toBe(0)
  const id = /receipt: '(0x[0-9a-f]{64})'/.exec(r.out)?.[1]
  expect(id, r.out).toBeDefined()
  const receipt = await http(`${node.url}/v1/receipts/${id}`)
  expect(receipt.status).toBe(200)
  expect(receipt.json.model).toBe('sotu-infinigram')
})

it('the CLI block runs against the node SINEW_NODE names', async () => {
  const before = await balance(RECIPIENT)
  const r = await run('sh', ['-e', '-c', blocks('sh')[1]], { SINEW_NODE: node.url })
  expect(r.code, r.out).toBe(0)
  expect(await balance(RECIPIENT)).toBe(before + (15n * SIN) / 10n)
}, 120_000)
