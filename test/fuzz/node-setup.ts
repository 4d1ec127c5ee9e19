/**
 * A node for a fuzz target: a dev node in this process over real HTTP and SQLite, blocks
 * cut every millisecond, with the signing keys a target signs with and pools of what
 * exists on it (Datanets, versions, contributions, tasks, models, API keys, blobs),
 * seeded with one of each so generated txs can refer to real things from the first case.
 */
import { createHash } from 'node:crypto'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { keccak256, type Hex } from '../../src/core/index.ts'
import { addressOf } from '../../src/ledger/index.ts'
import type { RunningNode } from '../../src/server/index.ts'
import { DEV_SEQUENCER_KEY, DEV_TREASURY_KEY } from '../../src/cli/data-dir.ts'
import { hashApiKey } from '../../src/models/index.ts'
import { datanetsClient, permitHeader, publishDatanetVersion, type SignedEnvelope } from '../datanets-fixtures.ts'
import { dev, startDevNode, tempDir } from '../helpers.ts'
import { emptyPools, type KindTypes, type Pools } from './arbitraries.ts'
import { InvariantViolation, NodeWatch, postJson, request, type Answer } from './harness.ts'

export type KindsDoc = { domain: { chainId: string }; kinds: Record<string, { primaryType: string; types: KindTypes }> }

/** A key with no SIN: its txs reach execution and fail there, or pass where nothing is paid. */
export const UNFUNDED_KEY = keccak256('sinew fuzz: an unfunded key') as Hex

export type FuzzNode = {
  node: RunningNode
  watch: NodeWatch
  url: string
  kinds: KindsDoc
  /** Signers by index: dev accounts 1-7, the sequencer, an unfunded key. */
  keys: Hex[]
  pools: Pools
  /** The API key (secret) granted by dev 0, for the OpenAI-compatible routes. */
  apiKey: string
  sign(key: Hex, type: string, wire: Record<string, unknown>): Promise<SignedEnvelope>
  /** The next nonce of an account, from the node. */
  nonceOf(address: string): bigint
  /** Adds what an accepted tx made to the pools. */
  learn(envelope: SignedEnvelope, answer: Answer): void
  close(): Promise<void>
}

const accounts = new Map<Hex, PrivateKeyAccount>()
const accountOf = (key: Hex): PrivateKeyAccount => {
  let a = accounts.get(key)
  if (!a) {
    a = privateKeyToAccount(key)
    accounts.set(key, a)
  }
  return a
}

/** The typed (viem) form of a wire message: integers as bigints, structs and arrays followed. */
export function typedMessage(types: KindTypes, type: string, wire: unknown): unknown {
  const array = /^(.*)\[(\d*)\]$/.exec(type)
  if (array) {
    if (!Array.isArray(wire)) throw new TypeError('not an array')
    return wire.map((w) => typedMessage(types, array[1], w))
  }
  if (types[type]) {
    if (wire === null || typeof wire !== 'object' || Array.isArray(wire)) throw new TypeError('not an object')
    const out: Record<string, unknown> = {}
    for (const f of types[type]) out[f.name] = typedMessage(types, f.type, (wire as Record<string, unknown>)[f.name])
    return out
  }
  if (/^u?int\d+$/.test(type)) {
    if (typeof wire !== 'string' || !/^(0|[1-9][0-9]*)$/.test(wire)) throw new TypeError('not a decimal integer')
    return BigInt(wire)
  }
  return wire
}

export async function signWire(kinds: KindsDoc, key: Hex, type: string, wire: Record<string, unknown>): Promise<SignedEnvelope> {
  const kind = kinds.kinds[type]
  const signature = await accountOf(key).signTypedData({
    domain: { name: 'Sinew', version: '1', chainId: BigInt(kinds.domain.chainId) },
    types: kind.types,
    primaryType: type,
    message: typedMessage(kind.types, type, wire),
  } as any)
  return { type, message: wire, signature }
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

/**
 * Uploads `bytes` with `permit` (the signed tx naming them) as PUT /v1/blobs does for a
 * client: the answer as is.
 */
export function uploadBlob(url: string, bytes: Uint8Array, permit: unknown): Promise<Answer> {
  return request(url, {
    method: 'PUT',
    path: '/v1/blobs',
    headers: { 'content-type': 'application/octet-stream', ...permitHeader(permit as SignedEnvelope) },
    body: bytes,
  })
}

export async function startFuzzNode(o: { overrides?: Record<string, unknown>; seed?: boolean } = {}): Promise<FuzzNode> {
  const t = tempDir('sinew-fuzz-')
  const node = await startDevNode(t.dir, { blockIntervalMs: 1, blobGcIntervalMs: 0, ...o.overrides })
  const url = node.url
  const kinds = (await request(url, { method: 'GET', path: '/v1/types' })).json as KindsDoc
  const keys: Hex[] = [...dev.slice(1, 8).map((a) => a.privateKey), DEV_SEQUENCER_KEY, UNFUNDED_KEY]
  const pools = emptyPools()
  pools.account.push(...keys.map((k) => addressOf(k)), addressOf(DEV_TREASURY_KEY), dev[0].address)
  const apiKey = 'sk-sinew-fuzz-' + keccak256('fuzz api key').slice(2, 34)
  const sign = (key: Hex, type: string, wire: Record<string, unknown>) => signWire(kinds, key, type, wire)
  const nonceOf = (address: string) => node.node.account(address.toLowerCase() as Hex).nonce

  const learn = (envelope: SignedEnvelope, answer: Answer): void => {
    const ack = answer.json as { hash?: string; receipt?: { result?: Record<string, unknown> } }
    if (answer.status !== 200 || !ack?.hash) return
    pools.txHash.push(ack.hash)
    const r = ack.receipt?.result ?? {}
    const m = envelope.message as Record<string, unknown>
    switch (envelope.type) {
      case 'CreateDatanet':
        pools.datanet.push(r.datanet as string)
        pools.datanetName.push(String(m.name))
        break
      case 'Contribute':
        pools.contribution.push(ack.hash)
        break
      case 'PublishVersion':
        pools.versionRef.push(`${r.datanet}@${r.version}`)
        pools.version.push(String(r.version))
        break
      case 'PostTask':
        pools.task.push(r.task as string)
        break
      case 'GrantApiKey':
        pools.keyHash.push(String(m.keyHash))
        break
      case 'RegisterModel':
        pools.model.push(String(m.name))
        break
      case 'RecordReceipt':
        pools.receipt.push(String(m.id))
        break
    }
  }

  const close = async () => {
    await node.close()
    t.cleanup()
  }
  const fuzzNode: FuzzNode = { node, watch: new NodeWatch(node), url, kinds, keys, pools, apiKey, sign, nonceOf, learn, close }
  try {
    if (o.seed !== false) await seed(fuzzNode)
  } catch (e) {
    await close()
    throw e
  }
  return fuzzNode
}

/** One of each thing txs refer to: a Datanet with a ready version, a pending contribution, a model, an API key, a task. */
async function seed(f: FuzzNode): Promise<void> {
  const ok = (a: { status: number; json: unknown }, what: string): any => {
    if (a.status !== 200 && a.status !== 201) throw new InvariantViolation(`fuzz seed: ${what} failed`, { status: a.status, body: a.json })
    return a.json
  }
  const submit = async (key: Hex, type: string, message: Record<string, unknown>) => {
    const envelope = await f.sign(key, type, { ...message, nonce: f.nonceOf(addressOf(key)).toString() })
    const a = await postJson(f.url, '/v1/tx', envelope)
    ok(a, type)
    f.learn(envelope, a)
    return a.json as any
  }
  const [owner, author] = [dev[1].privateKey, dev[2].privateKey]
  const docs = [
    'The quick brown fox jumps over the lazy dog and runs into the forest at dawn.',
    'A ledger records who did what, and anyone can recompute every figure from its blocks.',
    'Contributors share in every paid output that reproduces their data, by span and by weight.',
  ]
  const published = await publishDatanetVersion(f.url, {
    owner,
    name: 'fuzz-seed',
    docs: docs.map((text, i) => ({ key: `doc${i}`, text, author })),
  })
  f.pools.datanet.push(published.datanet)
  f.pools.datanetName.push('fuzz-seed')
  f.pools.versionRef.push(published.ref)
  f.pools.version.push('1')
  f.pools.contribution.push(...Object.values(published.ids))
  // A pending contribution, so Reviews have something to judge.
  const c = await datanetsClient(f.url)
  const pendingText = 'A pending contribution about foxes, forests and the dawn chorus of birds.'
  const pending = ok(await c.contribute(author, published.datanet, pendingText, 'pending', 'text/plain'), 'Contribute')
  f.pools.contribution.push(pending.contribution)
  f.pools.blob.push(`0x${sha256Hex(Buffer.from(pendingText))}`)
  await submit(dev[3].privateKey, 'RegisterModel', {
    name: 'fuzz-model',
    description: 'builtin over the seed Datanet',
    backend: 'builtin:infinigram',
    datanets: [published.ref],
    pricePerMillion: (10n ** 18n).toString(),
    contributorShareBps: '5000',
  })
  await submit(dev[0].privateKey, 'GrantApiKey', { keyHash: hashApiKey(f.apiKey), label: 'fuzz', spendLimit: '0', expiresAt: '0' })
  // A task with its spec uploaded (the PostTask is the permit).
  const spec = Buffer.from('Summarise the seed Datanet in one sentence.')
  const specHash = `0x${sha256Hex(spec)}`
  const poster = dev[4].privateKey
  const postTask = await f.sign(poster, 'PostTask', {
    title: 'fuzz task',
    specHash,
    reward: (10n ** 17n).toString(),
    deadline: (BigInt(Date.now()) + 3_600_000n).toString(),
    leaseMs: '600000',
    claimStake: '0',
    verifiers: [],
    threshold: '0',
    nonce: f.nonceOf(addressOf(poster)).toString(),
  })
  ok(await uploadBlob(f.url, spec, postTask), 'spec upload')
  const posted = await postJson(f.url, '/v1/tx', postTask)
  ok(posted, 'PostTask')
  f.learn(postTask, posted)
  f.pools.blob.push(specHash)
  for (const d of docs) f.pools.blob.push(`0x${sha256Hex(Buffer.from(d))}`)
}
