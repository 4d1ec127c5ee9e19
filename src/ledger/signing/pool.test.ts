import { randomBytes } from 'node:crypto'
import { toHex } from 'viem'
import { generatePrivateKey } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { InvalidSignatureError, SignatureRecoveryPool, addressOf, parseSignature, signDigest, type RecoveryItem } from './index.ts'
import { recoverOne } from './pool.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const keys = Array.from({ length: 8 }, () => generatePrivateKey())

/** `count` items signed by rotating keys, every 7th one broken in a different way. */
function batch(count: number): { items: RecoveryItem[]; expected: (string | undefined)[] } {
  const items: RecoveryItem[] = []
  const expected: (string | undefined)[] = []
  for (let i = 0; i < count; i++) {
    const pk = keys[i % keys.length]
    const digest = new Uint8Array(randomBytes(32))
    const signature = parseSignature(signDigest(pk, digest))
    if (i % 7 === 3) {
      switch (((i / 7) % 5) | 0) {
        case 0:
          items.push({ digest, signature: signature.subarray(0, 64) }) // length
          break
        case 1:
          signature[64] = 30 // v
          items.push({ digest, signature })
          break
        case 2: {
          const s = BigInt(toHex(signature.subarray(32, 64)))
          signature.set(Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex'), 32) // high s
          items.push({ digest, signature })
          break
        }
        case 3:
          signature.set(Buffer.from('05'.padStart(64, '0'), 'hex'), 0) // r not on the curve
          signature.set(Buffer.from('01'.padStart(64, '0'), 'hex'), 32)
          items.push({ digest, signature })
          break
        default:
          digest[0] ^= 1 // tampered digest: recovers to some other address
          items.push({ digest, signature })
      }
      expected.push(undefined)
    } else {
      items.push({ digest, signature })
      expected.push(addressOf(pk))
    }
  }
  return { items, expected }
}

function summarise(results: (string | InvalidSignatureError)[]) {
  return results.map((r) => (typeof r === 'string' ? r : `error:${r.reason}`))
}

describe('SignatureRecoveryPool', () => {
  const pool = new SignatureRecoveryPool({ workers: 2 })
  afterAll(() => pool.close())

  it('gives exactly the inline results, in order, bad signatures included (batch of 1000 through the workers)', async () => {
    const { items, expected } = batch(1000)
    const inline = items.map(recoverOne)
    const pooled = await pool.recoverMany(items)
    expect(summarise(pooled)).toEqual(summarise(inline))
    // Good items recover to their signer; broken ones are errors or (tampered digest) a stranger.
    for (let i = 0; i < items.length; i++) {
      if (expected[i] !== undefined) expect(pooled[i]).toBe(expected[i])
      else expect(pooled[i]).not.toBe(addressOf(keys[i % keys.length]))
    }
    const reasons = new Set(pooled.filter((r): r is InvalidSignatureError => r instanceof InvalidSignatureError).map((r) => r.reason))
    expect([...reasons].sort()).toEqual(['high_s', 'length', 'recovery_failed', 'v_out_of_range'])
  })

  it('small batches (inline path), an empty batch and a batch of only bad signatures', async () => {
    const { items } = batch(10)
    expect(summarise(await pool.recoverMany(items))).toEqual(summarise(items.map(recoverOne)))
    expect(await pool.recoverMany([])).toEqual([])
    const bad = Array.from({ length: 50 }, () => ({ digest: new Uint8Array(32), signature: new Uint8Array(65) }))
    expect(summarise(await pool.recoverMany(bad)).every((r) => r === 'error:r_out_of_range')).toBe(true) // v = 0 is allowed; r = 0 is not
  })

  it('runs concurrent batches without mixing them up', async () => {
    const batches = [batch(300), batch(777), batch(64)]
    const results = await Promise.all(batches.map((b) => pool.recoverMany(b.items)))
    for (let k = 0; k < batches.length; k++) expect(summarise(results[k])).toEqual(summarise(batches[k].items.map(recoverOne)))
  })

  it('with 0 workers is the inline path; after close() it still answers, inline', async () => {
    const inlinePool = new SignatureRecoveryPool({ workers: 0 })
    const { items } = batch(200)
    expect(summarise(await inlinePool.recoverMany(items))).toEqual(summarise(items.map(recoverOne)))
    await inlinePool.close()

    const p = new SignatureRecoveryPool({ workers: 1 })
    expect(summarise(await p.recoverMany(items))).toEqual(summarise(items.map(recoverOne)))
    await p.close()
    expect(summarise(await p.recoverMany(items))).toEqual(summarise(items.map(recoverOne)))
  })
})
