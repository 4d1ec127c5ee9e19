/**
 * The crash loop (issue #11): a real `sinew node` process killed with SIGKILL at random
 * moments, drawn from a seed, while a mixed load runs against it:
 *
 * - transfers, one at a time and in batches of 20 (POST /v1/tx, /v1/txs);
 * - contributions with their uploads (PUT /v1/blobs with the signed permit, then the Contribute);
 * - a curator reviewing the acknowledged contributions and, in about half the rounds,
 *   publishing a version of what it accepted (each version an index build);
 * - paid model calls (the built-in ∞-gram model over version 1, behind an API key);
 * - tasks: posted, claimed, a result submitted and accepted;
 * - a reader watching the versions' builds.
 *
 * After each kill the node is started again, and before the next round:
 * - every record acknowledged in the round is there (a tx by its hash, the blob of an
 *   acknowledged contribution, the receipt of an answered model call);
 * - the whole chain replays from genesis without a mismatch (`sinew verify`'s replay, run in
 *   this process while the node is idle; the real `sinew verify` runs at the end);
 * - no version's index build is `failed`.
 * At the end every record acknowledged in any round is checked again, and every published
 * version's build must end `ready`.
 *
 * Used by bench/crash-loop.bench.ts (100 kills) and test/crash.test.ts (a few, fixed seed).
 * Each actor starts each round afresh from what the node says (nonces, pending
 * contributions): a tx the node committed but whose answer the kill cut off is simply not
 * counted as acknowledged, as a client would see it.
 */
import { createHash } from 'node:crypto'
import { mulberry32 as seededRandom } from '../bench/lib.ts'
import type { Hex } from '../src/core/index.ts'
import { replayChain } from '../src/ledger/index.ts'
import { hashApiKey } from '../src/models/index.ts'
import { createNodeRegistry, storeFile } from '../src/node/index.ts'
import { openSqliteStore } from '../src/store/index.ts'
import { datanetsClient, type DatanetsClient, type HttpResult } from './datanets-fixtures.ts'
import { dev, http, runCli, signTransfer } from './helpers.ts'
import { startNodeProcess, type NodeProcess } from './node-process.ts'

export type CrashLoopOptions = {
  /** A data dir made by `sinew init --dev` (empty chain). */
  dataDir: string
  kills: number
  seed: number
  /** Each round's load runs for a time drawn uniformly from [minLoadMs, maxLoadMs] before the kill. */
  minLoadMs?: number
  maxLoadMs?: number
  /** Stop killing once this many seconds have passed (then the end checks run): `kills` says how many were done. */
  maxSeconds?: number
  /** Per-document delay of index builds (SINEW_TEST_BUILD_DELAY_MS), so that kills land in builds too (default 20). */
  buildDelayMs?: number
  /** Progress lines. */
  log?: (line: string) => void
}

/** Acknowledged records by kind. */
export type AckCounts = { transfers: number; contributions: number; reviews: number; publishes: number; modelCalls: number; tasks: number }

export type CrashLoopResult = {
  /** Kills done, of `killsPlanned` (fewer only when `maxSeconds` ran out). */
  kills: number
  killsPlanned: number
  seed: number
  acknowledged: AckCounts & { total: number }
  /** Acknowledged records not found after a restart (must be empty). */
  lost: string[]
  /** Rounds whose `sinew verify` failed, with its report (must be empty). */
  verifyFailures: { round: number; output: string }[]
  /** Answers no client should get (a 5xx, or a refusal of a well-formed request): must be empty. */
  unexpected: string[]
  /** Versions published, and their final build states (all must be ready). */
  builds: { versions: number; ready: number; notReady: { version: number; state: string }[]; failedSeenAfterRestart: number }
  /** Kills that landed while an index build was under way (as the reader last saw it). */
  killsDuringBuild: number
  height: number
  txs: number
  /** Per round: time from spawn to listening, and the replay of the chain. */
  restartMs: number[]
  verifyMs: number[]
  seconds: number
}

export const WORDS =
  'lighthouse keeper counted gulls northern rail copper kettle bakery apprentice folded cardamom dough orchestra crickets porch dusk ferry captain tide tables green ink crossing heron meadow quarry bell blasting hawks reservoir miller grain amber lantern harbour'.split(
    ' ',
  )
export const MODEL = 'crash-loop'
export const API_KEY = `sk-sinew-${'c7'.repeat(32)}`
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

/** Accounts: 0 owns the Datanet and curates; 1–3 contribute; 4 owns the model; 5 pays for calls; 6–7 transfer; 8 posts tasks, 9 works them. */
const OWNER = dev[0]
const CONTRIBUTORS = [dev[1], dev[2], dev[3]]
const MODEL_OWNER = dev[4]
const PAYER = dev[5]
const SENDERS = [dev[6], dev[7]]
const POSTER = dev[8]
const WORKER = dev[9]

type Ack = { kind: keyof AckCounts; check: string }

/** One round: the node's URL, whether it is dead, what was acknowledged, what went wrong. */
type Round = { url: string; c: DatanetsClient; dead: boolean; acks: Ack[]; unexpected: string[]; sawBuilding: boolean; random: () => number }

/** True if the node answered; false if the connection failed (the node is gone). A 5xx or a refusal is recorded as unexpected. */
async function answered(
  round: Round,
  what: string,
  send: () => Promise<HttpResult>,
  ok = (r: HttpResult) => r.status === 200,
): Promise<HttpResult | undefined> {
  let r: HttpResult
  try {
    r = await send()
  } catch {
    return undefined // connection refused or reset: the node was killed
  }
  if (round.dead) return undefined
  if (!ok(r)) {
    round.unexpected.push(`${what}: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`)
    return undefined
  }
  return r
}

const txCheck = (hash: Hex) => `/v1/tx/${hash}`

async function transfers(round: Round, from: (typeof dev)[number], batch: number): Promise<void> {
  const nonceR = await answered(round, 'nonce', () => http(`${round.url}/v1/accounts/${from.address}`))
  if (!nonceR) return
  let nonce = BigInt(nonceR.json.nonce)
  while (!round.dead) {
    const txs = await Promise.all(
      Array.from({ length: batch }, (_, i) => signTransfer(from.privateKey, { to: WORKER.address, amount: 1n, nonce: nonce + BigInt(i) })),
    )
    if (batch === 1) {
      const r = await answered(round, 'Transfer', () => http(`${round.url}/v1/tx`, { body: txs[0] }))
      if (!r) return
      round.acks.push({ kind: 'transfers', check: txCheck(r.json.hash) })
    } else {
      const r = await answered(
        round,
        'Transfer batch',
        () => http(`${round.url}/v1/txs`, { body: { txs } }),
        (x) => x.status === 200 && x.json.results.every((t: { ok: boolean }) => t.ok),
      )
      if (!r) return
      for (const t of r.json.results) round.acks.push({ kind: 'transfers', check: txCheck(t.hash) })
    }
    nonce += BigInt(batch)
  }
}

/**
 * Each contributor makes this many contributions a round (upload, then the Contribute), then
 * waits for the kill: enough that every round has some to review, few enough that the
 * curator keeps up and the versions' index builds stay short enough to finish.
 */
const CONTRIBUTIONS_PER_ROUND = 2
/** The chance that the curator publishes in a round where it has accepted something new. */
const PUBLISH_CHANCE = 0.5

/** The curator's work, kept across rounds: what is acknowledged but not reviewed, and accepted but not published. */
type Curation = { queue: Hex[]; acceptedSincePublish: number }

/** Contributes texts; each acknowledged one joins the curator's queue. */
async function contributions(round: Round, datanet: Hex, who: (typeof dev)[number], curation: Curation): Promise<void> {
  for (let n = 0; n < CONTRIBUTIONS_PER_ROUND && !round.dead; n++) {
    const words = Array.from({ length: 12 + Math.floor(round.random() * 20) }, () => WORDS[Math.floor(round.random() * WORDS.length)])
    const text = `${words.join(' ')} ${round.random().toString(36).slice(2)}.`
    const r = await answered(round, 'Contribute', () => round.c.contribute(who.privateKey, datanet, text, `c-${sha256(text).slice(0, 8)}`, 'text/plain'))
    if (!r) return
    round.acks.push({ kind: 'contributions', check: txCheck(r.json.hash) }, { kind: 'contributions', check: `/v1/blobs/${sha256(text)}` })
    curation.queue.push(r.json.contribution)
  }
}

/**
 * Reviews the contributions acknowledged so far (the queue outlives rounds: one
 * acknowledged before a kill is reviewed after it), accepting nearly all, and publishes a
 * version of what it accepted in about half the rounds (each version an index build, which
 * the next kill may land in). A review the node committed but whose answer a kill cut off
 * comes back `already_reviewed`: that one is done; likewise a publish whose answer a kill cut
 * off comes back `version_unchanged` when tried again.
 */
async function curator(round: Round, datanet: Hex, curation: Curation): Promise<void> {
  // At most one publish a round, and first thing in it, so that publishes stay regular however slow the machine makes reviews.
  let publishThisRound = round.random() < PUBLISH_CHANCE
  while (!round.dead) {
    if (publishThisRound && curation.acceptedSincePublish > 0) {
      const v = await answered(
        round,
        'PublishVersion',
        () => round.c.submit(OWNER.privateKey, 'PublishVersion', { datanet }),
        (x) => x.status === 200 || x.json?.error?.code === 'version_unchanged',
      )
      if (!v) return
      if (v.status === 200) round.acks.push({ kind: 'publishes', check: txCheck(v.json.hash) })
      curation.acceptedSincePublish = 0
      publishThisRound = false
    }
    while (curation.queue.length > 0 && !round.dead) {
      const contribution = curation.queue[0]
      const accept = round.random() < 0.9
      const r = await answered(
        round,
        'Review',
        () => round.c.submit(OWNER.privateKey, 'Review', { contribution, accept, reason: accept ? '' : 'off topic' }),
        (x) => x.status === 200 || x.json?.error?.code === 'already_reviewed',
      )
      if (!r) return
      curation.queue.shift()
      if (r.status !== 200) continue
      round.acks.push({ kind: 'reviews', check: txCheck(r.json.hash) })
      if (accept) curation.acceptedSincePublish++
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function modelCalls(round: Round): Promise<void> {
  while (!round.dead) {
    const prompt = WORDS.slice(Math.floor(round.random() * (WORDS.length - 3)))
      .slice(0, 3)
      .join(' ')
    const r = await answered(round, 'chat completion', () =>
      http(`${round.url}/v1/chat/completions`, {
        body: { model: MODEL, messages: [{ role: 'user', content: prompt }], max_tokens: 8 },
        headers: { authorization: `Bearer ${API_KEY}` },
      }),
    )
    if (!r) return
    round.acks.push({ kind: 'modelCalls', check: `/v1/receipts/${r.json.sinew.receipt}` })
  }
}

/** A PostTask message: a reward of 1000 base units, an hour to its deadline, the poster as verifier, a spec hash from `random`. */
export const postTaskMessage = (title: string, random: () => number) => ({
  title,
  specHash: `0x${sha256(String(random()))}`,
  reward: '1000',
  deadline: String(Date.now() + 3_600_000),
  leaseMs: '600000',
  claimStake: '0',
  verifiers: [],
  threshold: '0',
})

/** Post, claim, submit a result, accept it: each step's tx acknowledged before the next. */
async function tasks(round: Round): Promise<void> {
  while (!round.dead) {
    const posted = await answered(round, 'PostTask', () =>
      round.c.submit(POSTER.privateKey, 'PostTask', postTaskMessage('summarise the harbour log', round.random)),
    )
    if (!posted) return
    round.acks.push({ kind: 'tasks', check: txCheck(posted.json.hash) })
    const task = posted.json.receipt.result.task as Hex
    const steps: [(typeof dev)[number], string, Record<string, unknown>][] = [
      [WORKER, 'ClaimTask', { task, stake: '0' }],
      [WORKER, 'SubmitResult', { task, resultHash: `0x${sha256(task)}` }],
      [POSTER, 'VerifyResult', { task, accept: true }],
    ]
    for (const [who, type, message] of steps) {
      const r = await answered(round, type, () => round.c.submit(who.privateKey, type, message))
      if (!r) return
      round.acks.push({ kind: 'tasks', check: txCheck(r.json.hash) })
    }
  }
}

/** Reads the versions' build states until the node dies (remembering whether one was building). */
async function buildWatcher(round: Round, datanet: Hex): Promise<void> {
  while (!round.dead) {
    const r = await answered(round, 'versions', () => http(`${round.url}/v1/datanets/${datanet}/versions`))
    if (!r) return
    const states = (r.json.versions as { build: { state: string } }[]).map((v) => v.build.state)
    round.sawBuilding = states.includes('building')
    if (states.includes('failed')) round.unexpected.push(`a build failed: ${JSON.stringify(r.json.versions.filter((v: any) => v.build.state === 'failed'))}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * The Datanet with a ready version 1 (owned by dev 0), the built-in model `MODEL` over it
 * (dev 4) and `API_KEY` (paid by dev 5): made once, before the first kill (and by bench/soak.bench.ts).
 */
export async function setUpDatanetAndModel(url: string): Promise<Hex> {
  const c = await datanetsClient(url)
  const ok = (r: HttpResult, what: string) => {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`)
    return r.json
  }
  const created = ok(
    await c.submit(OWNER.privateKey, 'CreateDatanet', {
      name: 'Crash loop',
      description: 'written to while the node is killed',
      license: 'CC0-1.0',
      mediaTypes: ['text/plain'],
      maxSize: '100000',
      stake: '0',
    }),
    'CreateDatanet',
  )
  const datanet = created.receipt.result.datanet as Hex
  const first = ok(await c.contribute(CONTRIBUTORS[0].privateKey, datanet, WORDS.join(' '), 'words', 'text/plain'), 'Contribute')
  ok(await c.submit(OWNER.privateKey, 'Review', { contribution: first.contribution, accept: true, reason: '' }), 'Review')
  ok(await c.submit(OWNER.privateKey, 'PublishVersion', { datanet }), 'PublishVersion')
  const v1 = await c.waitReady(datanet, 1, 120_000)
  if (v1.build.state !== 'ready') throw new Error(`version 1 did not build: ${JSON.stringify(v1.build)}`)
  ok(
    await c.submit(MODEL_OWNER.privateKey, 'RegisterModel', {
      name: MODEL,
      description: 'the crash loop model',
      backend: 'builtin:infinigram',
      datanets: [`${datanet}@1`],
      pricePerMillion: '1000000000000000',
      contributorShareBps: '5000',
    }),
    'RegisterModel',
  )
  ok(await c.submit(PAYER.privateKey, 'GrantApiKey', { keyHash: hashApiKey(API_KEY), label: 'crash loop', spendLimit: '0', expiresAt: '0' }), 'GrantApiKey')
  return datanet
}

/** The checks of `acks` that fail now. */
async function missing(url: string, acks: readonly Ack[]): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < acks.length; i += 32) {
    const slice = acks.slice(i, i + 32)
    const found = await Promise.all(slice.map(async (a) => (await fetch(`${url}${a.check}`)).status))
    slice.forEach((a, j) => found[j] !== 200 && out.push(`${a.kind} ${a.check} (${found[j]})`))
  }
  return out
}

/** What `sinew verify` does (src/cli/commands/verify.ts), in this process: the store read-only, the chain replayed from genesis. */
async function replay(dataDir: string): Promise<{ ok: boolean; output: string; txs: number; height: number }> {
  const store = openSqliteStore(storeFile(dataDir), { readonly: true })
  try {
    const report = await replayChain(store, createNodeRegistry(), { workers: 1 })
    return { ok: report.ok, output: JSON.stringify(report).slice(0, 2000), txs: report.txs, height: report.blocks }
  } finally {
    await store.close()
  }
}

/** `sinew verify --json` in its own process. */
async function verify(dataDir: string): Promise<{ ok: boolean; output: string; txs: number; height: number }> {
  const r = await runCli(['verify', '--data-dir', dataDir, '--json'])
  try {
    const report = JSON.parse(r.stdout)
    return { ok: r.code === 0 && report.ok === true, output: r.stdout.slice(0, 2000), txs: report.txs, height: report.blocks }
  } catch {
    return { ok: false, output: `${r.stdout}\n${r.stderr}`.slice(0, 2000), txs: 0, height: 0 }
  }
}

export async function runCrashLoop(o: CrashLoopOptions): Promise<CrashLoopResult> {
  const log = o.log ?? (() => {})
  // The kill moments come from their own sequence, so they are the same for a seed however the load interleaves.
  const killRandom = seededRandom(o.seed)
  const minLoad = o.minLoadMs ?? 200
  const maxLoad = o.maxLoadMs ?? 3000
  const t0 = performance.now()
  const all: Ack[] = []
  const lost: string[] = []
  const unexpected: string[] = []
  const verifyFailures: CrashLoopResult['verifyFailures'] = []
  const restartMs: number[] = []
  const verifyMs: number[] = []
  let failedSeenAfterRestart = 0
  let killsDuringBuild = 0
  let last = { txs: 0, height: 0 }

  const start = async () => {
    const t = performance.now()
    // Index builds slowed (per document) so that kills land in them too.
    // A generous start timeout: on a loaded machine a start under tsx can take a minute.
    const node = await startNodeProcess({ dataDir: o.dataDir, timeoutMs: 300_000, env: { SINEW_TEST_BUILD_DELAY_MS: String(o.buildDelayMs ?? 20) } })
    restartMs.push(performance.now() - t)
    return node
  }
  let node: NodeProcess = await start()
  const datanet = await setUpDatanetAndModel(node.url)
  const curation: Curation = { queue: [], acceptedSincePublish: 0 }
  log(`crash loop: seed ${o.seed}, ${o.kills} kills, load ${minLoad}-${maxLoad} ms a round`)

  let kills = 0
  for (let k = 1; k <= o.kills; k++) {
    if (o.maxSeconds !== undefined && (performance.now() - t0) / 1000 > o.maxSeconds) {
      log(`crash loop: ${o.maxSeconds} s are up after ${kills} kills; the end checks follow`)
      break
    }
    kills = k
    const round: Round = {
      url: node.url,
      c: await datanetsClient(node.url),
      dead: false,
      acks: [],
      unexpected: [],
      sawBuilding: false,
      random: seededRandom(o.seed * 1009 + k),
    }
    const actors = [
      transfers(round, SENDERS[0], 1),
      transfers(round, SENDERS[1], 20),
      ...CONTRIBUTORS.map((who) => contributions(round, datanet, who, curation)),
      curator(round, datanet, curation),
      modelCalls(round),
      tasks(round),
      buildWatcher(round, datanet),
    ]
    const loadMs = minLoad + Math.floor(killRandom() * (maxLoad - minLoad))
    await new Promise((r) => setTimeout(r, loadMs))
    await node.stop('SIGKILL')
    round.dead = true
    await Promise.all(actors)
    if (round.sawBuilding) killsDuringBuild++
    unexpected.push(...round.unexpected.map((u) => `round ${k}: ${u}`))
    all.push(...round.acks)

    node = await start()
    const gone = await missing(node.url, round.acks)
    lost.push(...gone.map((g) => `round ${k}: ${g}`))
    const versions = (await http(`${node.url}/v1/datanets/${datanet}/versions`)).json.versions as { version: number; build: { state: string } }[]
    failedSeenAfterRestart += versions.filter((v) => v.build.state === 'failed').length
    log(
      `kill ${k}/${o.kills} after ${loadMs} ms${round.sawBuilding ? ' (mid-build)' : ''}: ${round.acks.length} acknowledged (${all.length} in all), ` +
        `lost ${gone.length}, ${versions.length} versions` +
        (round.unexpected.length ? `, ${round.unexpected.length} unexpected: ${round.unexpected[0]}` : ''),
    )
    // `sinew verify`'s replay, run here (no process to start each round) while the node is idle.
    const t = performance.now()
    const v = await replay(o.dataDir)
    verifyMs.push(performance.now() - t)
    if (!v.ok) verifyFailures.push({ round: k, output: v.output })
    else last = { txs: v.txs, height: v.height }
    log(`  verify after restart ${k}: ${v.ok ? 'ok' : 'FAILED'} (${v.height} blocks, ${v.txs} txs, ${Math.round(performance.now() - t)} ms)`)
  }

  // The end: every version's build finishes ready, and every acknowledged record is there.
  const c = await datanetsClient(node.url)
  const versions = (await http(`${node.url}/v1/datanets/${datanet}/versions`)).json.versions as { version: number }[]
  const notReady: { version: number; state: string }[] = []
  for (const { version } of versions) {
    const v = await c.waitReady(datanet, version, 300_000).catch((e: Error) => ({ build: { state: `timeout: ${e.message.slice(0, 200)}` } }))
    if (v.build.state !== 'ready') notReady.push({ version, state: v.build.state })
  }
  const goneAtEnd = await missing(node.url, all)
  lost.push(...goneAtEnd.map((g) => `at the end: ${g}`))
  await node.stop('SIGTERM')
  const final = await verify(o.dataDir)
  if (!final.ok) verifyFailures.push({ round: kills + 1, output: final.output })
  else last = { txs: final.txs, height: final.height }

  const counts: AckCounts = { transfers: 0, contributions: 0, reviews: 0, publishes: 0, modelCalls: 0, tasks: 0 }
  // A contribution counts once (its tx), not also for its blob.
  for (const a of all) if (!a.check.startsWith('/v1/blobs/')) counts[a.kind]++
  return {
    kills,
    killsPlanned: o.kills,
    seed: o.seed,
    acknowledged: { ...counts, total: Object.values(counts).reduce((a, b) => a + b, 0) },
    lost,
    verifyFailures,
    unexpected,
    builds: { versions: versions.length, ready: versions.length - notReady.length, notReady, failedSeenAfterRestart },
    killsDuringBuild,
    height: last.height,
    txs: last.txs,
    restartMs,
    verifyMs,
    seconds: (performance.now() - t0) / 1000,
  }
}
