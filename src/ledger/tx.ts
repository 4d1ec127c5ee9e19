/**
 * The tx envelope on the wire and its decoding:
 *
 *   { "type": "Transfer", "message": { "to": "0x…", "amount": "1000", "nonce": "0" },
 *     "signature": "0x…65 bytes", "from"?: "0x…", "chainId"?: "31415" }
 *
 * The signer signs the EIP-712 digest of the message under the chain's domain; the sender
 * is recovered from the signature. The tx hash is keccak256(abi.encode(digest, sender)):
 * the digest alone does not name the signer, so two accounts signing the same message
 * (same recipient, amount and nonce) would otherwise share one id. `from` and `chainId` are optional cross-checks a client
 * may send: with them a signature made for another chain or key is refused by name,
 * instead of recovering to a stranger's empty account.
 */
import { canonicalJson, fieldIssueError, fromHex, keccak256Bytes, SinewError, toHex, txEnvelopeSchema, type Hex, type TxEnvelope } from '../core/index.ts'
import { parseAddress, type Address } from './address.ts'
import { ACT_FOR_TYPE, actForFields } from './delegation.ts'
import { eip712Types, type TxKind, type TxKindRegistry } from './kinds.ts'
import { messageToWire, parseMessage, type Message, type TypedFields } from './message.ts'
import { createTypedDataHasher, type InvalidSignatureError, parseSignature, recoverSigner, signDigest, type Eip712Domain } from './signing/index.ts'

export type { TxEnvelope } from '../core/index.ts'

export type DecodedTx = {
  /** The EIP-712 digest: what the key signed. */
  digest: Uint8Array
  type: string
  kind: TxKind<Message>
  message: Message
  /** The canonical wire form of the message, as stored and served. */
  wire: Record<string, unknown>
  signature: Uint8Array
  nonce: bigint
  from?: Address
  /** A session key's tx: the account it acts for (covered by the signature, see ./delegation.ts). */
  delegator?: Address
}

export type SignedTx = DecodedTx & { sender: Address; hash: Hex }

export type Receipt = {
  txHash: Hex
  index: number
  type: string
  sender: Address
  nonce: string
  /** Only for a session key's tx: the account it acted for (`sender` is the session key that signed). */
  delegator?: Address
  result: Record<string, unknown>
}

export const SIGNING_DOMAIN_NAME = 'Sinew'
export const SIGNING_DOMAIN_VERSION = '1'

export function signingDomain(chainId: bigint): Eip712Domain {
  return { name: SIGNING_DOMAIN_NAME, version: SIGNING_DOMAIN_VERSION, chainId }
}

/**
 * The one check of a tx envelope's shape, whichever way the tx came (POST /v1/tx, each item
 * of POST /v1/txs, an MCP tool's signedTx): the fields of `txEnvelopeSchema` (src/core/wire.ts),
 * each of its type, and `from` an address (lowercased). `root` names where the envelope
 * sits in the request, so an error's `details.field` is e.g. `txs[3].signature`.
 *
 * Refusals come in this order: not an object, an unknown key, `type` (with `checkType`, the
 * codec's registry lookup, as soon as `type` is a string: an unknown kind is named before
 * the fields it would have had), then the other fields in envelope order.
 */
export function parseTxEnvelope(raw: unknown, root = 'tx', checkType?: (type: string, field: string) => void): TxEnvelope {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SinewError({
      code: 'invalid_envelope',
      message: `${root} must be an object {type, message, signature}`,
      details: { field: root, got: raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw },
    })
  }
  const r = txEnvelopeSchema.safeParse(raw)
  const issues = r.error?.issues ?? []
  const unknownKey = issues.find((i) => i.code === 'unrecognized_keys')
  if (unknownKey) throw fieldIssueError(unknownKey, root, { expected: Object.keys(txEnvelopeSchema.shape) })
  const type = (raw as { type?: unknown }).type
  if (checkType && typeof type === 'string') checkType(type, `${root}.type`)
  if (!r.success) throw fieldIssueError(issues[0], root)
  let env = r.data
  if (env.from !== undefined) env = { ...env, from: parseAddress(env.from, `${root}.from`) }
  if (env.delegator !== undefined) env = { ...env, delegator: parseAddress(env.delegator, `${root}.delegator`) }
  return env
}

/** Decodes envelopes for one chain: parses, validates and hashes; recovery is separate so it can be batched. */
export class TxCodec {
  readonly domain: Eip712Domain
  private readonly hashers = new Map<string, (m: Record<string, unknown>) => Uint8Array>()

  constructor(
    readonly registry: TxKindRegistry,
    readonly chainId: bigint,
  ) {
    this.domain = signingDomain(chainId)
  }

  decode(raw: unknown, path = 'tx'): DecodedTx {
    const env = parseTxEnvelope(raw, path, (type, field) => this.registry.get(type, field))
    const kind = this.registry.get(env.type)
    if (env.chainId !== undefined && env.chainId !== this.chainId.toString()) {
      throw new SinewError({
        code: 'wrong_chain_id',
        message: `Signed for chainId ${env.chainId.slice(0, 30)}, but this chain is ${this.chainId}`,
        details: { field: `${path}.chainId`, got: env.chainId.slice(0, 30), expected: this.chainId.toString() },
        hint: 'Sign with the domain from GET /v1/types.',
      })
    }
    const types = eip712Types(kind)
    const message = parseMessage(env.message, types[kind.type], types, `${path}.message`, { maxStringBytes: kind.maxStringBytes })
    kind.validate?.(message)
    const signature = parseSignature(env.signature)
    const from = env.from as Address | undefined
    const delegator = env.delegator as Address | undefined
    const digest = delegator ? this.actForHasher(kind)({ delegator, tx: message }) : this.hasher(kind)(message)
    return {
      digest,
      type: kind.type,
      kind,
      message,
      wire: messageToWire(message),
      signature,
      nonce: message.nonce as bigint,
      ...(from ? { from } : {}),
      ...(delegator ? { delegator } : {}),
    }
  }

  /** Attaches the recovered sender; refuses a signature that does not match a given `from`. */
  withSender(tx: DecodedTx, sender: Address | InvalidSignatureError): SignedTx {
    if (sender instanceof Error) throw sender
    if (tx.from !== undefined && tx.from !== sender) {
      throw new SinewError({
        code: 'signer_mismatch',
        message: `The signature recovers to ${sender}, not to from ${tx.from}`,
        details: { field: 'signature', recovered: sender, from: tx.from, chainId: this.chainId.toString() },
        hint: `Sign with the key of ${tx.from}, for chainId ${this.chainId} (GET /v1/types gives the domain).`,
      })
    }
    return { ...tx, sender, hash: txHash(tx.digest, sender) }
  }

  recover(tx: DecodedTx): SignedTx {
    let sender: Address | InvalidSignatureError
    try {
      sender = recoverSigner(tx.digest, tx.signature)
    } catch (e) {
      sender = e as InvalidSignatureError
    }
    return this.withSender(tx, sender)
  }

  /**
   * Signs a tx of one of this chain's kinds, `wire` being its message with the nonce
   * (integers as decimal strings). The same signature as viem's signTypedData over GET
   * /v1/types gives, made with the precompiled hasher and native secp256k1 (about 100x
   * faster): for the node's own txs (receipts) and the dev seed's hundreds of txs.
   */
  sign(privateKey: Hex, type: string, wire: Record<string, unknown>, delegator?: Address): TxEnvelope {
    const kind = this.registry.get(type)
    const types = eip712Types(kind)
    const message = parseMessage(wire, types[kind.type], types, 'message', { maxStringBytes: kind.maxStringBytes })
    const digest = delegator ? this.actForHasher(kind)({ delegator, tx: message }) : this.hasher(kind)(message)
    return { type: kind.type, message: messageToWire(message), signature: signDigest(privateKey, digest), ...(delegator ? { delegator } : {}) }
  }

  /** The EIP-712 description of every kind, as served at GET /v1/types. */
  describe(): {
    domain: { name: string; version: string; chainId: string }
    kinds: Record<string, { description: string; primaryType: string; types: Record<string, TypedFields> }>
    actFor: { description: string; primaryType: string; fields: TypedFields }
  } {
    const kinds: Record<string, { description: string; primaryType: string; types: Record<string, TypedFields> }> = {}
    for (const kind of this.registry.list()) {
      kinds[kind.type] = { description: kind.description, primaryType: kind.type, types: eip712Types(kind) }
    }
    return {
      domain: { name: this.domain.name, version: this.domain.version, chainId: this.chainId.toString() },
      kinds,
      actFor: {
        description:
          "How a session key signs for its delegator: primaryType ActFor, types = the kind's types plus ActFor with `tx` of the kind's type (e.g. {delegator: address, tx: Transfer}); message {delegator, tx: <the message>}; the envelope carries `delegator`. The nonce is the session key's own.",
        primaryType: ACT_FOR_TYPE,
        fields: actForFields('<Kind>'),
      },
    }
  }

  private actForHasher(kind: TxKind<Message>): (m: Record<string, unknown>) => Uint8Array {
    const key = `${ACT_FOR_TYPE}:${kind.type}`
    let h = this.hashers.get(key)
    if (!h) {
      h = createTypedDataHasher(this.domain, { ...eip712Types(kind), [ACT_FOR_TYPE]: actForFields(kind.type) }, ACT_FOR_TYPE)
      this.hashers.set(key, h)
    }
    return h
  }

  private hasher(kind: TxKind<Message>): (m: Record<string, unknown>) => Uint8Array {
    let h = this.hashers.get(kind.type)
    if (!h) {
      h = createTypedDataHasher(this.domain, eip712Types(kind), kind.type)
      this.hashers.set(kind.type, h)
    }
    return h
  }
}

/** The tx id: keccak256(abi.encode(bytes32 digest, address sender)). */
export function txHash(digest: Uint8Array, sender: Address): Hex {
  const word = new Uint8Array(64)
  word.set(digest, 0)
  word.set(fromHex(sender), 44)
  return toHex(keccak256Bytes(word))
}

/**
 * The delegator of a stored tx, read from its stored receipt: a session key's signature
 * covers it, so it must be known to re-hash the tx, and the store keeps it there rather
 * than in a column of its own. A tampered value recovers another signer and is caught.
 */
export function storedDelegator(receiptJson: string): string | undefined {
  const d = (JSON.parse(receiptJson) as { delegator?: unknown }).delegator
  return typeof d === 'string' ? d : undefined
}

/** Receipts are committed as keccak256 of their canonical JSON. */
export function receiptJson(r: Receipt): string {
  return canonicalJson(r)
}

/**
 * `receiptJson(r)` when the canonical JSON of `r.result` is known already (execution makes
 * it): the same bytes (keys in canonical order, the result spliced in) without encoding the
 * result a second time, one of the larger costs per tx on the writer. A field added to
 * `Receipt` must be added here too; tx.test.ts compares the two.
 */
export function receiptJsonWithResult(r: Receipt, resultJson: string): string {
  const delegator = r.delegator !== undefined ? `"delegator":${JSON.stringify(r.delegator)},` : ''
  return `{${delegator}"index":${canonicalJson(r.index)},"nonce":${JSON.stringify(r.nonce)},"result":${resultJson},"sender":${JSON.stringify(r.sender)},"txHash":${JSON.stringify(r.txHash)},"type":${JSON.stringify(r.type)}}`
}
