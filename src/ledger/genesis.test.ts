import { describe, expect, it } from 'vitest'
import { devAccounts } from './keys/index.ts'
import { addressOf, devGenesis, genesisHash, genesisToJson, insecureDevKey, parseGenesis } from './index.ts'

const dev = () => devGenesis({ accounts: devAccounts(10), sequencer: addressOf(insecureDevKey('sequencer')), treasury: addressOf(insecureDevKey('treasury')) })

describe('genesis', () => {
  it('the dev genesis is byte-identical everywhere, funds the 10 test-mnemonic accounts and says it is insecure', () => {
    const g = dev()
    expect(genesisHash(g)).toBe(genesisHash(dev()))
    expect(g.alloc.map((a) => a.address)[0]).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
    expect(g.alloc).toHaveLength(10)
    expect(g.insecure).toBe(true)
    expect(g.alloc.every((a) => /INSECURE/.test(a.label!))).toBe(true)
    expect(parseGenesis(genesisToJson(g))).toEqual(g)
  })
  it.each([
    ['format', { format: 'x' }],
    ['chainId', { chainId: '0' }],
    ['chainId', { chainId: 5 }],
    ['params.protocolFeeBps', { params: { protocolFeeBps: 10001, treasury: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266' } }],
    [
      'alloc[1].address',
      {
        alloc: [
          { address: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', balance: '1' },
          { address: '0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266', balance: '1' },
        ],
      },
    ],
    ['extra', { extra: true }],
  ])('refuses a bad %s', (field, patch) => {
    const json = { ...genesisToJson(dev()), ...patch }
    expect(() => parseGenesis(json)).toThrow(expect.objectContaining({ message: expect.stringContaining(field) }))
  })
})
