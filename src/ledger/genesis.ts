/**
 * Genesis: the chain's starting point and trust root. It fixes the chainId (EIP-712
 * domain), the sequencer address whose signature every block carries, the protocol
 * parameters every module reads, and the initial balances. Its hash is the parentHash of
 * block 0, so a node, replica or verifier given the same file agrees on everything after.
 */
import { canonicalBytes, canonicalJson, keccak256, keccak256Bytes, parseUint, toHex, utf8, SinewError, type Hex } from '../core/index.ts'
import { parseAddress, type Address } from './address.ts'
import { accountKey, encodeAccount } from './accounts.ts'

export const GENESIS_FORMAT = 'sinew-genesis/1'
export const PARAMS_KEY = 'sys/params'

export type ProtocolParams = {
  /** Share of every paid call that goes to the treasury, in basis points. */
  protocolFeeBps: number
  treasury: Address
}

export type GenesisAlloc = { address: Address; balance: bigint; label?: string }

export type Genesis = {
  format: typeof GENESIS_FORMAT
  network: string
  chainId: bigint
  /** ms since the epoch; block 0's timestamp. */
  timestamp: bigint
  sequencer: Address
  params: ProtocolParams
  alloc: GenesisAlloc[]
  /** Set on dev networks whose keys are public. Shown wherever the node describes itself. */
  insecure?: boolean
  note?: string
}

const TOP_FIELDS = ['format', 'network', 'chainId', 'timestamp', 'sequencer', 'params', 'alloc', 'insecure', 'note']

export function parseGenesis(raw: unknown): Genesis {
  const bad = (field: string, why: string): never => {
    throw new SinewError({ code: 'invalid_genesis', message: `genesis.${field} ${why}`, details: { field: `genesis.${field}` } })
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) bad('', 'must be a JSON object')
  const g = raw as Record<string, unknown>
  for (const k of Object.keys(g)) if (!TOP_FIELDS.includes(k)) bad(k, 'is not a genesis field')
  if (g.format !== GENESIS_FORMAT) bad('format', `must be "${GENESIS_FORMAT}"`)
  if (typeof g.network !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(g.network)) bad('network', 'must be a short lowercase name')
  const chainId = parseUint(g.chainId, 64, 'genesis.chainId')
  if (chainId === 0n) bad('chainId', 'must be above zero')
  const timestamp = parseUint(g.timestamp, 64, 'genesis.timestamp')
  const sequencer = parseAddress(g.sequencer, 'genesis.sequencer')
  const p = g.params as Record<string, unknown> | undefined
  if (!p || typeof p !== 'object') bad('params', 'must be an object')
  for (const k of Object.keys(p!)) if (!['protocolFeeBps', 'treasury'].includes(k)) bad(`params.${k}`, 'is not a protocol parameter')
  // Basis points are small integers: a JSON number or a decimal string.
  const bps = typeof p!.protocolFeeBps === 'number' && Number.isInteger(p!.protocolFeeBps) ? String(p!.protocolFeeBps) : p!.protocolFeeBps
  const protocolFeeBps = Number(parseUint(bps, 16, 'genesis.params.protocolFeeBps'))
  if (protocolFeeBps > 10_000) bad('params.protocolFeeBps', 'must be at most 10000 (100 %)')
  const treasury = parseAddress(p!.treasury, 'genesis.params.treasury')
  if (!Array.isArray(g.alloc)) bad('alloc', 'must be an array')
  const seen = new Set<string>()
  const alloc = (g.alloc as unknown[]).map((a, i): GenesisAlloc => {
    const row = a as Record<string, unknown>
    if (!row || typeof row !== 'object') bad(`alloc[${i}]`, 'must be an object')
    const address = parseAddress(row.address, `genesis.alloc[${i}].address`)
    if (seen.has(address)) bad(`alloc[${i}].address`, `repeats ${address}`)
    seen.add(address)
    const balance = parseUint(row.balance, 256, `genesis.alloc[${i}].balance`)
    if (row.label !== undefined && typeof row.label !== 'string') bad(`alloc[${i}].label`, 'must be a string')
    return row.label === undefined ? { address, balance } : { address, balance, label: row.label as string }
  })
  const total = alloc.reduce((s, a) => s + a.balance, 0n)
  if (total >= 1n << 256n) bad('alloc', 'balances sum above uint256')
  if (g.insecure !== undefined && typeof g.insecure !== 'boolean') bad('insecure', 'must be true or false')
  if (g.note !== undefined && typeof g.note !== 'string') bad('note', 'must be a string')
  return {
    format: GENESIS_FORMAT,
    network: g.network as string,
    chainId,
    timestamp,
    sequencer,
    params: { protocolFeeBps, treasury },
    alloc,
    ...(g.insecure !== undefined ? { insecure: g.insecure as boolean } : {}),
    ...(g.note !== undefined ? { note: g.note as string } : {}),
  }
}

/** The JSON form written to genesis.json and served at GET /v1/genesis. */
export function genesisToJson(g: Genesis): Record<string, unknown> {
  return JSON.parse(canonicalJson(g)) as Record<string, unknown>
}

export function genesisHash(g: Genesis): Hex {
  return keccak256(canonicalBytes(g))
}

/** The state writes that make the genesis state: params and funded accounts. */
export function genesisWrites(g: Genesis): Map<string, Uint8Array> {
  const writes = new Map<string, Uint8Array>()
  writes.set(PARAMS_KEY, canonicalBytes(g.params))
  for (const a of g.alloc) writes.set(accountKey(a.address), encodeAccount({ balance: a.balance, nonce: 0n }))
  return writes
}

export const DEV_CHAIN_ID = 31415n
export const DEV_BALANCE = 10_000n * 10n ** 18n
/** 2026-01-01T00:00:00Z: fixed, so every dev genesis is byte-identical. */
const DEV_TIMESTAMP = 1767225600000n

/** Private keys that are public on purpose: derived from fixed labels, for dev networks only. */
export function insecureDevKey(label: string): Hex {
  return toHex(keccak256Bytes(utf8(`sinew insecure dev key: ${label}`)))
}

export type DevGenesisOptions = {
  accounts: { address: Address }[]
  sequencer: Address
  treasury: Address
}

export function devGenesis(o: DevGenesisOptions): Genesis {
  return {
    format: GENESIS_FORMAT,
    network: 'dev',
    chainId: DEV_CHAIN_ID,
    timestamp: DEV_TIMESTAMP,
    sequencer: o.sequencer,
    params: { protocolFeeBps: 500, treasury: o.treasury },
    alloc: o.accounts.map((a, i) => ({
      address: a.address,
      balance: DEV_BALANCE,
      label: `dev account ${i} (INSECURE: key from the public test mnemonic)`,
    })),
    insecure: true,
    note: 'INSECURE dev network: every funded key here is public. Never use these keys with real value.',
  }
}
