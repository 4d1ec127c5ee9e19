/**
 * The registration point for transaction kinds. A domain module (datanets, models,
 * agents) describes each of its txs once, with `defineTxKind`, and registers it:
 *
 *   export const createDatanet = defineTxKind({
 *     type: 'CreateDatanet',                      // EIP-712 primary type, unique
 *     description: 'Create a Datanet owned by the sender',
 *     fields: [{ name: 'name', type: 'string' }, ...],   // without `nonce`: the ledger appends it
 *     validate: (m) => { ... },                   // optional stateless checks: throw a 400 SinewError
 *     execute: (ctx, m) => { ...; return { id } } // state changes through ctx.state; throw a SinewError (422 code) to refuse
 *   })
 *   registry.register(createDatanet)
 *
 * The ledger does the rest for every kind alike: parses the wire message against the
 * fields (integers as decimal strings, strict), hashes it as EIP-712, recovers the sender,
 * checks and bumps the sender's nonce, runs `execute` in a rollback-able layer, and puts
 * what it returns into the tx's receipt. `execute` must be deterministic: it may read only
 * `ctx` (state, sender, block height and timestamp, params), never the clock or the disk.
 */
import { SinewError, type CanonicalValue, type Hex } from '../core/index.ts'
import type { Address } from './address.ts'
import type { TypedFields } from './message.ts'
import type { Message } from './message.ts'
import type { ProtocolParams } from './genesis.ts'
import type { StateOverlay } from './state.ts'

export type TxContext = {
  readonly sender: Address
  readonly txHash: Hex
  readonly height: bigint
  /** Block timestamp, ms since the epoch, as set by the sequencer and committed in the header. */
  readonly timestamp: bigint
  readonly params: ProtocolParams
  /** The chain's sequencer (from genesis): kinds only the node may sign check it. */
  readonly sequencer: Address
  readonly state: StateOverlay
}

export type TxResult = { [key: string]: CanonicalValue } | undefined

export type TxKind<M extends Message = Message> = {
  /** EIP-712 primary type name, e.g. `Transfer`. */
  readonly type: string
  readonly description: string
  /** The message fields in signing order, without `nonce` (appended by the ledger). */
  readonly fields: TypedFields
  /** Struct types the fields refer to, if any. */
  readonly structs?: Record<string, TypedFields>
  /** Longest accepted `string` field, in UTF-8 bytes (default 64 KiB). */
  readonly maxStringBytes?: number
  readonly validate?: (message: M) => void
  readonly execute: (ctx: TxContext, message: M) => TxResult
}

export const NONCE_FIELD = { name: 'nonce', type: 'uint64' } as const

export function defineTxKind<M extends Message>(kind: TxKind<M>): TxKind<M> {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind.type)) throw new Error(`tx kind type must be a PascalCase EIP-712 name: ${kind.type}`)
  if (kind.fields.some((f) => f.name === 'nonce')) throw new Error(`${kind.type}: do not declare nonce, the ledger appends it`)
  return kind
}

/** The EIP-712 `types` object for one kind: its primary type with the nonce, plus its structs. */
export function eip712Types(kind: TxKind<any>): Record<string, TypedFields> {
  return { ...(kind.structs ?? {}), [kind.type]: [...kind.fields, NONCE_FIELD] }
}

export class TxKindRegistry {
  private readonly kinds = new Map<string, TxKind<any>>()

  register(...kinds: TxKind<any>[]): this {
    for (const kind of kinds) {
      if (this.kinds.has(kind.type)) throw new Error(`tx kind ${kind.type} is registered twice`)
      this.kinds.set(kind.type, kind)
    }
    return this
  }

  get(type: unknown): TxKind<Message> {
    const kind = typeof type === 'string' ? this.kinds.get(type) : undefined
    if (!kind) {
      throw new SinewError({
        code: 'unknown_tx_type',
        message: `Unknown tx type ${JSON.stringify(typeof type === 'string' ? type.slice(0, 60) : (type ?? null))}`,
        details: { field: 'type', got: typeof type === 'string' ? type.slice(0, 60) : typeof type, known: this.types() },
        hint: 'GET /v1/types lists the kinds this node accepts.',
      })
    }
    return kind
  }

  types(): string[] {
    return [...this.kinds.keys()].sort()
  }

  list(): TxKind<Message>[] {
    return this.types().map((t) => this.kinds.get(t)!)
  }
}
