/**
 * Datanet ledger state: every key lives under `datanet/`, values are canonical JSON.
 *
 *   datanet/count                         {"count": n}              Datanets created so far
 *   datanet/i/<n>                         "<id>"                    n-th Datanet (creation order)
 *   datanet/name/<lowercased name>        "<id>"                    names are unique, case-insensitive
 *   datanet/d/<id>                        DatanetRecord
 *   datanet/d/<id>/c/<seq>                "<contribution id>"       every contribution, submission order
 *   datanet/d/<id>/a/<k>                  "<contribution id>"       accepted ones, acceptance order (append-only)
 *   datanet/d/<id>/h/<contentHash>        "<contribution id>"       the live (pending or accepted) holder of a hash
 *   datanet/d/<id>/u/<author>             AuthorStats
 *   datanet/d/<id>/ua/<k>                 "<author>"                contributors, first-contribution order
 *   datanet/d/<id>/v/<n>                  VersionRecord             n = 1, 2, ...
 *   datanet/d/<id>/x/<k>                  "<contribution id>"       excluded ones, exclusion order (append-only)
 *   datanet/c/<contribution id>           ContributionRecord
 *
 * Ids are tx hashes: a Datanet's id is the hash of its CreateDatanet tx, a contribution's
 * the hash of its Contribute tx. Amounts are decimal strings, counts safe integers.
 */
import type { Hex } from '../core/index.ts'
import { readJson, type Address, type StateReader } from '../ledger/index.ts'

// The ledger's reader of module JSON, re-exported for this module's service, builder and kinds.
export { readJson }

export type DatanetRules = {
  /** Accepted media types (see MEDIA_TYPES). */
  mediaTypes: string[]
  /** Largest contribution, bytes (decimal string). */
  maxSize: string
  /** SIN base units locked by each Contribute (decimal string). */
  stake: string
}

export type DatanetRecord = {
  id: Hex
  name: string
  description: string
  license: string
  owner: Address
  curators: Address[]
  rules: DatanetRules
  createdAt: { height: string; timestamp: string }
  updatedAt: string
  counts: { contributions: number; pending: number; accepted: number; rejected: number }
  contributors: number
  /** Stakes of pending contributions, held by the Datanet until their verdict. */
  stakeLocked: string
  /** Stakes of rejected contributions paid to the owner so far. */
  stakeForfeited: string
  versions: number
  /** Accepted contributions the owner excluded from later versions (absent until the first). */
  excluded?: number
}

export type ContributionStatus = 'pending' | 'accepted' | 'rejected'

export type ContributionRecord = {
  id: Hex
  datanet: Hex
  seq: number
  author: Address
  contentHash: Hex
  title: string
  mediaType: string
  size: string
  stake: string
  status: ContributionStatus
  submittedAt: { height: string; timestamp: string }
  /** Position in the accepted list (0-based): the order of documents in every version index. */
  acceptedIndex: number | null
  review: { by: Address; verdict: 'accept' | 'reject'; reason: string; height: string; txHash: Hex } | null
  /** Set by ExcludeContribution: left out of every version published after `height`. */
  excluded?: { by: Address; reason: string; height: string; txHash: Hex }
}

export type AuthorStats = {
  author: Address
  contributions: number
  pending: number
  accepted: number
  rejected: number
  /** Stake locked now in pending contributions. */
  stakeLocked: string
  stakeReturned: string
  stakeForfeited: string
  bytesAccepted: string
}

export type VersionRecord = {
  datanet: Hex
  version: number
  /** The first `contributions` entries of the accepted list, frozen. */
  contributions: number
  /**
   * Those of them the owner had excluded when the version was published, in acceptance
   * order (absent when none). The version holds the others: its documents.
   */
  excluded?: Hex[]
  /** Merkle root (sorted-pair list tree, docs/ledger.md) over listLeaf(i, contributionId) of the version's documents. */
  root: Hex
  bytes: string
  publisher: Address
  txHash: Hex
  height: string
  timestamp: string
}

export const COUNT_KEY = 'datanet/count'
export const datanetIndexKey = (n: number): string => `datanet/i/${n}`
export const nameKey = (name: string): string => `datanet/name/${name.toLowerCase()}`
export const datanetKey = (id: string): string => `datanet/d/${id}`
export const contributionSeqKey = (id: string, seq: number): string => `datanet/d/${id}/c/${seq}`
export const acceptedKey = (id: string, k: number): string => `datanet/d/${id}/a/${k}`
export const hashKey = (id: string, contentHash: string): string => `datanet/d/${id}/h/${contentHash}`
export const authorKey = (id: string, author: string): string => `datanet/d/${id}/u/${author}`
export const authorSeqKey = (id: string, k: number): string => `datanet/d/${id}/ua/${k}`
export const versionKey = (id: string, n: number): string => `datanet/d/${id}/v/${n}`
export const excludedKey = (id: string, k: number): string => `datanet/d/${id}/x/${k}`
export const contributionKey = (id: string): string => `datanet/c/${id}`

export const getDatanet = (state: StateReader, id: string): DatanetRecord | undefined => readJson<DatanetRecord>(state, datanetKey(id))
export const getContribution = (state: StateReader, id: string): ContributionRecord | undefined => readJson<ContributionRecord>(state, contributionKey(id))
export const getVersion = (state: StateReader, id: string, n: number): VersionRecord | undefined => readJson<VersionRecord>(state, versionKey(id, n))
export const getAuthorStats = (state: StateReader, id: string, author: string): AuthorStats | undefined => readJson<AuthorStats>(state, authorKey(id, author))
export const datanetCount = (state: StateReader): number => readJson<{ count: number }>(state, COUNT_KEY)?.count ?? 0
export const datanetIdByName = (state: StateReader, name: string): Hex | undefined => readJson<Hex>(state, nameKey(name))

/** The first `count` accepted contributions' ids, in acceptance order. */
export function versionContributionIds(state: StateReader, datanet: string, count: number): Hex[] {
  const out: Hex[] = []
  for (let k = 0; k < count; k++) out.push(readJson<Hex>(state, acceptedKey(datanet, k))!)
  return out
}

/** The ids of a version's documents: its accepted contributions minus the excluded ones, in index order. */
export function versionDocumentIds(state: StateReader, v: VersionRecord): Hex[] {
  const excluded = new Set(v.excluded ?? [])
  return versionContributionIds(state, v.datanet, v.contributions).filter((id) => !excluded.has(id))
}

/** Every contribution the owner of a Datanet has excluded, in exclusion order. */
export function excludedIds(state: StateReader, d: DatanetRecord): Hex[] {
  const out: Hex[] = []
  for (let k = 0; k < (d.excluded ?? 0); k++) out.push(readJson<Hex>(state, excludedKey(d.id, k))!)
  return out
}

export function emptyAuthorStats(author: Address): AuthorStats {
  return { author, contributions: 0, pending: 0, accepted: 0, rejected: 0, stakeLocked: '0', stakeReturned: '0', stakeForfeited: '0', bytesAccepted: '0' }
}
