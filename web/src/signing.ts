/**
 * Signing a Sinew tx in the browser: the EIP-712 types come from GET /v1/types (so a new tx
 * kind needs no new code here), the nonce from GET /v1/accounts/:address, and the signature
 * from the account in use: a dev key held in this page, or an EIP-1193 wallet. Private keys
 * never leave the browser: only the signed envelope is sent.
 */
import type { TypedDataDomain } from 'viem'
import { api, uploadBlob, type Schemas } from './api.ts'

export type TypedField = { name: string; type: string }
export type Signer = {
  address: `0x${string}`
  /** Signs EIP-712 typed data (viem's shape); rejects when the human refuses. */
  signTypedData(data: {
    domain: TypedDataDomain
    types: Record<string, TypedField[]>
    primaryType: string
    message: Record<string, unknown>
  }): Promise<`0x${string}`>
}

export type Envelope = { type: string; message: Record<string, string | unknown>; signature: `0x${string}` }

let typesOnce: Promise<Schemas['TxTypes']> | undefined
export const txTypes = () => {
  typesOnce ??= api.get('/v1/types').catch((e) => {
    typesOnce = undefined
    throw e
  })
  return typesOnce
}

/** A wire value (decimal strings for integers) as the EIP-712 value of `type`: integers become bigints, structs and arrays recursively. */
export function toTyped(value: unknown, type: string, types: Record<string, TypedField[]>): unknown {
  if (type.endsWith('[]')) return (value as unknown[]).map((v) => toTyped(v, type.slice(0, -2), types))
  const struct = types[type]
  if (struct) {
    const o = value as Record<string, unknown>
    return Object.fromEntries(struct.map((f) => [f.name, toTyped(o[f.name], f.type, types)]))
  }
  if (/^u?int\d*$/.test(type)) return BigInt(value as string)
  return value
}

/** Signs `type` with `message` (wire form, integers as decimal strings), adding the signer's next nonce. */
export async function signTx(signer: Signer, type: string, message: Record<string, unknown>): Promise<Envelope> {
  const [types, account] = await Promise.all([txTypes(), api.get('/v1/accounts/{address}', { path: { address: signer.address } })])
  const kind = types.kinds[type]
  if (!kind) throw new Error(`This node has no tx kind "${type}"`)
  const wire = { ...message, nonce: account.nonce }
  const signature = await signer.signTypedData({
    domain: { name: types.domain.name, version: types.domain.version, chainId: BigInt(types.domain.chainId) },
    types: kind.types as Record<string, TypedField[]>,
    primaryType: kind.primaryType,
    message: toTyped(wire, kind.primaryType, kind.types as Record<string, TypedField[]>) as Record<string, unknown>,
  })
  return { type, message: wire, signature }
}

/** Signs and submits through POST /v1/tx: resolves once the tx is in a committed block. */
export async function sendTx(signer: Signer, type: string, message: Record<string, unknown>): Promise<Schemas['TxAck']> {
  const envelope = await signTx(signer, type, message)
  return api.post('/v1/tx', { body: envelope })
}

/**
 * Signs `type` naming `bytes` by their sha256 in `hashField`, uploads the bytes with the signed
 * tx as their permit (PUT /v1/blobs), then submits the tx: the bytes are stored before
 * anything on the ledger points at them.
 */
export async function sendWithBlob(
  signer: Signer,
  type: string,
  message: Record<string, unknown>,
  hashField: string,
  bytes: Uint8Array,
  onProgress: (sent: number, total: number) => void = () => undefined,
): Promise<Schemas['TxAck']> {
  const { sha256 } = await import('viem')
  const envelope = await signTx(signer, type, { ...message, [hashField]: sha256(bytes) })
  await uploadBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]), envelope, onProgress)
  return api.post('/v1/tx', { body: envelope })
}
