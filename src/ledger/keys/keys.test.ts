import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { afterAll, describe, expect, it } from 'vitest'
import { SinewError, type Hex } from '../../core/index.ts'
import { DEV_MNEMONIC, decryptKeystore, devAccounts, encryptKeystore, keysDir, listKeys, loadKey, saveKey } from './index.ts'

// Web3 Secret Storage Definition, "Test Vectors" (ethereum.org / the old ethereum wiki).
const VECTOR_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d'
const VECTOR_ADDRESS = '0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b'
const PBKDF2_VECTOR = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const SCRYPT_VECTOR = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}

const FAST = { scryptN: 1024 } // test-only cost; real keys default to n = 262144

async function errorOf(p: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await p
  } catch (e) {
    return e as Error
  }
  throw new Error('expected a rejection')
}

describe('v3 keystore', () => {
  it('decrypts the spec test vectors (pbkdf2 and scrypt, password "testpassword")', async () => {
    expect(await decryptKeystore(PBKDF2_VECTOR, 'testpassword')).toBe(VECTOR_KEY)
    expect(await decryptKeystore(JSON.stringify(SCRYPT_VECTOR), 'testpassword')).toBe(VECTOR_KEY)
    expect(privateKeyToAccount(VECTOR_KEY).address.toLowerCase()).toBe(VECTOR_ADDRESS)
    // With the address field geth adds, and with MyEtherWallet's capitalised "Crypto".
    const { crypto, ...rest } = PBKDF2_VECTOR
    expect(await decryptKeystore({ ...rest, address: VECTOR_ADDRESS.slice(2), Crypto: crypto }, 'testpassword')).toBe(VECTOR_KEY)
  })

  it('round-trips with scrypt and pbkdf2, writing geth-shaped files', async () => {
    const pk = generatePrivateKey()
    const ks = await encryptKeystore(pk, 'correct horse', FAST)
    expect(ks.version).toBe(3)
    expect(ks.address).toBe(privateKeyToAccount(pk).address.toLowerCase().slice(2))
    expect(ks.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(ks.crypto).toMatchObject({ cipher: 'aes-128-ctr', kdf: 'scrypt', kdfparams: { dklen: 32, n: 1024, r: 8, p: 1 } })
    expect(ks.crypto.ciphertext).toMatch(/^[0-9a-f]{64}$/)
    expect(await decryptKeystore(JSON.stringify(ks), 'correct horse')).toBe(pk)

    const pb = await encryptKeystore(pk, 'pässwörd ✓', { kdf: 'pbkdf2', pbkdf2C: 1000 })
    expect(pb.crypto).toMatchObject({ kdf: 'pbkdf2', kdfparams: { c: 1000, dklen: 32, prf: 'hmac-sha256' } })
    expect(await decryptKeystore(pb, 'pässwörd ✓')).toBe(pk)
    // Fresh salt and iv every time.
    const again = await encryptKeystore(pk, 'correct horse', FAST)
    expect(again.crypto.ciphertext).not.toBe(ks.crypto.ciphertext)
  })

  it('defaults to scrypt n = 262144', async () => {
    const ks = await encryptKeystore(generatePrivateKey(), 'x')
    expect(ks.crypto.kdfparams).toMatchObject({ n: 262144, r: 8, p: 1 })
  })

  it('a wrong password gives a SinewError with code wrong_password', async () => {
    const err = await errorOf(decryptKeystore(PBKDF2_VECTOR, 'testpassword!'))
    expect(err).toBeInstanceOf(SinewError)
    expect(err.code).toBe('wrong_password')
    const ks = await encryptKeystore(generatePrivateKey(), 'a', FAST)
    expect((await errorOf(decryptKeystore(ks, 'b'))).code).toBe('wrong_password')
    expect((await errorOf(decryptKeystore(ks, ''))).code).toBe('wrong_password')
  })

  it('malformed files give a 400 invalid_keystore naming the field', async () => {
    const ks = await encryptKeystore(generatePrivateKey(), 'pw', FAST)
    const cases: [unknown, string][] = [
      ['not json', '$'],
      [{ ...ks, version: 1 }, 'version'],
      [{ ...ks, crypto: undefined }, 'crypto'],
      [{ ...ks, crypto: { ...ks.crypto, cipher: 'aes-128-cbc' } }, 'crypto.cipher'],
      [{ ...ks, crypto: { ...ks.crypto, ciphertext: 'zz' } }, 'crypto.ciphertext'],
      [{ ...ks, crypto: { ...ks.crypto, cipherparams: { iv: '00' } } }, 'crypto.cipherparams.iv'],
      [{ ...ks, crypto: { ...ks.crypto, mac: 42 } }, 'crypto.mac'],
      [{ ...ks, crypto: { ...ks.crypto, kdf: 'argon2' } }, 'crypto.kdf'],
      [{ ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, n: 1000 } } }, 'crypto.kdfparams.n'],
      [{ ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, n: 2 ** 30 } } }, 'crypto.kdfparams.n'],
      [{ ...ks, crypto: { ...ks.crypto, kdfparams: { ...ks.crypto.kdfparams, dklen: 16 } } }, 'crypto.kdfparams.dklen'],
      [{ ...PBKDF2_VECTOR, crypto: { ...PBKDF2_VECTOR.crypto, kdfparams: { ...PBKDF2_VECTOR.crypto.kdfparams, prf: 'hmac-sha1' } } }, 'crypto.kdfparams.prf'],
    ]
    for (const [json, fieldName] of cases) {
      const err = await errorOf(decryptKeystore(json, 'pw'))
      expect(err, fieldName).toBeInstanceOf(SinewError)
      expect(err).toMatchObject({ code: 'invalid_keystore', status: 400 })
      expect(err.details?.field).toBe(fieldName)
    }
    // An address field that does not match the key: the file was edited.
    const err = await errorOf(decryptKeystore({ ...ks, address: '11'.repeat(20) }, 'pw'))
    expect(err.details?.field).toBe('address')
  })
})

describe('key directory', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sinew-keys-'))
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
  const dir = keysDir(dataDir)

  it('keysDir is <dataDir>/keys; an absent dir lists as empty', () => {
    expect(dir).toBe(join(dataDir, 'keys'))
    expect(listKeys(dir)).toEqual([])
  })

  it('saves geth-named 0600 files, lists them sorted, loads them back, refuses duplicates', async () => {
    const a = generatePrivateKey()
    const b = generatePrivateKey()
    const savedA = await saveKey(dir, a, 'pw-a', FAST)
    const savedB = await saveKey(dir, b, 'pw-b', FAST)
    const addrA = privateKeyToAccount(a).address.toLowerCase() as Hex
    expect(savedA.address).toBe(addrA)
    expect(basename(savedA.file)).toMatch(new RegExp(`^UTC--\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z--${addrA.slice(2)}$`))
    expect(statSync(savedA.file).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(JSON.parse(readFileSync(savedA.file, 'utf8')).address).toBe(addrA.slice(2))

    // Non-key files in the dir are ignored.
    writeFileSync(join(dir, 'README'), 'not a key')
    writeFileSync(join(dir, '.hidden.tmp'), '{}')
    const listed = listKeys(dir)
    expect(listed).toEqual([savedA, savedB].sort((x, y) => (x.file < y.file ? -1 : 1)))

    expect(await loadKey(dir, savedA.address, 'pw-a')).toBe(a)
    expect(await loadKey(dir, privateKeyToAccount(b).address, 'pw-b')).toBe(b) // checksummed input
    expect((await errorOf(loadKey(dir, savedA.address, 'pw-b'))).code).toBe('wrong_password')
    expect((await errorOf(loadKey(dir, ('0x' + '99'.repeat(20)) as Hex, 'pw'))).code).toBe('not_found')

    const dup = await errorOf(saveKey(dir, a, 'other', FAST))
    expect(dup.code).toBe('key_exists')
    expect(listKeys(dir)).toHaveLength(2)
  })

  it('reads a spec-vector file copied in under a geth name (no address field)', async () => {
    const name = `UTC--2016-03-22T12-57-55.920751759Z--${VECTOR_ADDRESS.slice(2)}`
    writeFileSync(join(dir, name), JSON.stringify(PBKDF2_VECTOR))
    expect(listKeys(dir).map((k) => k.address)).toContain(VECTOR_ADDRESS)
    expect(await loadKey(dir, VECTOR_ADDRESS, 'testpassword')).toBe(VECTOR_KEY)
  })
})

describe('dev accounts', () => {
  it('are the Hardhat/Anvil accounts of the public test mnemonic', () => {
    const accounts = devAccounts(10)
    expect(accounts).toHaveLength(10)
    expect(accounts[0].address).toBe('0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266')
    expect(accounts[0].privateKey).toBe('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')
    expect(accounts[1].address).toBe('0x70997970c51812dc3a010c7d01b50e0d17dc79c8')
    for (const a of accounts) {
      // Same as viem's own derivation at m/44'/60'/0'/0/i.
      expect(a.address).toBe(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: a.index }).address.toLowerCase())
      expect(privateKeyToAccount(a.privateKey).address.toLowerCase()).toBe(a.address)
    }
    expect(devAccounts()).toEqual(accounts)
    expect(devAccounts(3)).toEqual(accounts.slice(0, 3))
    expect(devAccounts(12)[11].address).toBe(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 11 }).address.toLowerCase())
  })
})
