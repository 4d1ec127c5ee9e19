/**
 * Failed API-key authentications are limited per client, also behind a reverse proxy and
 * through a replica: the node believes X-Forwarded-For only from the proxies the operator
 * lists (`trustProxy`), and a replica forwards the client's address to its leader, which
 * believes it only if it lists the replica. Real TCP from chosen 127.0.0.x addresses (each
 * another host to the node).
 */
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hashApiKey, newApiKey } from '../src/models/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient } from './datanets-fixtures.ts'
import { dev, startDevNode, startReplica, tempDir, waitFor } from './helpers.ts'

/** The leader's reverse proxy; the replica reaches the leader from 127.0.0.1. */
const PROXY = '127.0.0.2'
let leader: RunningNode
let replica: RunningNode
let apiKey: string
const dirs: ReturnType<typeof tempDir>[] = []

beforeAll(async () => {
  const a = tempDir('sinew-proxy-leader-')
  const b = tempDir('sinew-proxy-replica-')
  dirs.push(a, b)
  leader = await startDevNode(a.dir, { trustProxy: [PROXY, '127.0.0.1'] })
  const c = await datanetsClient(leader.url)
  apiKey = newApiKey()
  const r = await c.submit(dev[0].privateKey, 'GrantApiKey', { keyHash: hashApiKey(apiKey), label: 'proxy', spendLimit: '0', expiresAt: '0' })
  expect(r.status).toBe(200)
  replica = await startReplica(b.dir, leader.url)
  await waitFor(
    async () => replica.node.chain.head.height,
    (h) => h >= leader.node.chain.head.height,
  )
}, 60_000)

afterAll(async () => {
  await replica?.close()
  await leader?.close()
  for (const d of dirs) d.cleanup()
})

/** A chat call from `localAddress` to `node` (a model that does not exist: a valid key gets as far as model_not_found). */
function callFrom(node: RunningNode, localAddress: string, key: string, forwardedFor?: string): Promise<{ status: number; code: string }> {
  const { port } = new URL(node.url)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        localAddress,
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
      },
      (res) => {
        let text = ''
        res.on('data', (d) => (text += d))
        res.on('end', () => resolve({ status: res.statusCode!, code: JSON.parse(text).error?.code }))
      },
    )
    req.on('error', reject)
    req.end(JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }))
  })
}

describe('failed authentications are counted per client', () => {
  it('behind a trusted proxy: per X-Forwarded-For client, so one guesser does not lock out the others', async () => {
    for (let i = 0; i < 20; i++) expect((await callFrom(leader, PROXY, newApiKey(), '198.51.100.7')).code).toBe('invalid_api_key')
    expect((await callFrom(leader, PROXY, newApiKey(), '198.51.100.7')).code).toBe('too_many_auth_failures')
    expect((await callFrom(leader, PROXY, apiKey, '198.51.100.7')).code).toBe('too_many_auth_failures')
    // Another client behind the same proxy, and one behind a chain of proxies ending at it.
    expect((await callFrom(leader, PROXY, apiKey, '198.51.100.8')).code).toBe('model_not_found')
    expect((await callFrom(leader, PROXY, apiKey, '198.51.100.7, 198.51.100.9')).code).toBe('model_not_found')
  })

  it('from a peer that is not a trusted proxy, X-Forwarded-For is ignored: spoofing it does not buy fresh attempts', async () => {
    for (let i = 0; i < 20; i++) expect((await callFrom(leader, '127.0.0.5', newApiKey(), i % 2 ? `203.0.113.${i}` : '127.0.0.8')).code).toBe('invalid_api_key')
    expect((await callFrom(leader, '127.0.0.5', apiKey, '203.0.113.99')).code).toBe('too_many_auth_failures')
    // Through a trusted proxy, only the address the proxy saw counts, not what the client wrote before it.
    for (let i = 0; i < 20; i++) expect((await callFrom(leader, PROXY, newApiKey(), `203.0.113.${i}, 192.0.2.50`)).code).toBe('invalid_api_key')
    expect((await callFrom(leader, PROXY, apiKey, '203.0.113.77, 192.0.2.50')).code).toBe('too_many_auth_failures')
    // Nor can a guesser lock out the clients it names: they are not charged for its failures.
    expect((await callFrom(leader, PROXY, apiKey, '203.0.113.5')).code).toBe('model_not_found')
    expect((await callFrom(leader, '127.0.0.8', apiKey)).code).toBe('model_not_found')
  })

  it("through a replica: the leader counts the replica's clients apart (the replica is in the leader's trustProxy)", async () => {
    for (let i = 0; i < 20; i++) expect((await callFrom(replica, '127.0.0.6', newApiKey())).code).toBe('invalid_api_key')
    expect((await callFrom(replica, '127.0.0.6', apiKey)).code).toBe('too_many_auth_failures')
    expect((await callFrom(replica, '127.0.0.7', apiKey)).code).toBe('model_not_found')
    // A client of the replica cannot choose its address by sending X-Forwarded-For itself.
    expect((await callFrom(replica, '127.0.0.6', apiKey, '198.51.100.200')).code).toBe('too_many_auth_failures')
  })
})
