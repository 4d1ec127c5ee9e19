/**
 * Encrypted JSON key files, version 3 (Web3 Secret Storage), the format geth, Foundry
 * (`cast wallet`), ethers and MetaMask import/export. Compatible both ways: we decrypt the
 * spec's test vectors and files from those tools; they open ours.
 *
 *   derivedKey = scrypt(password, salt, n, r, p, 32)   or   pbkdf2-hmac-sha256(password, salt, c, 32)
 *   ciphertext = aes-128-ctr(key = derivedKey[0..16], iv, privateKey)
 *   mac        = keccak256(derivedKey[16..32] ‖ ciphertext)
 *
 * The password is used as its UTF-8 bytes, unnormalised, as geth and Foundry do.
 * All KDF work runs on libuv's thread pool (node:crypto async), never on the event loop.
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto'
import { scryptAsync } from '@noble/hashes/scrypt'
import { SinewError, keccak256Bytes, type Hex } from '../../core/index.ts'
import { addressOf } from '../signing/index.ts'

export type ScryptParams = { dklen: number; n: number; r: number; p: number; salt: string }
export type Pbkdf2Params = { dklen: number; c: number; prf: 'hmac-sha256'; salt: string }

export type KeystoreV3 = {
  version: 3
  id: string
  /** Lowercase hex without 0x, as geth writes it. */
  address: string
  crypto: {
    cipher: 'aes-128-ctr'
    ciphertext: string
    cipherparams: { iv: string }
    kdf: 'scrypt' | 'pbkdf2'
    kdfparams: ScryptParams | Pbkdf2Params
    mac: string
  }
}

export type EncryptOptions = {
  kdf?: 'scrypt' | 'pbkdf2'
  /** scrypt cost; default 262144 (geth's "standard"). Tests use ~1024. */
  scryptN?: number
  /** pbkdf2 iterations; default 262144 (the spec's). */
  pbkdf2C?: number
}

export const DEFAULT_SCRYPT_N = 262144
const DEFAULT_PBKDF2_C = 262144
// Ceilings when decrypting files we did not write: without them a hostile file could ask
// for terabytes of scrypt memory or hours of pbkdf2.
const MAX_SCRYPT_N = 1 << 22
const MAX_SCRYPT_RP = 1 << 10
const MAX_SCRYPT_MEMORY = 1 << 30 // geth's standard (n = 2^18, r = 8) needs 256 MiB
const MAX_PBKDF2_C = 10_000_000

async function deriveScrypt(password: string, salt: Buffer, n: number, r: number, p: number, dklen: number): Promise<Buffer> {
  if (n >= 2 ** Math.min(16 * r, 53)) {
    // OpenSSL enforces RFC 7914's N < 2^(16·r) and refuses such files, but geth and the
    // spec do not: the spec's own scrypt vector has n = 2^18 with r = 1. Those go through
    // @noble/hashes (pure JS, ~2 s for that vector; scryptAsync yields to the event loop).
    return Buffer.from(await scryptAsync(Buffer.from(password, 'utf8'), salt, { N: n, r, p, dkLen: dklen, maxmem: 128 * r * (n + p + 2) + 1024 * 1024 }))
  }
  // OpenSSL needs 128·r·(n + p + 2) bytes; Node's default maxmem (32 MiB) refuses n = 2^18, r = 8.
  const maxmem = 128 * r * (n + p + 2) + 1024 * 1024
  return new Promise((resolve, reject) =>
    scrypt(Buffer.from(password, 'utf8'), salt, dklen, { N: n, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  )
}

function derivePbkdf2(password: string, salt: Buffer, c: number, dklen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => pbkdf2(Buffer.from(password, 'utf8'), salt, c, dklen, 'sha256', (err, key) => (err ? reject(err) : resolve(key))))
}

function mac(derivedKey: Buffer, ciphertext: Buffer): Buffer {
  return Buffer.from(keccak256Bytes(Buffer.concat([derivedKey.subarray(16, 32), ciphertext])))
}

/** Encrypts a private key into a v3 key file object (serialise it with JSON.stringify). */
export async function encryptKeystore(privateKey: Hex, password: string, opts: EncryptOptions = {}): Promise<KeystoreV3> {
  const address = addressOf(privateKey) // also validates the key
  if (typeof password !== 'string') throw new SinewError({ code: 'invalid_password', message: 'Password must be a string' })
  const kdf = opts.kdf ?? 'scrypt'
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  let derivedKey: Buffer
  let kdfparams: ScryptParams | Pbkdf2Params
  if (kdf === 'scrypt') {
    const n = opts.scryptN ?? DEFAULT_SCRYPT_N
    if (!Number.isInteger(n) || n < 2 || (n & (n - 1)) !== 0 || n > MAX_SCRYPT_N) {
      throw new SinewError({ code: 'invalid_input', message: 'scryptN must be a power of two between 2 and 2^22', details: { scryptN: n } })
    }
    derivedKey = await deriveScrypt(password, salt, n, 8, 1, 32)
    kdfparams = { dklen: 32, n, r: 8, p: 1, salt: salt.toString('hex') }
  } else if (kdf === 'pbkdf2') {
    const c = opts.pbkdf2C ?? DEFAULT_PBKDF2_C
    if (!Number.isInteger(c) || c < 1 || c > MAX_PBKDF2_C)
      throw new SinewError({ code: 'invalid_input', message: 'pbkdf2C out of range', details: { pbkdf2C: c } })
    derivedKey = await derivePbkdf2(password, salt, c, 32)
    kdfparams = { dklen: 32, c, prf: 'hmac-sha256', salt: salt.toString('hex') }
  } else {
    throw new SinewError({ code: 'invalid_input', message: `Unknown kdf ${String(kdf)}`, details: { kdf }, hint: "Use 'scrypt' or 'pbkdf2'." })
  }
  const cipher = createCipheriv('aes-128-ctr', derivedKey.subarray(0, 16), iv)
  const plain = Buffer.from(privateKey.slice(2), 'hex')
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()])
  plain.fill(0)
  const keystore: KeystoreV3 = {
    version: 3,
    id: randomUUID(),
    address: address.slice(2),
    crypto: {
      cipher: 'aes-128-ctr',
      ciphertext: ciphertext.toString('hex'),
      cipherparams: { iv: iv.toString('hex') },
      kdf,
      kdfparams,
      mac: mac(derivedKey, ciphertext).toString('hex'),
    },
  }
  derivedKey.fill(0)
  return keystore
}

function malformed(field: string, expected: string, got?: unknown): SinewError {
  return new SinewError({
    code: 'invalid_keystore',
    message: `Key file field ${field} is malformed: expected ${expected}`,
    details: { field, expected, ...(got === undefined ? {} : { got: typeof got === 'string' ? got.slice(0, 80) : typeof got }) },
    hint: 'The file is not a v3 key file, or it was damaged.',
  })
}

function field(obj: unknown, name: string, path: string): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw malformed(path, 'an object', obj)
  return (obj as Record<string, unknown>)[name]
}

function hexField(obj: unknown, name: string, path: string, bytes?: number): Buffer {
  let v = field(obj, name, path)
  if (typeof v === 'string' && (v.startsWith('0x') || v.startsWith('0X'))) v = v.slice(2)
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(v) || (bytes !== undefined && v.length !== bytes * 2)) {
    throw malformed(`${path}.${name}`, bytes === undefined ? 'hex' : `${bytes} bytes of hex`, v)
  }
  return Buffer.from(v, 'hex')
}

function intField(obj: unknown, name: string, path: string, min: number, max: number): number {
  const v = field(obj, name, path)
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw malformed(`${path}.${name}`, `an integer in [${min}, ${max}]`, v)
  return v
}

/**
 * Decrypts a v3 key file (object or JSON text) and returns the private key as 0x hex.
 * Wrong password -> a SinewError with code `wrong_password`; anything malformed ->
 * `invalid_keystore`, naming the field.
 */
export async function decryptKeystore(json: unknown, password: string): Promise<Hex> {
  let ks = json
  if (typeof ks === 'string') {
    try {
      ks = JSON.parse(ks)
    } catch {
      throw malformed('$', 'JSON text')
    }
  }
  if (field(ks, 'version', '$') !== 3) throw malformed('version', '3', field(ks, 'version', '$'))
  // Some old wallets (MyEtherWallet) wrote "Crypto"; geth reads both.
  const cryptoKey = field(ks, 'crypto', '$') !== undefined ? 'crypto' : 'Crypto'
  const crypto = field(ks, cryptoKey, '$')
  if (crypto === undefined) throw malformed('crypto', 'an object')
  const cipherName = field(crypto, 'cipher', 'crypto')
  if (cipherName !== 'aes-128-ctr') throw malformed('crypto.cipher', "'aes-128-ctr'", cipherName)
  const ciphertext = hexField(crypto, 'ciphertext', 'crypto', 32)
  const iv = hexField(field(crypto, 'cipherparams', 'crypto'), 'iv', 'crypto.cipherparams', 16)
  const expectedMac = hexField(crypto, 'mac', 'crypto', 32)
  const kdf = field(crypto, 'kdf', 'crypto')
  const params = field(crypto, 'kdfparams', 'crypto')
  if (params === null || typeof params !== 'object') throw malformed('crypto.kdfparams', 'an object', params)
  const salt = hexField(params, 'salt', 'crypto.kdfparams')
  const dklen = intField(params, 'dklen', 'crypto.kdfparams', 32, 64)

  let derivedKey: Buffer
  if (kdf === 'scrypt') {
    const n = intField(params, 'n', 'crypto.kdfparams', 2, MAX_SCRYPT_N)
    if ((n & (n - 1)) !== 0) throw malformed('crypto.kdfparams.n', 'a power of two', n)
    const r = intField(params, 'r', 'crypto.kdfparams', 1, MAX_SCRYPT_RP)
    const p = intField(params, 'p', 'crypto.kdfparams', 1, MAX_SCRYPT_RP)
    if (128 * r * n > MAX_SCRYPT_MEMORY) throw malformed('crypto.kdfparams.n', 'scrypt memory 128·n·r of at most 1 GiB', n)
    derivedKey = await deriveScrypt(password, salt, n, r, p, dklen)
  } else if (kdf === 'pbkdf2') {
    const prf = field(params, 'prf', 'crypto.kdfparams')
    if (prf !== 'hmac-sha256') throw malformed('crypto.kdfparams.prf', "'hmac-sha256'", prf)
    const c = intField(params, 'c', 'crypto.kdfparams', 1, MAX_PBKDF2_C)
    derivedKey = await derivePbkdf2(password, salt, c, dklen)
  } else {
    throw malformed('crypto.kdf', "'scrypt' or 'pbkdf2'", kdf)
  }

  // Constant-time compare: the MAC is the password check.
  if (!timingSafeEqual(mac(derivedKey, ciphertext), expectedMac))
    throw new SinewError({
      code: 'wrong_password',
      message: 'Wrong password for this key file',
      hint: 'Check the password; the file itself is intact as far as we can tell.',
    })
  const decipher = createDecipheriv('aes-128-ctr', derivedKey.subarray(0, 16), iv)
  const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()])
  derivedKey.fill(0)
  const privateKey = ('0x' + plain.toString('hex')) as Hex
  plain.fill(0)

  // The address field is optional in the spec; when present it must match the key, or the
  // file was edited (and listKeys/loadKey, which go by that field, would be misled).
  const stated = field(ks, 'address', '$')
  if (stated !== undefined) {
    const actual = addressOf(privateKey)
    const normal = typeof stated === 'string' ? stated.toLowerCase().replace(/^0x/, '') : stated
    if (normal !== actual.slice(2)) throw malformed('address', `the key's address ${actual}`, stated)
  }
  return privateKey
}
