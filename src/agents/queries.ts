/**
 * Read side of the agents module: agent and task listings, the spec index (work reuse) and
 * reputation, computed from the committed state. `now` (wall-clock ms) only shapes the view
 * (is a lease still live, is a task claimable); it never touches state.
 */
import type { Hex } from '../core/index.ts'
import type { Address, StateReader } from '../ledger/index.ts'
import { PRIOR_RESULTS_SHOWN } from './kinds.ts'
import {
  AGENT_KEY,
  FINAL_STATUSES,
  getAgent,
  getReputation,
  getSpecIndex,
  getTask,
  readJson,
  TASK_KEY,
  type AgentRecord,
  type Reputation,
  type TaskRecord,
  type TaskStatus,
} from './state.ts'

export type ScannableState = StateReader & { entries(): Iterable<[string, Uint8Array]> }

export type TaskView = TaskRecord & {
  /** The status as of `now`: a claim whose lease ran out shows as open (or expired past the deadline). */
  effectiveStatus: TaskStatus | 'past_deadline'
  claimable: boolean
  expirable: boolean
  leaseLapsed: boolean
}

export function taskView(task: TaskRecord, now: bigint): TaskView {
  const final = FINAL_STATUSES.includes(task.status)
  const pastDeadline = now >= BigInt(task.deadline)
  const leaseLapsed = task.claim !== null && now >= BigInt(task.claim.leaseUntil)
  const liveClaim = task.claim !== null && !leaseLapsed
  const reviewOpen = task.submission !== null && now < BigInt(task.submission.submittedAt) + BigInt(task.leaseMs)
  let effectiveStatus: TaskView['effectiveStatus'] = task.status
  if (!final) {
    if (task.submission) effectiveStatus = 'submitted'
    else if (liveClaim) effectiveStatus = 'claimed'
    else effectiveStatus = pastDeadline ? 'past_deadline' : 'open'
  }
  return {
    ...task,
    effectiveStatus,
    claimable: !final && !pastDeadline && !liveClaim && task.submission === null,
    expirable: !final && pastDeadline && !reviewOpen,
    leaseLapsed,
  }
}

export type TaskFilter = {
  spec?: Hex
  status?: TaskView['effectiveStatus']
  poster?: Address
  /** The current claimer, the submitter or the accepted worker. */
  worker?: Address
  limit?: number
  offset?: number
}

function* scan<T>(state: ScannableState, pattern: RegExp): Generator<T> {
  for (const [key] of state.entries()) if (pattern.test(key)) yield readJson<T>(state, key)!
}

export function listTasks(state: ScannableState, filter: TaskFilter, now: bigint): { tasks: TaskView[]; total: number } {
  let records: TaskRecord[]
  if (filter.spec) {
    const index = getSpecIndex(state, filter.spec)
    records = (index?.tasks ?? []).map((id) => getTask(state, id)!).filter(Boolean)
  } else {
    records = [...scan<TaskRecord>(state, TASK_KEY)]
  }
  const views = records
    .map((t) => taskView(t, now))
    .filter(
      (t) =>
        (!filter.status || t.effectiveStatus === filter.status) &&
        (!filter.poster || t.poster === filter.poster) &&
        (!filter.worker || t.claim?.claimer === filter.worker || t.submission?.claimer === filter.worker || t.result?.claimer === filter.worker),
    )
    .sort((a, b) => {
      const h = BigInt(b.postedHeight) - BigInt(a.postedHeight)
      return h !== 0n ? (h > 0n ? 1 : -1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
    })
  const offset = filter.offset ?? 0
  return { tasks: views.slice(offset, offset + (filter.limit ?? 100)), total: views.length }
}

/** Earlier accepted results for a spec hash, newest first: what a new poster of the same spec should reuse. */
export function acceptedResults(state: StateReader, spec: Hex, limit = PRIOR_RESULTS_SHOWN) {
  const index = getSpecIndex(state, spec)
  return { spec, tasks: index?.tasks.length ?? 0, accepted: (index?.accepted ?? []).slice(-limit).reverse(), acceptedTotal: index?.accepted.length ?? 0 }
}

export type AgentView = { address: Address; registered: boolean; agent: AgentRecord | null; reputation: Reputation }

export function agentView(state: StateReader, address: Address): AgentView {
  const agent = getAgent(state, address) ?? null
  return { address, registered: agent !== null, agent, reputation: getReputation(state, address) }
}

export function listAgents(state: ScannableState, filter: { capability?: string; limit?: number; offset?: number }): { agents: AgentView[]; total: number } {
  const agents = [...scan<AgentRecord>(state, AGENT_KEY)]
    .filter((a) => !filter.capability || a.capabilities.includes(filter.capability))
    .sort((a, b) => (a.address < b.address ? -1 : 1))
  const offset = filter.offset ?? 0
  return {
    agents: agents
      .slice(offset, offset + (filter.limit ?? 100))
      .map((a) => ({ address: a.address, registered: true, agent: a, reputation: getReputation(state, a.address) })),
    total: agents.length,
  }
}
