/**
 * Agents state: agent records, tasks (with the escrow they hold), the spec index that makes
 * work reusable, and per-address reputation. Everything lives under `agent/…` and `task/…`
 * as canonical JSON (integers as decimal strings), written only by the tx kinds in kinds.ts,
 * so a replay from genesis rebuilds it exactly.
 *
 *   agent/<address>        AgentRecord
 *   agent/<address>/rep    Reputation (also for addresses that never registered)
 *   task/<taskId>          TaskRecord (taskId = the PostTask tx hash)
 *   task/spec/<specHash>   SpecIndex: every task posted with that spec and its accepted results
 */
import type { Hex } from '../core/index.ts'
import { readJson, type Address, type StateOverlay, type StateReader } from '../ledger/index.ts'

// The ledger's reader of module JSON, re-exported for this module's queries and kinds.
export { readJson }

export type AgentRecord = {
  address: Address
  name: string
  description: string
  capabilities: string[]
  endpoint: string
  registeredAt: string
  registeredHeight: string
  updatedAt: string
}

/** Counts and amounts (decimal strings) derived from task txs; see docs/agents.md. */
export type Reputation = {
  // as a worker (claimer)
  claims: number
  accepted: number
  rejected: number
  /** Claims that ended without a result: the lease lapsed, or the task expired under the claim. */
  expired: number
  /** Submissions nobody judged before the task expired (stake returned, no reward). */
  unverified: number
  earned: string
  stakeForfeited: string
  // as a poster
  posted: number
  paid: string
  cancelled: number
  /** Tasks this address posted that expired with a submission its verifiers never judged. */
  leftUnverified: number
  // as a verifier
  verdicts: number
}

export const emptyReputation = (): Reputation => ({
  claims: 0,
  accepted: 0,
  rejected: 0,
  expired: 0,
  unverified: 0,
  earned: '0',
  stakeForfeited: '0',
  posted: 0,
  paid: '0',
  cancelled: 0,
  leftUnverified: 0,
  verdicts: 0,
})

export type TaskStatus = 'open' | 'claimed' | 'submitted' | 'accepted' | 'cancelled' | 'expired'
export const TASK_STATUSES: readonly TaskStatus[] = ['open', 'claimed', 'submitted', 'accepted', 'cancelled', 'expired']
export const FINAL_STATUSES: readonly TaskStatus[] = ['accepted', 'cancelled', 'expired']

export type TaskClaim = { claimer: Address; stake: string; claimedAt: string; leaseUntil: string }
export type TaskSubmission = {
  claimer: Address
  resultHash: Hex
  stake: string
  submittedAt: string
  txHash: Hex
  accepts: Address[]
  rejects: Address[]
}

export type TaskRecord = {
  id: Hex
  poster: Address
  title: string
  specHash: Hex
  reward: string
  /** ms since the epoch (block time) */
  deadline: string
  leaseMs: string
  /** The least stake a claimer must lock with ClaimTask (0: none). */
  claimStake: string
  /** 'poster': the poster alone decides; 'k-of-n': `threshold` of `verifiers`. */
  policy: 'poster' | 'k-of-n'
  /** The effective verifier set ([poster] under the 'poster' policy). */
  verifiers: Address[]
  threshold: number
  status: TaskStatus
  postedAt: string
  postedHeight: string
  claim: TaskClaim | null
  submission: TaskSubmission | null
  result: { claimer: Address; resultHash: Hex; acceptedAt: string; txHash: Hex } | null
  /** What the task holds right now: the reward (until paid or returned) plus any claimer stake. */
  escrow: string
  claims: number
  rejections: number
  closedAt: string | null
}

export type AcceptedResult = { task: Hex; resultHash: Hex; claimer: Address; acceptedAt: string }
export type SpecIndex = { specHash: Hex; tasks: Hex[]; accepted: AcceptedResult[] }

export const agentKey = (address: Address): string => `agent/${address}`
export const reputationKey = (address: Address): string => `agent/${address}/rep`
export const taskKey = (id: Hex): string => `task/${id}`
export const specKey = (specHash: Hex): string => `task/spec/${specHash}`

export const AGENT_KEY = /^agent\/0x[0-9a-f]{40}$/
export const REPUTATION_KEY = /^agent\/(0x[0-9a-f]{40})\/rep$/
export const TASK_KEY = /^task\/0x[0-9a-f]{64}$/

export const getAgent = (state: StateReader, address: Address) => readJson<AgentRecord>(state, agentKey(address))
export const getTask = (state: StateReader, id: Hex) => readJson<TaskRecord>(state, taskKey(id))
export const getSpecIndex = (state: StateReader, specHash: Hex) => readJson<SpecIndex>(state, specKey(specHash))
export const getReputation = (state: StateReader, address: Address): Reputation => ({
  ...emptyReputation(),
  ...(readJson<Partial<Reputation>>(state, reputationKey(address)) ?? {}),
})

export function putTask(state: StateOverlay, task: TaskRecord): void {
  state.setJson(taskKey(task.id), task)
}

/** Applies `change` to an address's reputation. */
export function bumpReputation(state: StateOverlay, address: Address, change: (r: Reputation) => void): void {
  const r = getReputation(state, address)
  change(r)
  state.setJson(reputationKey(address), r)
}

export const addAmount = (a: string, b: bigint): string => (BigInt(a) + b).toString()
