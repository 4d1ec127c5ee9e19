/**
 * A proof bundle, as served by GET /v1/proof/:key and checked by `sinew proof verify`:
 * the state key and its raw value, the Merkle proof of keccak256(value) under
 * keccak256(key), and the header whose stateRoot it proves against. Checking it needs no
 * node: the header hash is recomputed, its signature recovered, the path hashed up.
 */
import { bytesEqual, fromHex, isHex, SinewError, type Hex } from '../core/index.ts'
import { parseAddress } from './address.ts'
import { headerHash, type SignedHeader } from './header.ts'
import { parseStateProof, verifyStateProof } from './merkle/index.ts'
import { recoverSigner } from './signing/index.ts'
import { stateKeyHash, stateValueHash } from './state.ts'

export type ProofCheck = { ok: boolean; key: string; present: boolean; height: string; stateRoot: Hex; signer: Hex | null; problems: string[] }

export function parseHeaderJson(raw: unknown, field = 'header'): SignedHeader {
  const h = raw as Record<string, unknown>
  if (!h || typeof h !== 'object') throw new SinewError({ code: 'invalid_field', message: `${field} must be an object`, details: { field } })
  const hex32 = (k: string): Hex => {
    if (!isHex(h[k], 32))
      throw new SinewError({ code: 'invalid_field', message: `${field}.${k} must be 32 bytes of 0x hex`, details: { field: `${field}.${k}` } })
    return (h[k] as string).toLowerCase() as Hex
  }
  const uint = (k: string): bigint => {
    if (typeof h[k] !== 'string' || !/^(0|[1-9][0-9]*)$/.test(h[k] as string))
      throw new SinewError({ code: 'invalid_field', message: `${field}.${k} must be a decimal string`, details: { field: `${field}.${k}` } })
    return BigInt(h[k] as string)
  }
  if (typeof h.txCount !== 'number' || !Number.isInteger(h.txCount) || h.txCount < 0)
    throw new SinewError({ code: 'invalid_field', message: `${field}.txCount must be a non-negative integer`, details: { field: `${field}.txCount` } })
  if (typeof h.signature !== 'string' || !isHex(h.signature))
    throw new SinewError({ code: 'invalid_field', message: `${field}.signature must be 0x hex`, details: { field: `${field}.signature` } })
  return {
    height: uint('height'),
    hash: hex32('hash'),
    parentHash: hex32('parentHash'),
    timestamp: uint('timestamp'),
    txRoot: hex32('txRoot'),
    stateRoot: hex32('stateRoot'),
    receiptsRoot: hex32('receiptsRoot'),
    txCount: h.txCount,
    proposer: parseAddress(h.proposer, `${field}.proposer`),
    signature: h.signature.toLowerCase() as Hex,
  }
}

/** Checks a bundle offline. `sequencer`, when given, must be the header's signer. */
export function checkProofBundle(raw: unknown, options: { sequencer?: Hex; header?: SignedHeader } = {}): ProofCheck {
  const b = raw as Record<string, unknown>
  if (!b || typeof b !== 'object') throw new SinewError({ code: 'invalid_proof', message: 'The proof must be a JSON object {key, value, proof, header}' })
  if (typeof b.key !== 'string') throw new SinewError({ code: 'invalid_field', message: 'proof.key must be a string', details: { field: 'key' } })
  if (b.value !== null && !isHex(b.value))
    throw new SinewError({ code: 'invalid_field', message: 'proof.value must be 0x hex or null', details: { field: 'value' } })
  const proof = parseStateProof(b.proof)
  const header = options.header ?? parseHeaderJson(b.header)
  const problems: string[] = []
  if (headerHash(header) !== header.hash) problems.push('the header hash does not match its fields')
  let signer: Hex | null = null
  if (header.height > 0n) {
    try {
      signer = recoverSigner(fromHex(header.hash), fromHex(header.signature))
    } catch {
      problems.push('the header signature is invalid')
    }
    if (signer && signer !== header.proposer) problems.push(`the header is signed by ${signer}, not its proposer ${header.proposer}`)
  }
  if (options.sequencer && header.proposer !== options.sequencer.toLowerCase())
    problems.push(`the header's proposer ${header.proposer} is not the sequencer ${options.sequencer}`)
  if (!bytesEqual(fromHex(proof.key), stateKeyHash(b.key))) problems.push('proof.key is not keccak256 of the key')
  const value = b.value === null ? null : fromHex(b.value as string)
  const expectedValueHash = value === null ? null : stateValueHash(value)
  if ((proof.value === null) !== (expectedValueHash === null) || (expectedValueHash && !bytesEqual(fromHex(proof.value!), expectedValueHash))) {
    problems.push('proof.value is not keccak256 of the value')
  }
  if (!verifyStateProof(header.stateRoot, proof)) problems.push("the Merkle path does not lead to the header's stateRoot")
  return { ok: problems.length === 0, key: b.key, present: value !== null, height: header.height.toString(), stateRoot: header.stateRoot, signer, problems }
}
