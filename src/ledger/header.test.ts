import { describe, expect, it } from 'vitest'
import { encodeAbiParameters, keccak256 } from 'viem'
import { encodeHeader, headerHash, type BlockHeader } from './header.ts'

describe('block header', () => {
  const h: BlockHeader = {
    height: 123456789n,
    parentHash: `0x${'11'.repeat(32)}`,
    timestamp: 1767225600123n,
    txRoot: `0x${'22'.repeat(32)}`,
    stateRoot: `0x${'33'.repeat(32)}`,
    receiptsRoot: `0x${'44'.repeat(32)}`,
    txCount: 4242,
    proposer: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
  }
  it('encodes exactly as Solidity abi.encode (checked with viem)', () => {
    const abi = encodeAbiParameters(
      [
        { type: 'uint64' },
        { type: 'bytes32' },
        { type: 'uint64' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'uint32' },
        { type: 'address' },
      ],
      [h.height, h.parentHash, h.timestamp, h.txRoot, h.stateRoot, h.receiptsRoot, h.txCount, h.proposer],
    )
    expect(Buffer.from(encodeHeader(h)).toString('hex')).toBe(abi.slice(2))
    expect(headerHash(h)).toBe(keccak256(abi))
  })
  it('changes with every field', () => {
    const base = headerHash(h)
    const variants: BlockHeader[] = [
      { ...h, height: h.height + 1n },
      { ...h, parentHash: `0x${'12'.repeat(32)}` },
      { ...h, timestamp: h.timestamp + 1n },
      { ...h, txRoot: `0x${'23'.repeat(32)}` },
      { ...h, stateRoot: `0x${'34'.repeat(32)}` },
      { ...h, receiptsRoot: `0x${'45'.repeat(32)}` },
      { ...h, txCount: h.txCount + 1 },
      { ...h, proposer: '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' },
    ]
    expect(new Set(variants.map(headerHash)).size).toBe(variants.length)
    expect(variants.map(headerHash)).not.toContain(base)
  })
})
