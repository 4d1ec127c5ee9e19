/**
 * Checks a state proof bundle (GET /v1/proof/:key: key, value, proof, header) in the page,
 * with nothing from the node but the bundle: the same steps as `sinew proof verify`
 * (src/ledger/proof-bundle.ts) and the Solidity verifier (docs/state-proofs.md).
 */
import { concat, encodeAbiParameters, hexToBytes, keccak256, recoverAddress, stringToBytes, type Hex } from 'viem'

export type Bundle = {
  key: string
  value: Hex | null
  proof: { key: Hex; value: Hex | null; siblings: Hex[]; otherLeaf?: { key: Hex; valueHash: Hex } }
  header: {
    height: string
    hash: Hex
    parentHash: Hex
    timestamp: string
    txRoot: Hex
    stateRoot: Hex
    receiptsRoot: Hex
    txCount: number
    proposer: Hex
    signature: Hex
  }
}

export type ProofCheck = { ok: boolean; problems: string[]; signer: string | null }

const ZERO = `0x${'00'.repeat(32)}` as Hex
const leaf = (key: Hex, valueHash: Hex) => keccak256(concat(['0x00', key, valueHash]))
const node = (left: Hex, right: Hex) => keccak256(concat(['0x01', left, right]))
const bit = (key: Uint8Array, i: number) => (key[i >> 3] >> (7 - (i & 7))) & 1

function sharesPrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) if (bit(a, i) !== bit(b, i)) return false
  return true
}

/** The Merkle path from the key's leaf (or the empty subtree, or the other leaf) up to a root. */
export function stateProofRoot(p: Bundle['proof']): Hex | undefined {
  const key = hexToBytes(p.key)
  const depth = p.siblings.length
  let h: Hex
  if (p.value !== null) h = leaf(p.key, p.value)
  else if (p.otherLeaf) {
    const other = hexToBytes(p.otherLeaf.key)
    if (!sharesPrefix(key, other, depth) || sharesPrefix(key, other, 256)) return undefined
    h = leaf(p.otherLeaf.key, p.otherLeaf.valueHash)
  } else h = ZERO
  for (let i = depth - 1; i >= 0; i--) h = bit(key, i) ? node(p.siblings[i], h) : node(h, p.siblings[i])
  return h
}

export function headerHash(h: Bundle['header']): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'uint256' },
        { type: 'bytes32' },
        { type: 'uint256' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'uint256' },
        { type: 'address' },
      ],
      [BigInt(h.height), h.parentHash, BigInt(h.timestamp), h.txRoot, h.stateRoot, h.receiptsRoot, BigInt(h.txCount), h.proposer],
    ),
  )
}

export async function checkBundle(b: Bundle, sequencer?: string): Promise<ProofCheck> {
  const problems: string[] = []
  const h = b.header
  if (headerHash(h) !== h.hash.toLowerCase()) problems.push('the header hash does not match its fields')
  let signer: string | null = null
  if (BigInt(h.height) > 0n) {
    try {
      signer = (await recoverAddress({ hash: h.hash, signature: h.signature })).toLowerCase()
      if (signer !== h.proposer.toLowerCase()) problems.push(`the header is signed by ${signer}, not its proposer ${h.proposer}`)
    } catch {
      problems.push('the header signature is invalid')
    }
  }
  if (sequencer && h.proposer.toLowerCase() !== sequencer.toLowerCase())
    problems.push(`the header's proposer ${h.proposer} is not this chain's sequencer ${sequencer}`)
  if (keccak256(stringToBytes(b.key)) !== b.proof.key.toLowerCase()) problems.push('proof.key is not keccak256 of the key')
  const expected = b.value === null ? null : keccak256(b.value)
  if ((expected === null) !== (b.proof.value === null) || (expected && expected !== b.proof.value?.toLowerCase()))
    problems.push('proof.value is not keccak256 of the value')
  const root = stateProofRoot(b.proof)
  if (!root || root !== h.stateRoot.toLowerCase()) problems.push("the Merkle path does not lead to the header's stateRoot")
  return { ok: problems.length === 0, problems, signer }
}
