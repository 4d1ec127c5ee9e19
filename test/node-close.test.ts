/**
 * Closing a node ends within its shutdown grace even when clients keep connections alive:
 * a call in flight when close() begins is answered, then its keep-alive connection is
 * closed (before, the connection stayed open for the server's 72 s keep-alive timeout and
 * close() waited for it).
 */
import { Agent, request } from 'node:http'
import { afterAll, expect, it } from 'vitest'
import { DEV_SEQUENCER_KEY, makeDevGenesis } from '../src/cli/data-dir.ts'
import { loadConfig } from '../src/core/index.ts'
import { hashApiKey, newApiKey } from '../src/models/index.ts'
import { startNode } from '../src/server/index.ts'
import { datanetsClient } from './datanets-fixtures.ts'
import { startFakeOpenAI } from './gateway-fixtures.ts'
import { dev, tempDir, waitFor } from './helpers.ts'

const tmp = tempDir('sinew-close-')
afterAll(() => tmp.cleanup())

it('close() answers the call in flight, closes its keep-alive connection and returns', async () => {
  const hang = await startFakeOpenAI()
  const config = loadConfig({ flags: { dataDir: tmp.dir, port: 0, logLevel: 'silent' }, env: {} })
  const running = await startNode({ config, genesis: makeDevGenesis(), sequencerKey: DEV_SEQUENCER_KEY, backendTimeoutMs: 1000 })
  try {
    const c = await datanetsClient(running.url)
    const model = {
      name: 'hang-llm',
      description: 'test',
      backend: `openai-compatible:${hang.url}#hang`,
      datanets: [],
      pricePerMillion: '1',
      contributorShareBps: '0',
    }
    expect((await c.submit(dev[3].privateKey, 'RegisterModel', model)).status).toBe(200)
    const secret = newApiKey()
    expect((await c.submit(dev[0].privateKey, 'GrantApiKey', { keyHash: hashApiKey(secret), label: 'k', spendLimit: '0', expiresAt: '0' })).status).toBe(200)

    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const url = new URL(running.url)
    const body = JSON.stringify({ model: 'hang-llm', messages: [{ role: 'user', content: 'hi' }] })
    let socketClosed = false
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        },
        (res) => {
          let text = ''
          res.on('data', (d) => (text += d))
          res.on('end', () => resolve({ status: res.statusCode!, body: text }))
        },
      )
      req.on('socket', (s) => s.on('close', () => (socketClosed = true)))
      req.on('error', reject)
      req.end(body)
    })
    const before = hang.requests
    await waitFor(
      async () => hang.requests,
      (n) => n > before,
    )
    // The call is now in flight at the backend; close the node under it.
    await running.close()
    const got = await answer
    expect(got.status).toBe(504)
    expect(JSON.parse(got.body).error.code).toBe('backend_timeout')
    await waitFor(
      async () => socketClosed,
      (closed) => closed,
    )
    agent.destroy()
  } finally {
    await running.close()
    await hang.close()
  }
}, 30_000)
