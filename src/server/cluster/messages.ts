/**
 * What the writer and its serving workers say to each other over the cluster's IPC channel
 * (serialization 'advanced': bigints, Maps and byte arrays travel as they are). One channel
 * per worker, in order: a block is always delivered before any answer sent after it.
 */
import type { Hex, NodeConfig } from '../../core/index.ts'
import type { CallOutcome, CallRequest, CallTicket, Generation } from '../../gateway/index.ts'
import type { SignedHeader } from '../../ledger/index.ts'

/** writer → worker, once, right after the fork: everything the worker needs to serve. */
export type InitMessage = {
  type: 'sinew:init'
  config: NodeConfig
  /** The writer's internal HTTP address (loopback), where writes are forwarded. */
  writerUrl: string
  /** Sent with every forwarded request; the writer's internal port refuses requests without it. */
  secret: string
  /**
   * The public port as configured: every worker asks for the same one, so the cluster shares
   * one listening handle among them (with 0, the port the OS picked first, while any worker lives).
   */
  port: number
}

/** writer → worker: a block the writer has committed, with its state writes. */
export type BlockMessage = { type: 'sinew:block'; header: SignedHeader; writes: Map<string, Uint8Array | null> }

/** writer → worker: the answer to a `sinew:sync`: every live worker has applied the writer's head as of the request. */
export type SyncedMessage = { type: 'sinew:synced'; id: number; height: bigint }

/** writer → worker: the blocks since the worker's snapshot are no longer held; the worker must restart. */
export type ReloadMessage = { type: 'sinew:reload' }

/** worker → writer: I listen to this channel now; send me `sinew:init`. */
export type ReadyMessage = { type: 'sinew:ready' }

/** worker → writer: my view is at `height` (sent after loading it); send me every block after it, then each new one. */
export type HelloMessage = { type: 'sinew:hello'; height: bigint }

/** worker → writer: my view has applied every block up to `height`. */
export type AppliedMessage = { type: 'sinew:applied'; height: bigint }

/** worker → writer: answer `sinew:synced` once every live worker has applied your current head. */
export type SyncMessage = { type: 'sinew:sync'; id: number }

/** worker → writer: admit a model call this worker will generate (the writer's Gateway.admitRemote). */
export type CallMessage = { type: 'sinew:call'; id: number; req: CallRequest }

/** worker → writer: record what an admitted call generated (trace, receipt) and release its reservation. */
export type CallFinishMessage = { type: 'sinew:call-finish'; id: number; receiptId: Hex; generation: Generation }

/** worker → writer: an admitted call generated nothing to record; release its reservation. */
export type CallFailMessage = { type: 'sinew:call-fail'; receiptId: Hex }

/** An error as it crosses the channel (a class does not): enough to answer the caller exactly as the writer would. */
export type WireError = { code: string; status: number; message: string; details: Record<string, unknown>; hint?: string; type?: string; param?: string | null }

/** A call's outcome as it crosses the channel: its receipt error as a WireError. */
export type WireOutcome = Omit<CallOutcome, 'receiptError'> & { receiptError?: WireError }

/** writer → worker: the answer to `sinew:call` (a ticket, or `pass`) or to `sinew:call-finish` (the outcome), or the error. */
export type CallAnswerMessage = { type: 'sinew:call-answer'; id: number; ticket?: CallTicket | 'pass'; outcome?: WireOutcome; error?: WireError }

export type ToWorker = InitMessage | BlockMessage | SyncedMessage | ReloadMessage | CallAnswerMessage
export type ToWriter = ReadyMessage | HelloMessage | AppliedMessage | SyncMessage | CallMessage | CallFinishMessage | CallFailMessage

/**
 * Every message one side sends within one turn of its event loop, in order, as one: each
 * send is a write to the channel's pipe and wakes the other process, so a burst of calls (100
 * admissions, their answers, a block) costs one each way, not one per message.
 */
export type BatchMessage<M> = { type: 'sinew:batch'; messages: M[] }

/** Queues messages for `post` and posts them, batched, once this turn of the event loop is over. */
export function batchedSender<M>(post: (m: M | BatchMessage<M>) => void): (m: M) => void {
  let queue: M[] = []
  const flush = () => {
    const messages = queue
    queue = []
    post(messages.length === 1 ? messages[0] : { type: 'sinew:batch', messages })
  }
  return (m) => {
    queue.push(m)
    if (queue.length === 1) setImmediate(flush)
  }
}

/** The messages in `m`: a batch's, in order, or `m` itself. */
export const unbatch = <M>(m: M | BatchMessage<M>): M[] => ((m as { type: string }).type === 'sinew:batch' ? (m as BatchMessage<M>).messages : [m as M])

export const isMessage = (m: unknown): m is { type: string } =>
  typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('sinew:')

/** Header of every answer a serving worker gives (or passes on): which process served it. */
export const WORKER_HEADER = 'x-sinew-worker'
/** Header carrying the node's internal secret on requests a worker forwards to the writer. */
export const INTERNAL_SECRET_HEADER = 'x-sinew-internal'
