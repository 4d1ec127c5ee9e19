import { hashTypedData, recoverTypedDataAddress, toHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { InvalidSignatureError, addressOf, createTypedDataHasher, parseSignature, recoverSigner, signDigest, type InvalidSignatureReason } from './index.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const domain = { name: 'Sinew', version: '1', chainId: 31337n }
const types = {
  Transfer: [
    { name: 'to', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'nonce', type: 'uint64' },
  ],
}
const hashTransfer = createTypedDataHasher(domain, types, 'Transfer')

function reasonOf(f: () => unknown): InvalidSignatureReason | undefined {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidSignatureError)
    const err = e as InvalidSignatureError
    expect(err.code).toBe('invalid_signature')
    expect(err.status).toBe(400)
    expect(err.details.reason).toBe(err.reason)
    return err.reason
  }
  return undefined
}

function word(v: bigint): string {
  return v.toString(16).padStart(64, '0')
}

describe('recoverSigner', () => {
  it('recovers the signer of viem signTypedData signatures (40 keys), equal to viem recoverTypedDataAddress', async () => {
    for (let i = 0; i < 40; i++) {
      const account = privateKeyToAccount(generatePrivateKey())
      const message = { to: privateKeyToAccount(generatePrivateKey()).address, amount: BigInt(i) * 10n ** 18n, nonce: BigInt(i) }
      const signature = await account.signTypedData({ domain, types, primaryType: 'Transfer', message })
      const digest = hashTransfer(message)
      const ours = recoverSigner(digest, parseSignature(signature))
      expect(ours).toBe(account.address.toLowerCase())
      expect(ours).toBe((await recoverTypedDataAddress({ domain, types, primaryType: 'Transfer', message, signature })).toLowerCase())
    }
  })

  it('accepts v as 0/1 as well as 27/28, and parseSignature normalises v to 27/28', async () => {
    const pk = generatePrivateKey()
    const digest = hashTransfer({ to: '0x' + '00'.repeat(20), amount: 1n, nonce: 0n })
    const sig = parseSignature(signDigest(pk, digest))
    const raw = Uint8Array.from(sig)
    raw[64] -= 27
    expect(recoverSigner(digest, raw)).toBe(addressOf(pk))
    expect(toHex(parseSignature(toHex(raw)))).toBe(toHex(sig))
  })

  it('a signature for another chainId recovers to a different address, not to an error', async () => {
    // Nothing in the signature says which domain it was made for: a signature over chain 1's
    // digest, checked against chain 31337's digest, is a valid signature of *some* key. The
    // ledger then sees a sender that did not sign, with its own (usually zero) nonce and
    // balance, and rejects the tx on nonce/balance. The replay across chains fails there.
    const account = privateKeyToAccount(generatePrivateKey())
    const message = { to: '0x' + '42'.repeat(20), amount: 100n, nonce: 0n }
    const otherChain = { ...domain, chainId: 1n }
    const signature = await account.signTypedData({ domain: otherChain, types, primaryType: 'Transfer', message })
    const recovered = recoverSigner(hashTransfer(message), parseSignature(signature))
    expect(recovered).toMatch(/^0x[0-9a-f]{40}$/)
    expect(recovered).not.toBe(account.address.toLowerCase())
    // …and on its own chain it recovers to the signer.
    expect(recoverSigner(createTypedDataHasher(otherChain, types, 'Transfer')(message), parseSignature(signature))).toBe(account.address.toLowerCase())
  })
})

describe('signDigest / addressOf', () => {
  it("gives the same bytes as viem's sign (RFC 6979, low s, v 27/28) and the same address", async () => {
    for (let i = 0; i < 25; i++) {
      const pk = generatePrivateKey()
      const digest = hashTransfer({ to: privateKeyToAccount(pk).address, amount: BigInt(i), nonce: BigInt(i) })
      expect(signDigest(pk, digest)).toBe(await sign({ hash: toHex(digest), privateKey: pk, to: 'hex' }))
      expect(addressOf(pk)).toBe(privateKeyToAccount(pk).address.toLowerCase())
    }
  })

  it('matches viem signTypedData end to end', async () => {
    const pk = generatePrivateKey()
    const message = { to: '0x' + 'ab'.repeat(20), amount: 7n, nonce: 3n }
    const viemSig = await privateKeyToAccount(pk).signTypedData({ domain, types, primaryType: 'Transfer', message })
    expect(toHex(hashTransfer(message))).toBe(hashTypedData({ domain, types, primaryType: 'Transfer', message }))
    expect(signDigest(pk, hashTransfer(message))).toBe(viemSig)
  })

  it('refuses malformed and out-of-range private keys without echoing them', () => {
    expect(() => addressOf('0x1234')).toThrow(/64 hex digits/)
    expect(() => addressOf(('0x' + '00'.repeat(32)) as `0x${string}`)).toThrow(/out of range/)
    expect(() => signDigest(`0x${word(N)}`, new Uint8Array(32))).toThrow(/out of range/)
    try {
      addressOf('0xdeadbeef')
    } catch (e) {
      expect(JSON.stringify(e)).not.toContain('deadbeef')
    }
  })
})

describe('parseSignature refuses each bad form with its own reason', () => {
  const pk = generatePrivateKey()
  const digest = hashTransfer({ to: '0x' + '01'.repeat(20), amount: 1n, nonce: 1n })
  const good = signDigest(pk, digest)
  const r = good.slice(2, 66)
  const s = BigInt('0x' + good.slice(66, 130))
  const v = parseInt(good.slice(130), 16)

  it('accepts the good one', () => {
    expect(toHex(parseSignature(good))).toBe(good)
    expect(toHex(parseSignature(Uint8Array.from(Buffer.from(good.slice(2), 'hex'))))).toBe(good)
  })

  it.each([
    ['no 0x prefix', good.slice(2), 'not_hex'],
    ['non-hex digits', good.slice(0, -2) + 'zz', 'not_hex'],
    ['odd length', good + '0', 'not_hex'],
    ['a number', 12345, 'not_hex'],
    ['null', null, 'not_hex'],
    ['64 bytes (EIP-2098 compact)', good.slice(0, 130), 'length'],
    ['66 bytes', good + '00', 'length'],
    ['empty', '0x', 'length'],
    ['v = 29', good.slice(0, 130) + '1d', 'v_out_of_range'],
    ['v = 37 (EIP-155 style)', good.slice(0, 130) + '25', 'v_out_of_range'],
    ['r = 0', '0x' + word(0n) + good.slice(66), 'r_out_of_range'],
    ['r = n', '0x' + word(N) + good.slice(66), 'r_out_of_range'],
    ['s = 0', '0x' + r + word(0n) + good.slice(130), 's_out_of_range'],
    ['high s (n - s, the malleable twin)', '0x' + r + word(N - s) + (v === 27 ? '1c' : '1b'), 'high_s'],
    ['s = n/2 + 1', '0x' + r + word((N >> 1n) + 1n) + good.slice(130), 'high_s'],
  ] as [string, unknown, InvalidSignatureReason][])('%s -> %s', (_label, sig, reason) => {
    expect(reasonOf(() => parseSignature(sig))).toBe(reason)
  })

  it('the malleable twin really is a valid signature that only the low-s rule stops', () => {
    const twin = Uint8Array.from(Buffer.from(r + word(N - s) + (v === 27 ? '1c' : '1b'), 'hex'))
    expect(reasonOf(() => recoverSigner(digest, twin))).toBe('high_s')
  })

  it('an r that is no curve point fails recovery with reason recovery_failed', () => {
    // x = 5 has no point on secp256k1 (5^3 + 7 = 132 is not a square mod p).
    let failed = 0
    for (const x of [5n, 1n, 2n, 3n]) {
      const sig = Uint8Array.from(Buffer.from(word(x) + word(1n) + '1b', 'hex'))
      const reason = reasonOf(() => recoverSigner(digest, sig))
      if (reason === 'recovery_failed') failed++
      else expect(reason).toBeUndefined() // some x are on the curve and recover to some key
    }
    expect(failed).toBeGreaterThan(0)
  })

  it('recoverSigner refuses a digest that is not 32 bytes', () => {
    expect(() => recoverSigner(new Uint8Array(31), parseSignature(good))).toThrow(/Digest must be 32 bytes/)
  })
})
