/**
 * The per-call cost of the per-key controls (docs/gateway.md, _Per-key controls_): the same
 * non-streamed call through a real node, with a key that has no controls and with one that has
 * all of them (model allow-list, requests and tokens per minute, concurrent calls, day/week/month
 * budgets), interleaved call by call so that the shared machine's noise falls on both alike;
 * plus `InMemoryCallLimits.admit` + `settle` + `release` alone.
 *
 *   nice npx tsx bench/controls.bench.ts      (or: npm run bench controls)
 */
import { performance } from 'node:perf_hooks'
import { InMemoryCallLimits } from '../src/gateway/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import { startFakeOpenAI } from '../test/gateway-fixtures.ts'
import { dev, grantApiKey, sendTx, startDevNode, tempDir } from '../test/helpers.ts'
import { median, percentile, writeResult } from './lib.ts'

const ROUNDS = 5
const CALLS = 200

async function main() {
  // 1. The limiter alone.
  const limits = new InMemoryCallLimits()
  const controls = {
    models: ['m'],
    requestsPerMinute: 4_000_000_000,
    tokensPerMinute: 4_000_000_000,
    concurrentCalls: 16,
    budgets: { day: '1' + '0'.repeat(30), week: '1' + '0'.repeat(30), month: '1' + '0'.repeat(30) },
  }
  const admitUs = (c: typeof controls | undefined) => {
    const n = 200_000
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const a = limits.admit({
        keyHash: 'k',
        payer: 'p',
        at: Date.now(),
        controls: c,
        periods: undefined,
        spendRemaining: undefined,
        balance: 10n ** 30n,
        maxFee: 1000n,
        maxTokens: 300,
        maxConcurrent: 16,
      })
      if (!a.ok) throw new Error('refused')
      a.settle(200)
      a.release()
    }
    return ((performance.now() - t0) * 1000) / n
  }
  const micro = {
    plainUs: median([admitUs(undefined), admitUs(undefined), admitUs(undefined)]),
    controlledUs: median([admitUs(controls), admitUs(controls), admitUs(controls)]),
  }
  console.log(`admit+settle+release: ${micro.plainUs.toFixed(2)} µs without controls, ${micro.controlledUs.toFixed(2)} µs with all of them`)

  // 2. Whole calls through a node.
  const tmp = tempDir('sinew-bench-controls-')
  const backend = await startFakeOpenAI()
  const running = await startDevNode(tmp.dir)
  try {
    const owner = dev[3]
    const caller = dev[4]
    await sendTx(running.url, owner.privateKey, 'RegisterModel', {
      name: 'm',
      description: 'bench',
      backend: `openai-compatible:${backend.url}#fixed`,
      datanets: [],
      pricePerMillion: '1000',
      contributorShareBps: '0',
    })
    const plain = await grantApiKey(running.url, caller.privateKey)
    const controlled = await grantApiKey(running.url, caller.privateKey)
    await sendTx(running.url, caller.privateKey, 'UpdateApiKey', {
      keyHash: hashApiKey(controlled),
      label: 'bench',
      spendLimit: '0',
      expiresAt: '0',
      models: ['m'],
      limits: [
        { name: 'requestsPerMinute', value: '4000000000' },
        { name: 'tokensPerMinute', value: '4000000000' },
        { name: 'concurrentCalls', value: '16' },
      ],
      budgets: ['day', 'week', 'month'].map((window) => ({ window, amount: controls.budgets.day })),
    })
    const call = async (key: string) => {
      const t0 = performance.now()
      const r = await fetch(`${running.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'go' }], max_tokens: 8 }),
      })
      await r.text()
      if (r.status !== 200) throw new Error(`call: ${r.status}`)
      return performance.now() - t0
    }
    const rounds: { plainP50: number; controlledP50: number; plainP99: number; controlledP99: number }[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const a: number[] = []
      const b: number[] = []
      for (let i = 0; i < CALLS; i++) {
        if (i % 2 === 0) {
          a.push(await call(plain))
          b.push(await call(controlled))
        } else {
          b.push(await call(controlled))
          a.push(await call(plain))
        }
      }
      rounds.push({ plainP50: median(a), controlledP50: median(b), plainP99: percentile(a, 99), controlledP99: percentile(b, 99) })
      console.log(
        `round ${round + 1}: p50 ${median(a).toFixed(2)} / ${median(b).toFixed(2)} ms, p99 ${percentile(a, 99).toFixed(1)} / ${percentile(b, 99).toFixed(1)} ms (plain / controlled)`,
      )
    }
    const summary = {
      plainP50Ms: median(rounds.map((r) => r.plainP50)),
      controlledP50Ms: median(rounds.map((r) => r.controlledP50)),
      plainP99Ms: median(rounds.map((r) => r.plainP99)),
      controlledP99Ms: median(rounds.map((r) => r.controlledP99)),
    }
    console.log(
      `median of ${ROUNDS} rounds: p50 ${summary.plainP50Ms.toFixed(2)} / ${summary.controlledP50Ms.toFixed(2)} ms, p99 ${summary.plainP99Ms.toFixed(1)} / ${summary.controlledP99Ms.toFixed(1)} ms`,
    )
    console.log(`wrote ${writeResult('controls', { micro, rounds, summary, calls: CALLS })}`)
  } finally {
    await running.close()
    await backend.close()
    tmp.cleanup()
  }
}

await main()
