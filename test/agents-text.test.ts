/**
 * Agent names, descriptions, endpoints and task titles that would show as something other
 * than they are (bidi overrides, terminal escapes, line separators): the node refuses them
 * at the tx rule, naming the field and the code point; and `sinew agent list/show` and
 * `sinew task list` print text stored before the rule existed with those characters
 * replaced. That older chain is a real node whose registry lacks the rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { agentKinds } from '../src/agents/index.ts'
import { sha256 } from '../src/core/index.ts'
import { createLedgerRegistry, type TxKindRegistry } from '../src/ledger/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { dev, runCli, sendTx, startDevNode, tempDir } from './helpers.ts'

const agent = dev[6]
const NAME = 'invoice\u202Efdp.exe' // shows as "invoiceexe.pdf"
const DESCRIPTION = 'fast\u001b[2J\u001b[31m and safe\u2028second line'
const ENDPOINT = 'https://agent.example/\u202Emcp'
const TITLE = 'pay\u2066 me\u2069 now\u001b]0;owned\u0007'
// biome-ignore lint/suspicious/noControlCharactersInRegex: it exists to find control characters in the output
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

let dirs: ReturnType<typeof tempDir>[] = []
let current: RunningNode
let older: RunningNode

/** The node's registry with the text rules of RegisterAgent and PostTask removed: a chain from before them. */
function registryWithoutTextRules(): TxKindRegistry {
  const registry = createLedgerRegistry()
  return registry.register(...agentKinds.map((k) => (k.type === 'RegisterAgent' || k.type === 'PostTask' ? { ...k, validate: undefined } : k)))
}

const submit = (url: string, type: string, message: Record<string, unknown>) =>
  sendTx(url, agent.privateKey, type, message).then(
    (ack) => ({ ok: true as const, ack }),
    (error) => ({ ok: false as const, error }),
  )

const registration = { name: NAME, description: DESCRIPTION, capabilities: ['summarize'], endpoint: ENDPOINT }
const task = (deadline: bigint) => ({
  title: TITLE,
  specHash: sha256('spec'),
  reward: '1000',
  deadline: deadline.toString(),
  leaseMs: '60000',
  claimStake: '0',
  verifiers: [],
  threshold: '0',
})

beforeAll(async () => {
  dirs = [tempDir(), tempDir()]
  current = await startDevNode(dirs[0].dir)
  older = await startDevNode(dirs[1].dir, {}, { registry: registryWithoutTextRules() })
})

afterAll(async () => {
  await current?.close()
  await older?.close()
  for (const d of dirs) d.cleanup()
})

describe('agent and task text', () => {
  it('the node refuses a RegisterAgent or PostTask with such text, naming the field and the code point; nothing is written', async () => {
    const height = current.node.chain.head.height
    for (const [field, value, codePoint] of [
      ['name', NAME, 'U+202E'],
      ['description', DESCRIPTION, 'U+001B'],
      ['endpoint', ENDPOINT, undefined],
    ] as const) {
      const r = await submit(current.url, 'RegisterAgent', { ...registration, name: 'fine', description: '', endpoint: '', [field]: value })
      expect(r.ok, field).toBe(false)
      if (!r.ok) expect(r.error).toMatchObject({ code: 'invalid_field', details: { field: `message.${field}`, ...(codePoint ? { codePoint } : {}) } })
    }
    const t = await submit(current.url, 'PostTask', task(current.node.now() + 3_600_000n))
    expect(!t.ok && t.error).toMatchObject({ code: 'invalid_field', details: { field: 'message.title', codePoint: 'U+2066' } })
    expect(current.node.chain.head.height).toBe(height)
    const cli = await runCli(['agent', 'register', '--dev-account', '6', '--name', NAME, '--node', current.url])
    expect(cli.code).toBe(1)
    expect(cli.stderr).toContain('message.name must not contain control characters, bidirectional overrides or isolates')
    expect(cli.stderr).toContain('U+202E')
  })

  it('agent list, agent show and task list print text stored before the rule with those characters replaced', async () => {
    expect((await submit(older.url, 'RegisterAgent', registration)).ok).toBe(true)
    expect((await submit(older.url, 'PostTask', task(older.node.now() + 3_600_000n))).ok).toBe(true)
    const list = await runCli(['agent', 'list', '--node', older.url])
    const show = await runCli(['agent', 'show', agent.address, '--node', older.url])
    const tasks = await runCli(['task', 'list', '--node', older.url])
    for (const r of [list, show, tasks]) {
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).not.toMatch(UNSAFE)
    }
    expect(list.stdout).toContain('invoice\ufffdfdp.exe')
    expect(show.stdout).toContain('invoice\ufffdfdp.exe')
    expect(show.stdout).toContain('fast\ufffd[2J\ufffd[31m and safe\ufffdsecond line')
    expect(show.stdout).toContain('https://agent.example/\ufffdmcp')
    expect(tasks.stdout).toContain('"pay\ufffd me\ufffd now\ufffd]0;owned\ufffd"')
    // --json is data for programs: the stored text, exactly.
    const json = await runCli(['agent', 'show', agent.address, '--node', older.url, '--json'])
    expect(JSON.parse(json.stdout).agent).toMatchObject({ name: NAME, description: DESCRIPTION, endpoint: ENDPOINT })
  }, 120_000) // four CLI runs, each a fresh process: on a loaded machine past the 60 s default
})
