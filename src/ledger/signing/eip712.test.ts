import { randomBytes } from 'node:crypto'
import { getAddress, hashDomain, hashTypedData, toHex } from 'viem'
import { describe, expect, it } from 'vitest'
import { SinewError } from '../../core/index.ts'
import { createTypedDataHasher, domainSeparator, encodeType, type TypedField } from './index.ts'

// Seeded PRNG so a failure can be reproduced (xorshift32).
function rng(seed: number) {
  let s = seed >>> 0 || 1
  const next = () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 2 ** 32
  }
  const int = (n: number) => Math.floor(next() * n)
  const hex = (bytes: number) => toHex(Uint8Array.from({ length: bytes }, () => int(256)))
  const big = (bits: number) => {
    // Mix edge values (0, max) with random widths so every byte position is exercised.
    const r = next()
    if (r < 0.1) return 0n
    if (r < 0.2) return (1n << BigInt(bits)) - 1n
    const width = 1 + int(bits)
    return BigInt(hex(Math.ceil(width / 8))) & ((1n << BigInt(width)) - 1n)
  }
  const alphabet = ['a', 'Z', ' ', '0', 'é', '中', '😀', '"', '\\', '\n']
  const str = () => Array.from({ length: int(40) }, () => alphabet[int(alphabet.length)]).join('')
  const address = () => {
    const a = hex(20)
    return next() < 0.5 ? a : getAddress(a) // lowercase or EIP-55; viem refuses other mixed case
  }
  return { next, int, hex, big, str, address }
}

const chains = [1n, 31337n, 2n ** 64n - 1n]

describe('createTypedDataHasher equals viem hashTypedData', () => {
  it('Transfer{to address, amount uint256, nonce uint64} on 300 random messages', () => {
    const types = {
      Transfer: [
        { name: 'to', type: 'address' },
        { name: 'amount', type: 'uint256' },
        { name: 'nonce', type: 'uint64' },
      ],
    }
    const r = rng(1)
    for (const chainId of chains) {
      const domain = { name: 'Sinew', version: '1', chainId }
      const hash = createTypedDataHasher(domain, types, 'Transfer')
      for (let i = 0; i < 100; i++) {
        const message = { to: r.address(), amount: r.big(256), nonce: r.big(64) }
        expect(toHex(hash(message))).toBe(hashTypedData({ domain, types, primaryType: 'Transfer', message }))
      }
    }
  })

  it('a struct with string, bytes32, bool, uint16, string[] and a nested struct, 200 random messages', () => {
    const types = {
      Contribute: [
        { name: 'title', type: 'string' },
        { name: 'contentHash', type: 'bytes32' },
        { name: 'public', type: 'bool' },
        { name: 'shareBps', type: 'uint16' },
        { name: 'tags', type: 'string[]' },
        { name: 'author', type: 'Author' },
        { name: 'nonce', type: 'uint64' },
      ],
      Author: [
        { name: 'name', type: 'string' },
        { name: 'wallet', type: 'address' },
      ],
    }
    const r = rng(2)
    const domain = { name: 'Sinew', version: '1', chainId: 31337n }
    const hash = createTypedDataHasher(domain, types, 'Contribute')
    for (let i = 0; i < 200; i++) {
      const message = {
        title: r.str(),
        contentHash: r.hex(32),
        public: r.next() < 0.5,
        shareBps: r.big(16),
        tags: Array.from({ length: r.int(5) }, () => r.str()),
        author: { name: r.str(), wallet: r.address() },
        nonce: r.big(64),
      }
      expect(toHex(hash(message))).toBe(hashTypedData({ domain, types, primaryType: 'Contribute', message }))
    }
  })

  it('the rest of the type system: intN, bytesN, bytes, fixed arrays, arrays of structs, nested arrays, deep nesting', () => {
    const types = {
      Everything: [
        { name: 'i8', type: 'int8' },
        { name: 'i256', type: 'int256' },
        { name: 'u8', type: 'uint8' },
        { name: 'u128', type: 'uint128' },
        { name: 'b1', type: 'bytes1' },
        { name: 'b20', type: 'bytes20' },
        { name: 'data', type: 'bytes' },
        { name: 'pair', type: 'uint256[2]' },
        { name: 'flags', type: 'bool[]' },
        { name: 'owners', type: 'address[]' },
        { name: 'matrix', type: 'uint32[][]' },
        { name: 'children', type: 'Child[]' },
        { name: 'zeta', type: 'Zeta' },
      ],
      Child: [
        { name: 'label', type: 'string' },
        { name: 'weight', type: 'int64' },
        { name: 'zeta', type: 'Zeta' },
      ],
      Zeta: [
        { name: 'blobs', type: 'bytes[]' },
        { name: 'names', type: 'string[3]' },
      ],
    }
    const r = rng(3)
    const signed = (bits: number) => {
      const v = r.big(bits - 1)
      return r.next() < 0.5 ? v : -v - 1n // covers -2^(bits-1) .. 2^(bits-1)-1
    }
    const zeta = () => ({ blobs: Array.from({ length: r.int(3) }, () => r.hex(r.int(70))), names: [r.str(), r.str(), r.str()] })
    const domain = { name: 'Sinew', version: '1', chainId: 1n }
    const hash = createTypedDataHasher(domain, types, 'Everything')
    for (let i = 0; i < 150; i++) {
      const message = {
        i8: signed(8),
        i256: signed(256),
        u8: r.big(8),
        u128: r.big(128),
        b1: r.hex(1),
        b20: r.hex(20),
        data: r.hex(r.int(100)),
        pair: [r.big(256), r.big(256)],
        flags: Array.from({ length: r.int(4) }, () => r.next() < 0.5),
        owners: Array.from({ length: r.int(4) }, () => r.address()),
        matrix: Array.from({ length: r.int(3) }, () => Array.from({ length: r.int(3) }, () => r.big(32))),
        children: Array.from({ length: r.int(3) }, () => ({ label: r.str(), weight: signed(64), zeta: zeta() })),
        zeta: zeta(),
      }
      expect(toHex(hash(message))).toBe(hashTypedData({ domain, types, primaryType: 'Everything', message }))
    }
  })

  it('encodeType orders referenced structs alphabetically after the primary type (EIP-712 Mail example)', () => {
    const types: Record<string, TypedField[]> = {
      Mail: [
        { name: 'from', type: 'Person' },
        { name: 'to', type: 'Person' },
        { name: 'contents', type: 'string' },
      ],
      Person: [
        { name: 'name', type: 'string' },
        { name: 'wallet', type: 'address' },
      ],
    }
    expect(encodeType(types, 'Mail')).toBe('Mail(Person from,Person to,string contents)Person(string name,address wallet)')
  })

  it('domainSeparator equals viem hashDomain', () => {
    for (const chainId of chains) {
      const domain = { name: 'Sinew', version: '1', chainId }
      const viem = hashDomain({
        domain,
        types: {
          EIP712Domain: [
            { name: 'name', type: 'string' },
            { name: 'version', type: 'string' },
            { name: 'chainId', type: 'uint256' },
          ],
        },
      })
      expect(toHex(domainSeparator(domain))).toBe(viem)
    }
  })

  it('different chainIds give different digests for the same message', () => {
    const types = {
      Transfer: [
        { name: 'to', type: 'address' },
        { name: 'amount', type: 'uint256' },
        { name: 'nonce', type: 'uint64' },
      ],
    }
    const message = { to: toHex(randomBytes(20)), amount: 5n, nonce: 0n }
    const a = createTypedDataHasher({ name: 'Sinew', version: '1', chainId: 1n }, types, 'Transfer')(message)
    const b = createTypedDataHasher({ name: 'Sinew', version: '1', chainId: 2n }, types, 'Transfer')(message)
    expect(toHex(a)).not.toBe(toHex(b))
  })
})

describe('createTypedDataHasher refuses what it cannot hash', () => {
  const domain = { name: 'Sinew', version: '1', chainId: 1n }
  const types = {
    T: [
      { name: 'to', type: 'address' },
      { name: 'n', type: 'uint8' },
      { name: 'h', type: 'bytes32' },
      { name: 's', type: 'int8' },
    ],
  }
  const hash = createTypedDataHasher(domain, types, 'T')
  const ok = { to: '0x' + '11'.repeat(20), n: 1n, h: '0x' + '22'.repeat(32), s: -1n }

  it('unknown field types and primary types at creation', () => {
    expect(() => createTypedDataHasher(domain, { T: [{ name: 'x', type: 'uint7' }] }, 'T')).toThrow(/Unknown type uint7 in T.x/)
    expect(() => createTypedDataHasher(domain, { T: [{ name: 'x', type: 'Missing' }] }, 'T')).toThrow(/Unknown type Missing/)
    expect(() => createTypedDataHasher(domain, types, 'Nope')).toThrow(/Unknown primary type Nope/)
  })

  it('missing fields and ill-shaped values, naming the field', () => {
    expect(() => hash(ok)).not.toThrow()
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...ok, to: undefined }, /Missing field message.to/],
      [{ ...ok, to: '0x1234' }, /message.to must be an address/],
      [{ ...ok, to: '0x' + 'zz'.repeat(20) }, /message.to must be an address/],
      [{ ...ok, n: 256n }, /message.n is out of range for uint8/],
      [{ ...ok, n: -1n }, /message.n is out of range for uint8/],
      [{ ...ok, n: '1' }, /message.n must be an integer/],
      [{ ...ok, s: -129n }, /message.s is out of range for int8/],
      [{ ...ok, h: '0x22' }, /message.h must be 0x hex of exactly 32 bytes/],
    ]
    for (const [message, re] of cases) {
      let err: unknown
      try {
        hash(message)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(SinewError)
      expect(err).toMatchObject({ code: 'invalid_typed_data', status: 400 })
      expect((err as Error).message).toMatch(re)
    }
  })
})

describe('recursive struct types', () => {
  it('a struct holding an array of itself (scratch buffers are not shared on re-entry)', () => {
    const types = {
      Node: [
        { name: 'value', type: 'uint256' },
        { name: 'children', type: 'Node[]' },
      ],
    }
    const r = rng(4)
    const tree = (depth: number): Record<string, unknown> => ({
      value: r.big(256),
      children: depth === 0 ? [] : Array.from({ length: 1 + r.int(3) }, () => tree(depth - 1)),
    })
    const domain = { name: 'Sinew', version: '1', chainId: 5n }
    const hash = createTypedDataHasher(domain, types, 'Node')
    for (let i = 0; i < 20; i++) {
      const message = tree(3)
      expect(toHex(hash(message))).toBe(hashTypedData({ domain, types, primaryType: 'Node', message }))
    }
  })
})
