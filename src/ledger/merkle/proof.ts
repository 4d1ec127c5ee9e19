/**
 * State proofs of the sparse Merkle tree: the wire type, the offline verifier and a strict
 * parser for proofs received as JSON. The verifier is deliberately a straight line that
 * mirrors the Solidity verifier in docs/state-proofs.md step for step.
 */
import { fromHex, isHex, SinewError, type Hex } from '../../core/index.ts'
import { keyBit, stateLeafHash, stateNodeHash, ZERO_HASH } from './hash.ts'

export type StateProof = {
  /** The keyHash the proof is about. */
  key: Hex
  /** Its valueHash (inclusion), or null (non-inclusion). */
  value: Hex | null
  /**
   * Sibling hashes from the root down: siblings[i] is the subtree next to the key's path
   * at depth i + 1 (the side opposite key bit i). Its length is the depth at which the
   * path ends, at the key's leaf, at an empty subtree, or at `otherLeaf`.
   */
  siblings: Hex[]
  /**
   * Non-inclusion only: the one leaf occupying the key's path at depth siblings.length
   * (its key shares the first siblings.length bits with `key`). Absent when the path ends
   * in an empty subtree.
   */
  otherLeaf?: { key: Hex; valueHash: Hex }
}

export const MAX_PROOF_DEPTH = 256

/**
 * True iff `proof` shows that, in the tree with this root, `proof.key` maps to
 * `proof.value` (or is absent when value is null). Malformed input gives false, never a
 * throw; use parseStateProof first to learn what is wrong with a proof.
 */
export function verifyStateProof(root: Uint8Array | Hex, proof: StateProof): boolean {
  try {
    let rootBytes: Uint8Array
    if (typeof root === 'string') {
      if (!isHex(root, 32)) return false
      rootBytes = fromHex(root)
    } else {
      if (!(root instanceof Uint8Array) || root.length !== 32) return false
      rootBytes = root
    }
    if (proof === null || typeof proof !== 'object') return false
    if (!isHex(proof.key, 32) || !Array.isArray(proof.siblings) || proof.siblings.length > MAX_PROOF_DEPTH) return false
    const key = fromHex(proof.key)
    const depth = proof.siblings.length

    let node: Uint8Array
    if (proof.value !== null) {
      if (!isHex(proof.value, 32) || proof.otherLeaf !== undefined) return false
      node = stateLeafHash(key, fromHex(proof.value))
    } else if (proof.otherLeaf !== undefined) {
      const other = proof.otherLeaf
      if (other === null || typeof other !== 'object' || !isHex(other.key, 32) || !isHex(other.valueHash, 32)) return false
      const otherKey = fromHex(other.key)
      // The other leaf must sit on the key's path (same first `depth` bits) and be a
      // different key; otherwise it says nothing about this key.
      if (!sharesPrefix(key, otherKey, depth) || sharesPrefix(key, otherKey, 256)) return false
      node = stateLeafHash(otherKey, fromHex(other.valueHash))
    } else {
      node = ZERO_HASH
    }

    for (let i = depth - 1; i >= 0; i--) {
      const sib = proof.siblings[i]
      if (!isHex(sib, 32)) return false
      const s = fromHex(sib)
      node = keyBit(key, i) ? stateNodeHash(s, node) : stateNodeHash(node, s)
    }
    for (let i = 0; i < 32; i++) if (node[i] !== rootBytes[i]) return false
    return true
  } catch {
    return false
  }
}

function sharesPrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const full = bits >> 3
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false
  const rest = bits & 7
  if (rest === 0) return true
  const mask = (0xff << (8 - rest)) & 0xff
  return (a[full] & mask) === (b[full] & mask)
}

function bad(field: string, reason: string, got?: unknown): SinewError {
  return new SinewError({
    code: 'invalid_state_proof',
    message: `Invalid state proof: ${field} ${reason}`,
    details: got === undefined ? { field, reason } : { field, reason, got: preview(got) },
    hint: 'A state proof is { key, value, siblings, otherLeaf? } with 32-byte 0x-hex words; see docs/state-proofs.md.',
  })
}

function preview(v: unknown): unknown {
  if (typeof v === 'string') return v.length > 80 ? v.slice(0, 80) + '…' : v
  if (v === null || typeof v !== 'object') return v
  return Array.isArray(v) ? `array(${v.length})` : 'object'
}

function word(v: unknown, field: string): Hex {
  if (typeof v !== 'string') throw bad(field, 'must be a 0x-prefixed 32-byte hex string', v === null ? 'null' : typeof v)
  if (!isHex(v, 32)) throw bad(field, 'must be a 0x-prefixed 32-byte hex string (66 characters)', v)
  return v.toLowerCase() as Hex
}

function exactKeys(obj: Record<string, unknown>, allowed: readonly string[], field: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) throw bad(field === '' ? k : `${field}.${k}`, 'is not a known field')
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

/**
 * Strictly validates a proof received as JSON (or as a parsed object): exact fields,
 * 32-byte hex words (normalised to lower case), at most 256 siblings, `otherLeaf` only
 * with value null and on the key's path. Throws `invalid_state_proof` naming the field.
 */
export function parseStateProof(json: unknown): StateProof {
  let v = json
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v)
    } catch {
      throw bad('proof', 'is not valid JSON')
    }
  }
  if (!isPlainObject(v)) throw bad('proof', 'must be an object', v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)
  exactKeys(v, ['key', 'value', 'siblings', 'otherLeaf'], '')
  if (!('key' in v)) throw bad('key', 'is required')
  const key = word(v.key, 'key')
  if (!('value' in v)) throw bad('value', 'is required (null for a non-inclusion proof)')
  const value = v.value === null ? null : word(v.value, 'value')
  if (!('siblings' in v)) throw bad('siblings', 'is required')
  if (!Array.isArray(v.siblings)) throw bad('siblings', 'must be an array', v.siblings)
  if (v.siblings.length > MAX_PROOF_DEPTH) throw bad('siblings', `must have at most ${MAX_PROOF_DEPTH} entries`, v.siblings.length)
  const siblings = v.siblings.map((s, i) => word(s, `siblings[${i}]`))
  const proof: StateProof = { key, value, siblings }
  if (v.otherLeaf !== undefined) {
    if (value !== null) throw bad('otherLeaf', 'is only allowed in a non-inclusion proof (value null)')
    if (!isPlainObject(v.otherLeaf)) throw bad('otherLeaf', 'must be an object { key, valueHash }', v.otherLeaf)
    exactKeys(v.otherLeaf, ['key', 'valueHash'], 'otherLeaf')
    const otherKey = word(v.otherLeaf.key, 'otherLeaf.key')
    const valueHash = word(v.otherLeaf.valueHash, 'otherLeaf.valueHash')
    if (otherKey === key) throw bad('otherLeaf.key', 'must differ from key (a leaf with this key would prove inclusion)')
    if (!sharesPrefix(fromHex(key), fromHex(otherKey), siblings.length)) {
      throw bad('otherLeaf.key', `must share the first ${siblings.length} bits (the proof depth) with key`)
    }
    proof.otherLeaf = { key: otherKey, valueHash }
  }
  return proof
}
