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
 *   export type CreateDatanetMessage = TxMessage<typeof createDatanet>
 *   registry.register(createDatanet)
 *
 * The message type is derived from the field list (`m.name: string`, every uint a bigint,
 * see MessageOf in ./message.ts), never written by hand: a field list shared by several
 * kinds, or one a helper needs before the kind exists, is a constant declared `as const`
 * and its message type `MessageOf<typeof fields>`.
 *
 * The ledger does the rest for every kind alike: parses the wire message against the
 * fields (integers as decimal strings, strict), hashes it as EIP-712, recovers the sender,
 * checks and bumps the sender's nonce, runs `execute` in a rollback-able layer, and puts
 * what it returns into the tx's receipt. `execute` must be deterministic: it may read only
 * `ctx` (state, sender, block height and timestamp, params), never the clock or the disk.
 */
import { SinewError, type CanonicalValue, type Hex } from '../core/index.ts'
import type { Address } from './address.ts'
import type { Message, MessageOf, NoStructs, TypedFields } from './message.ts'
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
  /** The chain's id (from genesis): the EIP-712 domain of signatures a kind checks itself (x402 payment authorisations). */
  readonly chainId: bigint
  readonly state: StateOverlay
}

export type TxResult = { [key: string]: CanonicalValue } | undefined

/**
 * Refuses a tx of a kind only the node may sign unless the chain's sequencer signed it
 * (`not_sequencer`). `action` ends the message "Only the node (the sequencer key) …";
 * `field` is what the details blame (kinds differ: the signature, or the sender).
 */
export function requireSequencer(ctx: TxContext, action: string, field: 'signature' | 'sender' = 'signature'): void {
  if (ctx.sender !== ctx.sequencer) {
    throw new SinewError({
      code: 'not_sequencer',
      message: `Only the node (the sequencer key) ${action}`,
      details: { field, sender: ctx.sender, sequencer: ctx.sequencer },
    })
  }
}

export type TxKind<M = Message> = {
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

/** What `defineTxKind` takes: a kind whose message type is read off its `fields` and `structs`. */
export type TxKindDefinition<F extends TypedFields, S extends Record<string, TypedFields>> = Omit<TxKind<MessageOf<F, S>>, 'fields' | 'structs'> & {
  readonly fields: F
  readonly structs?: S
}

/** The parsed message type of a kind: `TxMessage<typeof transferKind>` is `{ to: Address; amount: bigint; nonce: bigint }`. */
export type TxMessage<K> = K extends TxKind<infer M> ? M : never

export function defineTxKind<const F extends TypedFields, const S extends Record<string, TypedFields> = NoStructs>(
  kind: TxKindDefinition<F, S>,
): TxKind<MessageOf<F, S>> {
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

  /** The kind named `type`; `field` is where the name was read, for the error. */
  get(type: unknown, field = 'type'): TxKind<Message> {
    const kind = typeof type === 'string' ? this.kinds.get(type) : undefined
    if (!kind) {
      throw new SinewError({
        code: 'unknown_tx_type',
        message: `Unknown tx type ${JSON.stringify(typeof type === 'string' ? type.slice(0, 60) : (type ?? null))}`,
        details: { field, got: typeof type === 'string' ? type.slice(0, 60) : typeof type, known: this.types() },
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
