/**
 * One validator of tx envelopes: the same bad envelope gets the same error code and names
 * the same field (under the root of where it was sent: `tx`, `txs[0]`, `signedTx`) whether
 * it comes to POST /v1/tx, to POST /v1/txs, to POST /v1/datanets/:id/contributions or to
 * an MCP write tool as signedTx; and nothing changes on the ledger.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { DEV_CHAIN_ID, dev, http, startDevNode, tempDir } from './helpers.ts'

let node: RunningNode
let tmp: ReturnType<typeof tempDir>
let url: string
let mcp: Client
const agent = dev[2]
const TASK: Hex = `0x${'11'.repeat(32)}`

/** A ClaimTask signed with viem, as an agent's own wallet signs it. */
async function claimTask(): Promise<Record<string, unknown>> {
  const signature = await privateKeyToAccount(agent.privateKey).signTypedData({
    domain: { name: 'Sinew', version: '1', chainId: DEV_CHAIN_ID },
    types: {
      ClaimTask: [
        { name: 'task', type: 'bytes32' },
        { name: 'stake', type: 'uint256' },
        { name: 'nonce', type: 'uint64' },
      ],
    },
    primaryType: 'ClaimTask',
    message: { task: TASK, stake: 0n, nonce: 0n },
  })
  return { type: 'ClaimTask', message: { task: TASK, stake: '0', nonce: '0' }, signature }
}

type Refusal = { code: string; field: string | undefined }

/** The error's code and its field with the root (`tx`, `txs[0]`, `signedTx`) taken off. */
function refusal(error: { code: string; details?: { field?: string } }, root: string): Refusal {
  const field = error.details?.field
  return { code: error.code, field: field?.startsWith(root) ? field.slice(root.length) : field }
}

async function viaTx(envelope: unknown): Promise<Refusal> {
  const r = await http(`${url}/v1/tx`, { body: envelope })
  expect(r.status).toBe(400)
  return refusal(r.json.error, 'tx')
}

async function viaBatch(envelope: unknown): Promise<Refusal> {
  const r = await http(`${url}/v1/txs`, { body: { txs: [envelope] } })
  expect(r.status).toBe(200)
  expect(r.json.results[0].ok).toBe(false)
  return refusal(r.json.results[0].error, 'txs[0]')
}

async function viaContributions(envelope: unknown): Promise<Refusal> {
  const r = await http(`${url}/v1/datanets/${TASK}/contributions`, { body: envelope })
  expect(r.status).toBe(400)
  return refusal(r.json.error, 'tx')
}

async function viaMcp(envelope: unknown): Promise<Refusal> {
  const r = (await mcp.callTool({ name: 'claim_task', arguments: { signedTx: envelope } })) as {
    isError?: boolean
    content: { text: string }[]
    structuredContent?: any
  }
  expect(r.isError, r.content[0]?.text).toBe(true)
  expect(r.structuredContent?.error, r.content[0]?.text).toBeDefined()
  return refusal(r.structuredContent.error, 'signedTx')
}

async function snapshot() {
  const s = (await http(`${url}/v1/status`)).json
  return { height: s.height, stateRoot: s.stateRoot }
}

beforeAll(async () => {
  tmp = tempDir()
  node = await startDevNode(tmp.dir)
  url = node.url
  mcp = new Client({ name: 'envelope-test', version: '1.0.0' })
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)))
})

afterAll(async () => {
  await mcp?.close()
  await node?.close()
  tmp?.cleanup()
})

describe('the same bad envelope, the same error on every way in', () => {
  // Where a case goes besides POST /v1/tx and POST /v1/txs: 'all' (the contributions route
  // and MCP too), 'routes' (the contributions route), 'open' (nowhere else: a route or tool
  // that takes one kind refuses any other type by its own check first).
  type Ways = 'all' | 'routes' | 'open'
  // [name, how to spoil a good envelope, the code, the field under the root, ways in]
  const cases: [string, (tx: Record<string, unknown>) => unknown, string, string, Ways][] = [
    ['an extra envelope field', (tx) => ({ ...tx, gas: '1' }), 'unknown_field', '.gas', 'all'],
    ['no signature', ({ signature: _drop, ...tx }) => tx, 'missing_field', '.signature', 'all'],
    ['a signature that is not a string', (tx) => ({ ...tx, signature: 12 }), 'invalid_field', '.signature', 'all'],
    ['a message that is a list', (tx) => ({ ...tx, message: [] }), 'invalid_field', '.message', 'all'],
    ['no message', ({ message: _drop, ...tx }) => tx, 'missing_field', '.message', 'all'],
    ['a chainId as a JSON number', (tx) => ({ ...tx, chainId: Number(DEV_CHAIN_ID) }), 'invalid_field', '.chainId', 'all'],
    ['a from that is not an address', (tx) => ({ ...tx, from: '0x1234' }), 'invalid_address', '.from', 'all'],
    // An MCP tool takes only its own kind, so it refuses these by signedTx.type before anything else.
    ['a type that is not a string', (tx) => ({ ...tx, type: 7 }), 'invalid_field', '.type', 'routes'],
    ['an unknown type', (tx) => ({ ...tx, type: 'Teleport' }), 'unknown_tx_type', '.type', 'open'],
    // MCP's own argument check takes a signedTx only as an object.
    ['not an object', () => 'ClaimTask', 'invalid_envelope', '', 'routes'],
  ]
  for (const [name, spoil, code, field, ways] of cases) {
    it(name, async () => {
      const before = await snapshot()
      const bad = spoil(await claimTask())
      const expected = { code, field }
      expect(await viaTx(bad), 'POST /v1/tx').toEqual(expected)
      expect(await viaBatch(bad), 'POST /v1/txs').toEqual(expected)
      if (ways !== 'open') expect(await viaContributions(bad), 'POST /v1/datanets/:id/contributions').toEqual(expected)
      if (ways === 'all') expect(await viaMcp(bad), 'MCP claim_task signedTx').toEqual(expected)
      expect(await snapshot()).toEqual(before)
    })
  }
})
