/**
 * The key directory, <dataDir>/keys: one v3 key file per account, named like geth's
 * keystore (`UTC--2024-05-01T12-00-00.000Z--<address>`), so `geth account list --keystore`
 * or `cast wallet` can read it and a geth keystore can be copied in as is.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { SinewError, type Hex } from '../../core/index.ts'
import { addressOf } from '../signing/index.ts'
import { decryptKeystore, encryptKeystore, type EncryptOptions } from './keystore.ts'

export type KeyEntry = { address: Hex; file: string }

export function keysDir(dataDir: string): string {
  return join(dataDir, 'keys')
}

const ADDRESS_BODY = /^[0-9a-f]{40}$/
const GETH_NAME = /^UTC--.+--([0-9a-fA-F]{40})(\.json)?$/

function normaliseAddress(address: unknown): Hex {
  if (typeof address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(address)) {
    throw new SinewError({ code: 'invalid_address', message: 'Not an address', details: { value: String(address).slice(0, 80) } })
  }
  return address.toLowerCase() as Hex
}

/** geth's file name: UTC--<ISO time with ':' as '-'>--<address without 0x>. */
function keyFileName(address: Hex, now: Date): string {
  return `UTC--${now.toISOString().replace(/:/g, '-')}--${address.slice(2)}`
}

/**
 * Every key file in `dir` with the address it holds, sorted by file name (= creation time
 * for files we write). Files that are not key files are skipped; a missing dir is empty.
 */
export function listKeys(dir: string): KeyEntry[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  const out: KeyEntry[] = []
  for (const name of names.sort()) {
    if (name.startsWith('.') || name.endsWith('.tmp')) continue // hidden and half-written files
    const file = join(dir, name)
    let address: string | undefined
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { address?: unknown; version?: unknown }
      if (json?.version !== 3) continue
      if (typeof json.address === 'string') address = json.address.toLowerCase().replace(/^0x/, '')
    } catch {
      continue // not JSON, a directory, unreadable: not a key file
    }
    // Files from other tools may omit the address; geth's naming carries it too.
    address ??= GETH_NAME.exec(name)?.[1]?.toLowerCase()
    if (address === undefined || !ADDRESS_BODY.test(address)) continue
    out.push({ address: `0x${address}` as Hex, file })
  }
  return out
}

/**
 * Encrypts `privateKey` and writes it as a new key file (mode 0600, dir 0700). Refuses an
 * address that already has a file, so a key is never silently replaced.
 */
export async function saveKey(dir: string, privateKey: Hex, password: string, opts: EncryptOptions = {}): Promise<KeyEntry> {
  const address = addressOf(privateKey)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const existing = listKeys(dir).find((k) => k.address === address)
  if (existing) {
    throw new SinewError({
      code: 'key_exists',
      message: `A key for ${address} already exists`,
      details: { address, file: existing.file },
      hint: 'Use the existing key, or remove its file first if you really mean to replace it.',
    })
  }
  const keystore = await encryptKeystore(privateKey, password, opts)
  const file = join(dir, keyFileName(address, new Date()))
  // Write to a hidden temp file, fsync, then rename: a crash never leaves a truncated key file.
  const tmp = join(dir, `.${keyFileName(address, new Date())}.${process.pid}.tmp`)
  const handle = await open(tmp, 'wx', 0o600)
  try {
    await handle.writeFile(JSON.stringify(keystore))
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await chmod(tmp, 0o600) // in case the umask widened it
    await rename(tmp, file)
  } catch (e) {
    await unlink(tmp).catch(() => {})
    throw e
  }
  return { address, file }
}

/** Decrypts the key for `address` from `dir`. `not_found` if no file holds it. */
export async function loadKey(dir: string, address: Hex, password: string): Promise<Hex> {
  const wanted = normaliseAddress(address)
  const entry = listKeys(dir).find((k) => k.address === wanted)
  if (!entry) {
    throw new SinewError({
      code: 'not_found',
      message: `Key not found: ${wanted}`,
      details: { key: wanted },
      hint: `No key file for this address in ${dir}; \`sinew keys list\` shows the ones there.`,
    })
  }
  const privateKey = await decryptKeystore(await readFile(entry.file, 'utf8'), password)
  // decryptKeystore checks the address field; a file that had none was found by its name.
  if (addressOf(privateKey) !== wanted) {
    throw new SinewError({
      code: 'invalid_keystore',
      message: `Key file ${entry.file} holds a different address`,
      details: { field: 'address', file: entry.file },
    })
  }
  return privateKey
}
