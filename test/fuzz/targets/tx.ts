/**
 * Target `tx`: every tx kind the node serves (from GET /v1/types), its message generated
 * from the kind's EIP-712 fields with hostile values, signed with real keys (funded,
 * unfunded, the sequencer's), with a nonce that is the next one or not, sometimes mutated
 * after signing or replayed, submitted over HTTP to /v1/tx, /v1/txs (with duplicates in
 * the batch) or, for a Contribute, /v1/datanets/:id/contributions after uploading its
 * content with the tx as permit.
 *
 * Checked on top of the node invariants (harness.ts): an accepted tx bumps its sender's
 * nonce by one and is served by GET /v1/tx/:hash; an accepted Transfer moves exactly its
 * amount; a replayed tx is refused; nothing else moves when a tx is refused.
 */
import fc from 'fast-check'
import { keccak256, type Hex } from '../../../src/core/index.ts'
import { addressOf } from '../../../src/ledger/index.ts'
import type { SignedEnvelope } from '../../datanets-fixtures.ts'
import {
  envelopeMutation,
  hostileString,
  messageOf,
  mix,
  mutateEnvelope,
  nonceChoice,
  resolveRefs,
  type EnvelopeMutation,
  type NonceChoice,
} from '../arbitraries.ts'
import { addressesIn, encodeSegment, errorCode, getJson, InvariantViolation, outcomeOf, postJson, type Answer, type FuzzTarget } from '../harness.ts'
import { sha256Hex, startFuzzNode, uploadBlob, type FuzzNode } from '../node-setup.ts'

export type TxCase = {
  kind: string
  signer: number
  message: Record<string, unknown>
  malformed: boolean
  nonce: NonceChoice
  mutation: EnvelopeMutation | null
  route: 'tx' | 'txs' | 'contribution'
  /** For a Contribute: bytes uploaded first, the tx as permit; `declare` makes contentHash and size theirs. */
  content: { bytes: Uint8Array; declare: boolean } | null
  /** For /v1/txs: the same envelope this many more times, and this many other (mutated) items. */
  batch: { copies: number; junk: unknown[] }
  /** Replay an envelope accepted earlier instead of signing a new one. */
  replay: number | null
}

/** Text content for a Contribute: mostly valid for its media type, sometimes anything. */
const contentArb = fc.oneof(
  { weight: 3, arbitrary: hostileString(200).map((s) => new Uint8Array(Buffer.from(s.trim() === '' ? `x${s}` : s))) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }) },
)

export function txCaseArb(kinds: string[], typesOf: (kind: string) => Record<string, { name: string; type: string }[]>, signers: number): fc.Arbitrary<TxCase> {
  const fieldNames = [...new Set(kinds.flatMap((k) => typesOf(k)[k].map((f) => f.name)))]
  const honest = (kind: string) =>
    fc.record({
      kind: fc.constant(kind),
      signer: fc.nat({ max: signers - 1 }),
      body: messageOf(kind, typesOf(kind), 'honest'),
      nonce: fc.constant<NonceChoice>({ at: 'next' }),
      mutation: fc.constant<EnvelopeMutation | null>(null),
      route: kind === 'Contribute' ? fc.constant('contribution' as const) : fc.constantFrom('tx' as const, 'tx' as const, 'txs' as const),
      content: kind === 'Contribute' ? fc.record({ bytes: contentArb, declare: fc.constant(true) }) : fc.constant<TxCase['content']>(null),
      batch: fc.record({ copies: fc.nat({ max: 1 }), junk: fc.constant<unknown[]>([]) }),
      replay: rarely(fc.nat(), 30),
    })
  const hostile = (kind: string) =>
    fc.record({
      kind: fc.constant(kind),
      signer: fc.nat({ max: signers - 1 }),
      body: messageOf(kind, typesOf(kind), 'hostile'),
      nonce: nonceChoice(),
      mutation: rarely(envelopeMutation(kinds, fieldNames), 4),
      route: kind === 'Contribute' ? fc.constantFrom('tx' as const, 'contribution' as const) : fc.constantFrom('tx' as const, 'tx' as const, 'txs' as const),
      content: kind === 'Contribute' ? fc.option(fc.record({ bytes: contentArb, declare: fc.boolean() }), { nil: null }) : fc.constant(null),
      batch: fc.record({ copies: fc.nat({ max: 2 }), junk: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 2 }) }),
      replay: rarely(fc.nat(), 30),
    })
  return fc
    .constantFrom(...kinds)
    .chain((kind) => mix(3, honest(kind), 2, hostile(kind)))
    .map(({ body, ...rest }) => ({ ...rest, message: body.message, malformed: body.malformed }))
}

/** `arb` one time in `n`, else null. */
const rarely = <T>(arb: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb })

/** A 65-byte signature that is no one's, from the message (deterministic): for messages no wallet could sign. */
const junkSignature = (seed: unknown): Hex => `0x${keccak256(JSON.stringify(seed) ?? '').slice(2)}${keccak256(`${JSON.stringify(seed)}!`).slice(2)}1b` as Hex

export const txTarget: FuzzTarget<TxCase> = {
  name: 'tx',
  description: 'every tx kind: EIP-712 messages with hostile values, signed with real keys, mutated envelopes and replays, over HTTP',
  async setup() {
    const f = await startFuzzNode()
    const kinds = Object.keys(f.kinds.kinds).sort()
    const accepted: SignedEnvelope[] = []
    return {
      arbitrary: txCaseArb(kinds, (k) => f.kinds.kinds[k].types, f.keys.length),
      run: (c) => runTxCase(f, c, accepted),
      close: () => f.close(),
    }
  },
}

async function runTxCase(f: FuzzNode, c: TxCase, accepted: SignedEnvelope[]): Promise<string> {
  const key = f.keys[c.signer]
  const sender = addressOf(key)
  const replayed = c.replay !== null && accepted.length > 0 ? accepted[c.replay % accepted.length] : undefined
  const { envelope, sent } = replayed ? { envelope: replayed, sent: replayed as unknown } : await buildEnvelope(f, c, key, sender)
  const touched = addressesIn(sent)
  touched.add(sender.toLowerCase())
  const before = await f.watch.snapshot(touched, { alive: false })
  const what = { case: c, sent }

  if (c.content && !replayed) {
    const up = await uploadBlob(f.url, c.content.bytes, sent)
    f.watch.checkAnswer(up, { ...what, step: 'upload' })
    if (up.status < 300) f.pools.blob.push(`0x${sha256Hex(c.content.bytes)}`)
  }

  let answer: Answer
  let results: { ok: boolean; hash?: string; code?: string }[]
  if (c.route === 'txs' && !replayed) {
    const items = [sent, ...Array.from({ length: c.batch.copies }, () => sent), ...c.batch.junk]
    answer = await postJson(f.url, '/v1/txs', { txs: items })
    f.watch.checkAnswer(answer, what)
    results =
      answer.status === 200
        ? ((answer.json as { results: { ok: boolean; hash?: string; error?: { code: string } }[] }).results ?? []).map((r) => ({
            ok: r.ok,
            hash: r.hash,
            code: r.error?.code,
          }))
        : []
    const okCount = results.filter((r) => r.ok).length
    if (okCount > 1) throw new InvariantViolation('one signed tx was accepted more than once in a batch', { ...what, results })
    if (answer.status === 200 && results.length !== items.length)
      throw new InvariantViolation('a batch answered another number of results than items', { ...what, results })
  } else {
    const datanet = String((envelope.message as Record<string, unknown>)?.datanet ?? 'x')
    const path = c.route === 'contribution' && !replayed ? `/v1/datanets/${encodeSegment(datanet.slice(0, 200) || 'x')}/contributions` : '/v1/tx'
    answer = await postJson(f.url, path, sent)
    f.watch.checkAnswer(answer, what)
    const ack = answer.json as { hash?: string }
    results = [{ ok: answer.status === 200, hash: ack?.hash, code: errorCode(answer) }]
  }
  const after = await f.watch.snapshot(touched)
  const ok = results.find((r) => r.ok)
  if (ok) f.watch.checkSupply(what)

  if (replayed) {
    if (ok) throw new InvariantViolation('a replayed tx was accepted again', what)
    f.watch.checkUnchanged(before, after, what)
    return `replay ${outcomeOf(answer)}`
  }
  if (!ok) {
    f.watch.checkUnchanged(before, after, what)
    if (process.env.FUZZ_DEBUG)
      return `${c.kind}: ${outcomeOf(answer)} ${JSON.stringify((answer.json as any)?.error?.details?.field ?? (answer.json as any)?.results?.[0]?.error?.details?.field)} ${JSON.stringify((answer.json as any)?.error?.message ?? (answer.json as any)?.results?.[0]?.error?.message).slice(0, 80)}`
    return `${c.kind}: ${c.route === 'txs' && answer.status === 200 ? `txs ${results[0]?.code ?? '?'}` : outcomeOf(answer)}`
  }

  // Accepted: the tx is served with its sender, whose nonce is now the tx's plus one; a
  // Transfer moved exactly its amount. The sender is the key's unless the envelope was
  // mutated after signing (then the signature may recover to anyone).
  const served = await getJson(f.url, `/v1/tx/${ok.hash}`)
  const tx = served.json as { sender?: string; nonce?: string; receipt?: unknown }
  if (served.status !== 200 || !tx.sender || tx.nonce === undefined) {
    throw new InvariantViolation('an accepted tx is not served by GET /v1/tx/:hash', { ...what, served: served.text.slice(0, 300) })
  }
  const actual = tx.sender.toLowerCase()
  if (actual !== sender.toLowerCase() && !c.mutation) throw new InvariantViolation('a tx was accepted for another sender than its signer', { ...what, actual })
  if (f.nonceOf(actual) !== BigInt(tx.nonce) + 1n) {
    throw new InvariantViolation("an accepted tx did not leave its sender's nonce at its own plus one", { ...what, nonce: tx.nonce, now: f.nonceOf(actual) })
  }
  if (actual === sender.toLowerCase()) {
    const b = before.balances.get(actual)!
    const a = after.balances.get(actual)!
    if (a.nonce !== b.nonce + 1n) throw new InvariantViolation("an accepted tx did not bump its sender's nonce by one", { ...what, before: b, after: a })
    if (envelope.type === 'Transfer' && !c.mutation) checkTransfer(envelope, sender, before.balances, after.balances, what)
  }
  accepted.push(sent as SignedEnvelope)
  if (!c.mutation) f.learn(envelope, c.route === 'txs' ? { ...answer, json: { hash: ok.hash, receipt: tx.receipt } } : answer)
  return `${c.route === 'txs' ? 'txs ' : ''}200 ${envelope.type}`
}

function checkTransfer(
  envelope: SignedEnvelope,
  sender: string,
  before: Map<string, { balance: bigint }>,
  after: Map<string, { balance: bigint }>,
  what: unknown,
): void {
  const m = envelope.message as { to: string; amount: string }
  const to = m.to.toLowerCase()
  const from = sender.toLowerCase()
  const amount = BigInt(m.amount)
  const expect = (address: string, delta: bigint) => {
    const got = after.get(address)!.balance - before.get(address)!.balance
    if (got !== delta) throw new InvariantViolation('a Transfer moved another amount than it says', { request: what, address, expected: delta, got })
  }
  if (to === from) expect(from, 0n)
  else {
    expect(from, -amount)
    expect(to, amount)
  }
}

/** The envelope of a case: its message resolved, its nonce chosen, signed (when it can be), then mutated. */
async function buildEnvelope(f: FuzzNode, c: TxCase, key: Hex, sender: string): Promise<{ envelope: SignedEnvelope; sent: unknown }> {
  const message = resolveRefs(c.message, f.pools, BigInt(Date.now())) as Record<string, unknown>
  if (c.content?.declare) {
    message.contentHash = `0x${sha256Hex(c.content.bytes)}`
    message.size = String(c.content.bytes.length)
  }
  const next = f.nonceOf(sender)
  const n = c.nonce
  const nonce =
    n.at === 'next'
      ? next.toString()
      : n.at === 'used'
        ? (next > 0n ? next - 1n : 0n).toString()
        : n.at === 'ahead'
          ? (next + BigInt(n.by)).toString()
          : n.value
  const wire = { ...message, nonce }
  let envelope: SignedEnvelope
  try {
    envelope = await f.sign(key, c.kind, wire)
  } catch {
    // Not signable (an ill-typed field): the node must refuse it before any signature check matters.
    envelope = { type: c.kind, message: wire, signature: junkSignature(wire) }
  }
  return { envelope, sent: c.mutation ? mutateEnvelope(envelope, c.mutation) : envelope }
}
