/**
 * Models state: key layout and typed reads. Everything is canonical JSON under the
 * module's prefixes; integers that can exceed 2^53 are decimal strings.
 *
 *   model/<name>             current terms of a model (ModelRecord)
 *   modelv/<name>/<version>  the terms of each version, as receipts charge by the version used
 *   apikey/<keyHash>         an API key: owner, spend limit, expiry, spent, revoked
 *   receipt/<id>             receipt id -> the RecordReceipt tx hash and block height
 *   modelidx                 sorted array of all model names
 */
import type { Hex } from '../core/index.ts'
import { readJson, type Address, type StateReader } from '../ledger/index.ts'
import type { BudgetWindow } from './budgets.ts'

export const modelKey = (name: string): string => `model/${name}`
export const modelVersionKey = (name: string, version: number): string => `modelv/${name}/${version}`
export const apiKeyKey = (keyHash: string): string => `apikey/${keyHash.toLowerCase()}`
export const receiptKey = (id: string): string => `receipt/${id.toLowerCase()}`
/** The sorted names of every registered model (models are few; this keeps listing O(models)). */
export const MODEL_INDEX_KEY = 'modelidx'

export type ModelTerms = {
  name: string
  owner: Address
  version: number
  backend: string
  datanets: string[]
  /** Base units per million output tokens, decimal string. */
  pricePerMillion: string
  /** Base units per million prompt tokens (SetModelPrices); absent = 0. */
  promptPricePerMillion?: string
  /** Base units per call (SetModelPrices); absent = 0. */
  requestPrice?: string
  contributorShareBps: number
  active: boolean
  description: string
}

export type ModelRecord = ModelTerms & { createdAt: string; updatedAt: string }

export type ApiKeyRecord = {
  keyHash: Hex
  owner: Address
  label: string
  /** Base units; "0" = no limit. */
  spendLimit: string
  /** ms since the epoch; "0" = never. */
  expiresAt: string
  spent: string
  calls: string
  revoked: boolean
  /** The block that revoked it (calls authorised before it are still paid for). */
  revokedHeight?: string
  grantedAt: string
  /** What the owner limited the key to (UpdateApiKey); absent = no limits beyond spendLimit and expiry. */
  controls?: ApiKeyControls
  /** Spend in the current period of each budget window (RecordReceipt keeps it). */
  periods?: Partial<Record<BudgetWindow, { start: string; spent: string }>>
}

/** Per-key controls (UpdateApiKey). A limit left out is no limit (the node's own caps still apply). */
export type ApiKeyControls = {
  /** The models the key may call; empty = all. */
  models: string[]
  requestsPerMinute?: number
  tokensPerMinute?: number
  concurrentCalls?: number
  /** Base units a key may spend per UTC day, week or month, decimal strings. */
  budgets: Partial<Record<BudgetWindow, string>>
}

export type ReceiptPointer = { txHash: Hex; height: string }

export const readModel = (state: StateReader, name: string): ModelRecord | undefined => readJson<ModelRecord>(state, modelKey(name))
export const readModelVersion = (state: StateReader, name: string, version: number): ModelTerms | undefined =>
  readJson<ModelTerms>(state, modelVersionKey(name, version))
export const readApiKey = (state: StateReader, keyHash: string): ApiKeyRecord | undefined => readJson<ApiKeyRecord>(state, apiKeyKey(keyHash))
export const readReceiptPointer = (state: StateReader, id: string): ReceiptPointer | undefined => readJson<ReceiptPointer>(state, receiptKey(id))

/** Why a key cannot be used at time `now` (ms), or undefined if it can. */
export function apiKeyProblem(key: ApiKeyRecord | undefined, now: bigint): 'unknown' | 'revoked' | 'expired' | undefined {
  if (!key) return 'unknown'
  if (key.revoked) return 'revoked'
  if (key.expiresAt !== '0' && now >= BigInt(key.expiresAt)) return 'expired'
  return undefined
}

/**
 * Why a call authorised at block `height` and time `at` (ms) could not use the key, judged
 * on the key as it is now: revoked in a block after `height` or expiring after `at` is fine.
 * A revocation recorded without its height counts as always.
 */
export function apiKeyProblemAt(key: ApiKeyRecord | undefined, height: bigint, at: bigint): 'unknown' | 'revoked' | 'expired' | undefined {
  if (!key) return 'unknown'
  if (key.revoked && (key.revokedHeight === undefined || BigInt(key.revokedHeight) <= height)) return 'revoked'
  if (key.expiresAt !== '0' && at >= BigInt(key.expiresAt)) return 'expired'
  return undefined
}

/** What the key may still spend; undefined = no limit. */
export function apiKeyRemaining(key: ApiKeyRecord): bigint | undefined {
  if (key.spendLimit === '0') return undefined
  const left = BigInt(key.spendLimit) - BigInt(key.spent)
  return left > 0n ? left : 0n
}

export const readModelNames = (state: StateReader): string[] => readJson<string[]>(state, MODEL_INDEX_KEY) ?? []
