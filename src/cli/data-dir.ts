/**
 * The data dir: genesis.json (the chain), node-key.json (the sequencer's v3 key file,
 * not on dev networks), sinew.db (the store), config.json (optional settings), keys/.
 */
import { generatePrivateKey } from 'viem/accounts'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseUint, SinewError, writeFileDurable, type Hex } from '../core/index.ts'
import { addressOf, devGenesis, genesisToJson, insecureDevKey, parseAddress, parseGenesis, GENESIS_FORMAT, type Genesis } from '../ledger/index.ts'
import { decryptKeystore, devAccounts, encryptKeystore } from '../ledger/keys/index.ts'
import { readPassword } from './password.ts'

export const GENESIS_FILE = 'genesis.json'
export const NODE_KEY_FILE = 'node-key.json'

export const DEV_SEQUENCER_KEY = insecureDevKey('sequencer')
export const DEV_TREASURY_KEY = insecureDevKey('treasury')

export function makeDevGenesis(): Genesis {
  return devGenesis({ accounts: devAccounts(10), sequencer: addressOf(DEV_SEQUENCER_KEY), treasury: addressOf(DEV_TREASURY_KEY) })
}

export function readGenesisFile(dataDir: string): Genesis | undefined {
  const file = join(dataDir, GENESIS_FILE)
  if (!existsSync(file)) return undefined
  let json: unknown
  try {
    json = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new SinewError({ code: 'invalid_genesis', message: `${file} is not valid JSON`, details: { file, reason: String(e) } })
  }
  return parseGenesis(json)
}

export function writeGenesisFile(dataDir: string, genesis: Genesis): string {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, GENESIS_FILE)
  writeFileDurable(file, JSON.stringify(genesisToJson(genesis), null, 2) + '\n')
  return file
}

export type InitOptions = {
  dataDir: string
  dev?: boolean
  force?: boolean
  network?: string
  chainId?: string
  protocolFeeBps?: string
  treasury?: string
  /** "address=amount-in-base-units" */
  alloc?: string[]
}

export type InitResult = { genesis: Genesis; genesisFile: string; keyFile?: string }

/** Writes a genesis (and, off dev, a new sequencer key) into an empty data dir. */
export async function initDataDir(o: InitOptions): Promise<InitResult> {
  if (existsSync(join(o.dataDir, GENESIS_FILE)) && !o.force) {
    throw new SinewError({
      code: 'already_initialised',
      message: `${o.dataDir} already has a genesis`,
      details: { dataDir: o.dataDir },
      hint: 'Use another --data-dir, or --force to overwrite the genesis (only before the node first ran).',
    })
  }
  if (existsSync(join(o.dataDir, 'sinew.db')) && o.force) {
    throw new SinewError({
      code: 'already_initialised',
      message: `${o.dataDir} already holds a chain; refusing to replace its genesis`,
      details: { dataDir: o.dataDir },
    })
  }
  if (o.dev) {
    const genesis = makeDevGenesis()
    return { genesis, genesisFile: writeGenesisFile(o.dataDir, genesis) }
  }
  const key = generatePrivateKey()
  const sequencer = addressOf(key)
  const password = await readPassword('Password for the new node key: ', 'SINEW_NODE_PASSWORD', true)
  const alloc = (o.alloc ?? []).map((entry, i) => {
    const [address, amount] = entry.split('=')
    return { address: parseAddress(address, `--alloc[${i}] address`), balance: parseUint(amount, 256, `--alloc[${i}] amount`) }
  })
  const genesis = parseGenesis({
    format: GENESIS_FORMAT,
    network: o.network ?? 'local',
    chainId: o.chainId ?? String(1_000_000 + Math.floor(Math.random() * 1_000_000_000)),
    timestamp: String(Date.now()),
    sequencer,
    params: { protocolFeeBps: o.protocolFeeBps ?? '500', treasury: o.treasury ?? sequencer },
    alloc: alloc.map((a) => ({ address: a.address, balance: a.balance.toString() })),
  })
  mkdirSync(o.dataDir, { recursive: true })
  const keyFile = join(o.dataDir, NODE_KEY_FILE)
  writeFileDurable(keyFile, JSON.stringify(await encryptKeystore(key, password), null, 2) + '\n', 0o600)
  return { genesis, genesisFile: writeGenesisFile(o.dataDir, genesis), keyFile }
}

/** The sequencer key for this genesis: the public dev key on insecure dev chains, else node-key.json. */
export async function loadSequencerKey(dataDir: string, genesis: Genesis): Promise<Hex> {
  if (genesis.insecure && genesis.sequencer === addressOf(DEV_SEQUENCER_KEY)) return DEV_SEQUENCER_KEY
  const file = join(dataDir, NODE_KEY_FILE)
  if (!existsSync(file)) {
    throw new SinewError({
      code: 'no_node_key',
      message: `No node key at ${file}`,
      hint: 'This data dir was not made by `sinew init`, or run it with --follow URL as a replica.',
    })
  }
  const key = await decryptKeystore(JSON.parse(readFileSync(file, 'utf8')), await readPassword('Node key password: ', 'SINEW_NODE_PASSWORD'))
  if (addressOf(key) !== genesis.sequencer) {
    throw new SinewError({ code: 'wrong_node_key', message: `${file} holds ${addressOf(key)}, not the sequencer ${genesis.sequencer}` })
  }
  return key
}
