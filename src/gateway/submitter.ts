/**
 * Txs the node signs itself (receipts) go through one queue: it assigns the sequencer
 * account's nonces consecutively, submits each batch in order (so the batch lands in one
 * or two blocks), and re-signs with fresh nonces whatever failed only because an earlier
 * tx of the batch was refused. One batch is in flight at a time, so the committed nonce
 * is always the next one to use.
 */
import { isSinewError, SinewError, type ErrorCode, type Hex } from '../core/index.ts'
import { addressOf, type Address, type LedgerNode, type TxAck, type TxEnvelope } from '../ledger/index.ts'

type Job = { type: string; wire: Record<string, unknown>; resolve: (a: TxAck) => void; reject: (e: SinewError) => void; attempts: number }

const NONCE_CODES = new Set<ErrorCode>(['nonce_too_high', 'nonce_too_low', 'tx_pending', 'tx_already_included'])
const MAX_BATCH = 1000
const MAX_ATTEMPTS = 20
const SLICE_MS = 2

export class NodeTxSubmitter {
  readonly address: Address
  private queue: Job[] = []
  private running = false

  constructor(
    private readonly node: LedgerNode,
    private readonly key: Hex,
  ) {
    this.address = addressOf(key)
  }

  /** Signs `wire` (without nonce) with the node key and submits it; resolves once committed. */
  submit(type: string, wire: Record<string, unknown>): Promise<TxAck> {
    return new Promise((resolve, reject) => {
      this.queue.push({ type, wire, resolve, reject, attempts: 0 })
      if (!this.running) void this.drain()
    })
  }

  get pending(): number {
    return this.queue.length
  }

  private sign(type: string, wire: Record<string, unknown>): TxEnvelope {
    return this.node.chain.codec.sign(this.key, type, wire)
  }

  private async drain(): Promise<void> {
    this.running = true
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH)
        const base = this.node.account(this.address).nonce
        const envelopes: unknown[] = []
        const live: Job[] = []
        let slice = performance.now()
        for (const job of batch) {
          try {
            envelopes.push(this.sign(job.type, { ...job.wire, nonce: (base + BigInt(live.length)).toString() }))
            live.push(job)
          } catch (e) {
            job.reject(asSinew(e))
          }
          // Signing a big batch is CPU work on the loop that streams answers: give the
          // streams a turn every couple of milliseconds. Nonces stay consecutive (no other
          // drain runs meanwhile, and nothing else signs with the sequencer key).
          if (performance.now() - slice > SLICE_MS) {
            await new Promise<void>((r) => setImmediate(r))
            slice = performance.now()
          }
        }
        let outcomes
        try {
          outcomes = await this.node.submitBatch(envelopes)
        } catch (e) {
          for (const job of live) job.reject(asSinew(e))
          continue
        }
        const retry: Job[] = []
        outcomes.forEach((o, i) => {
          const job = live[i]
          if (o.ok) return job.resolve(o.ack)
          if (NONCE_CODES.has(o.error.code) && ++job.attempts < MAX_ATTEMPTS) retry.push(job)
          else job.reject(o.error)
        })
        this.queue.unshift(...retry)
      }
    } finally {
      this.running = false
    }
  }
}

function asSinew(e: unknown): SinewError {
  if (isSinewError(e)) return e
  return new SinewError({ code: 'submit_failed', message: (e as Error)?.message ?? String(e), cause: e })
}
