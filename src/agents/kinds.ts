/**
 * The agents module's tx kinds: the agent registry and the task board with escrow.
 *
 * Money rules (every path conserves SIN; docs/agents.md has the full table):
 * - PostTask locks the reward in the task (debited from the poster).
 * - ClaimTask locks the claimer's stake in the task (at least the task's claimStake).
 * - Acceptance pays reward + stake back to the claimer.
 * - Rejection gives the stake to the poster; the task reopens for any claimer until the deadline.
 * - A lease that lapses without a submission gives the stake to the poster (settled by the
 *   next ClaimTask, CancelTask or ExpireTask on that task).
 * - CancelTask (poster, no live claim or submission) and ExpireTask (anyone, after the
 *   deadline) return the reward to the poster. Expiry with a submission nobody judged (after
 *   its review window) returns the stake to the claimer.
 */
import { findUnsafeCharacter, refuseUnsafeText, SinewError, type CanonicalValue, type Hex } from '../core/index.ts'
import { credit, debit, defineTxKind, type Address, type MessageOf, type TxContext, type TxMessage } from '../ledger/index.ts'
import {
  addAmount,
  agentKey,
  bumpReputation,
  FINAL_STATUSES,
  getAgent,
  getSpecIndex,
  getTask,
  putTask,
  specKey,
  type AgentRecord,
  type SpecIndex,
  type TaskRecord,
} from './state.ts'

export const MAX_VERIFIERS = 32
export const MAX_LEASE_MS = 365n * 24n * 3600n * 1000n
export const MAX_CAPABILITIES = 32
/** How many earlier accepted results a PostTask receipt (and a spec query) lists. */
export const PRIOR_RESULTS_SHOWN = 5

const ZERO32 = ('0x' + '00'.repeat(32)) as Hex

const invalid = (field: string, message: string, details: Record<string, unknown> = {}, hint?: string) =>
  new SinewError({ code: 'invalid_field', message: `message.${field} ${message}`, details: { field: `message.${field}`, ...details }, hint })

const CAPABILITY = /^[a-z0-9][a-z0-9._:/-]{0,63}$/
const ENDPOINT = /^(https?|wss?):\/\/[^\s]{1,500}$/

// ---------- agent registry ----------

const agentFields = [
  { name: 'name', type: 'string' },
  { name: 'description', type: 'string' },
  { name: 'capabilities', type: 'string[]' },
  { name: 'endpoint', type: 'string' },
] as const

export type AgentMessage = MessageOf<typeof agentFields>

function validateAgent(m: AgentMessage): void {
  const nameBytes = Buffer.byteLength(m.name, 'utf8')
  if (nameBytes === 0 || nameBytes > 64 || m.name.trim() !== m.name)
    throw invalid('name', 'must be 1 to 64 bytes with no surrounding spaces', { got: m.name.slice(0, 80) })
  refuseUnsafeText('message.name', m.name)
  if (Buffer.byteLength(m.description, 'utf8') > 2000) throw invalid('description', 'is longer than 2000 bytes')
  refuseUnsafeText('message.description', m.description, { multiline: true })
  if (m.capabilities.length > MAX_CAPABILITIES) throw invalid('capabilities', `has more than ${MAX_CAPABILITIES} items`, { got: m.capabilities.length })
  const seen = new Set<string>()
  m.capabilities.forEach((c, i) => {
    if (!CAPABILITY.test(c))
      throw invalid(`capabilities[${i}]`, 'must be lowercase [a-z0-9._:/-], 1 to 64 characters, e.g. "summarize" or "code:typescript"', { got: c.slice(0, 80) })
    if (seen.has(c)) throw invalid(`capabilities[${i}]`, 'is listed twice', { got: c })
    seen.add(c)
  })
  if (m.endpoint !== '' && (!ENDPOINT.test(m.endpoint) || findUnsafeCharacter(m.endpoint)))
    throw invalid('endpoint', 'must be empty or an http(s):// or ws(s):// URL without control or bidirectional characters', { got: m.endpoint.slice(0, 80) })
}

export const registerAgentKind = defineTxKind({
  type: 'RegisterAgent',
  description: 'Register the signer as an agent: name, description, capabilities and an endpoint where it can be reached.',
  fields: agentFields,
  maxStringBytes: 2000,
  validate: validateAgent,
  execute(ctx, m) {
    const existing = getAgent(ctx.state, ctx.sender)
    if (existing) {
      throw new SinewError({
        code: 'agent_exists',
        message: `${ctx.sender} is already registered as "${existing.name}"`,
        details: { field: 'sender', address: ctx.sender },
        hint: 'Use UpdateAgent (sinew agent update) to change it.',
      })
    }
    const record: AgentRecord = {
      address: ctx.sender,
      name: m.name,
      description: m.description,
      capabilities: m.capabilities,
      endpoint: m.endpoint,
      registeredAt: ctx.timestamp.toString(),
      registeredHeight: ctx.height.toString(),
      updatedAt: ctx.timestamp.toString(),
    }
    ctx.state.setJson(agentKey(ctx.sender), record)
    return { agent: ctx.sender, name: m.name }
  },
})

export const updateAgentKind = defineTxKind({
  type: 'UpdateAgent',
  description: "Replace the signer's agent record (name, description, capabilities, endpoint).",
  fields: agentFields,
  maxStringBytes: 2000,
  validate: validateAgent,
  execute(ctx, m) {
    const existing = getAgent(ctx.state, ctx.sender)
    if (!existing) {
      throw new SinewError({
        code: 'agent_not_found',
        message: `${ctx.sender} is not a registered agent`,
        details: { field: 'sender', address: ctx.sender },
        hint: 'Register first with RegisterAgent (sinew agent register).',
      })
    }
    ctx.state.setJson(agentKey(ctx.sender), {
      ...existing,
      name: m.name,
      description: m.description,
      capabilities: m.capabilities,
      endpoint: m.endpoint,
      updatedAt: ctx.timestamp.toString(),
    })
    return { agent: ctx.sender, name: m.name }
  },
})

// ---------- task board ----------

// The message types, read off each kind's EIP-712 fields (declared below).
export type PostTaskMessage = TxMessage<typeof postTaskKind>
export type TaskRefMessage = TxMessage<typeof cancelTaskKind>
export type ClaimTaskMessage = TxMessage<typeof claimTaskKind>
export type SubmitResultMessage = TxMessage<typeof submitResultKind>
export type VerifyResultMessage = TxMessage<typeof verifyResultKind>

function loadTask(ctx: TxContext, id: Hex): TaskRecord {
  const task = getTask(ctx.state, id)
  if (!task) {
    throw new SinewError({
      code: 'task_not_found',
      message: `No task ${id}`,
      details: { field: 'message.task', task: id },
      hint: 'A task id is the hash of its PostTask tx (GET /v1/tasks lists them).',
    })
  }
  return task
}

function refuseIfClosed(task: TaskRecord): void {
  if (FINAL_STATUSES.includes(task.status)) {
    throw new SinewError({
      code: 'task_closed',
      message: `Task ${task.id} is ${task.status}`,
      details: { field: 'message.task', task: task.id, status: task.status },
    })
  }
}

const leaseActive = (task: TaskRecord, now: bigint): boolean => task.claim !== null && now < BigInt(task.claim.leaseUntil)

function refuseIfLiveClaim(task: TaskRecord, now: bigint): void {
  if (task.submission) {
    throw new SinewError({
      code: 'task_pending_verification',
      message: `Task ${task.id} has a submitted result waiting for its verifiers`,
      details: { field: 'message.task', task: task.id, claimer: task.submission.claimer, resultHash: task.submission.resultHash },
    })
  }
  if (leaseActive(task, now)) {
    throw new SinewError({
      code: 'task_claimed',
      message: `Task ${task.id} is claimed by ${task.claim!.claimer} until ${task.claim!.leaseUntil}`,
      details: { field: 'message.task', task: task.id, claimer: task.claim!.claimer, leaseUntil: task.claim!.leaseUntil },
      hint: 'One claim at a time: try again after the lease ends, if nothing was submitted by then.',
    })
  }
}

/** A claim whose lease ran out without a submission: its stake goes to the poster. */
function settleLapsedClaim(ctx: TxContext, task: TaskRecord): { claimer: Address; stakeForfeited: string } | null {
  const claim = task.claim
  if (!claim || task.submission || ctx.timestamp < BigInt(claim.leaseUntil)) return null
  const stake = BigInt(claim.stake)
  if (stake > 0n) credit(ctx.state, task.poster, stake)
  task.escrow = (BigInt(task.escrow) - stake).toString()
  task.claim = null
  task.status = 'open'
  bumpReputation(ctx.state, claim.claimer, (r) => {
    r.expired += 1
    r.stakeForfeited = addAmount(r.stakeForfeited, stake)
  })
  return { claimer: claim.claimer, stakeForfeited: stake.toString() }
}

export const postTaskKind = defineTxKind({
  type: 'PostTask',
  description:
    'Post a task: the reward is locked from the signer until the result is accepted (paid to the claimer) or the task is cancelled or expires (returned). verifiers empty = the poster decides; else threshold of them must accept.',
  fields: [
    { name: 'title', type: 'string' },
    { name: 'specHash', type: 'bytes32' },
    { name: 'reward', type: 'uint256' },
    { name: 'deadline', type: 'uint64' },
    { name: 'leaseMs', type: 'uint64' },
    { name: 'claimStake', type: 'uint256' },
    { name: 'verifiers', type: 'address[]' },
    { name: 'threshold', type: 'uint16' },
  ],
  maxStringBytes: 200,
  validate(m) {
    refuseUnsafeText('message.title', m.title)
    if (m.specHash === ZERO32) throw invalid('specHash', 'must not be zero', {}, 'The spec hash is the sha256 of the task spec blob.')
    if (m.reward === 0n) throw invalid('reward', 'must be above zero', { got: '0' })
    if (m.leaseMs === 0n || m.leaseMs > MAX_LEASE_MS) throw invalid('leaseMs', `must be 1 to ${MAX_LEASE_MS} ms`, { got: m.leaseMs.toString() })
    if (m.verifiers.length > MAX_VERIFIERS) throw invalid('verifiers', `has more than ${MAX_VERIFIERS} addresses`, { got: m.verifiers.length })
    if (new Set(m.verifiers).size !== m.verifiers.length) throw invalid('verifiers', 'lists an address twice')
    if (m.verifiers.length === 0) {
      if (m.threshold > 1n) throw invalid('threshold', 'must be 0 or 1 when the poster is the verifier (no verifiers listed)', { got: m.threshold.toString() })
    } else if (m.threshold < 1n || m.threshold > BigInt(m.verifiers.length)) {
      throw invalid('threshold', `must be 1 to ${m.verifiers.length} (the number of verifiers)`, { got: m.threshold.toString() })
    }
  },
  execute(ctx, m) {
    if (m.deadline <= ctx.timestamp) {
      throw new SinewError({
        code: 'deadline_passed',
        message: `The deadline ${m.deadline} is not after the block time ${ctx.timestamp}`,
        details: { field: 'message.deadline', deadline: m.deadline.toString(), blockTime: ctx.timestamp.toString() },
        hint: 'Deadlines are ms since the epoch, in block time.',
      })
    }
    debit(ctx.state, ctx.sender, m.reward, 'message.reward')
    const task: TaskRecord = {
      id: ctx.txHash,
      poster: ctx.sender,
      title: m.title,
      specHash: m.specHash,
      reward: m.reward.toString(),
      deadline: m.deadline.toString(),
      leaseMs: m.leaseMs.toString(),
      claimStake: m.claimStake.toString(),
      policy: m.verifiers.length === 0 ? 'poster' : 'k-of-n',
      verifiers: m.verifiers.length === 0 ? [ctx.sender] : m.verifiers,
      threshold: m.verifiers.length === 0 ? 1 : Number(m.threshold),
      status: 'open',
      postedAt: ctx.timestamp.toString(),
      postedHeight: ctx.height.toString(),
      claim: null,
      submission: null,
      result: null,
      escrow: m.reward.toString(),
      claims: 0,
      rejections: 0,
      closedAt: null,
    }
    putTask(ctx.state, task)
    const index: SpecIndex = getSpecIndex(ctx.state, m.specHash) ?? { specHash: m.specHash, tasks: [], accepted: [] }
    index.tasks.push(task.id)
    ctx.state.setJson(specKey(m.specHash), index)
    bumpReputation(ctx.state, ctx.sender, (r) => {
      r.posted += 1
    })
    const prior = index.accepted.slice(-PRIOR_RESULTS_SHOWN).reverse()
    return {
      task: task.id,
      escrow: m.reward,
      ...(prior.length > 0 ? { warning: `This spec already has ${index.accepted.length} accepted result(s); see priorResults`, priorResults: prior } : {}),
    }
  },
})

export const claimTaskKind = defineTxKind({
  type: 'ClaimTask',
  description: "Claim an open task for its lease (one claim at a time), locking `stake` (at least the task's claimStake) until the result is judged.",
  fields: [
    { name: 'task', type: 'bytes32' },
    { name: 'stake', type: 'uint256' },
  ],
  execute(ctx, m) {
    const task = loadTask(ctx, m.task)
    refuseIfClosed(task)
    if (ctx.sender === task.poster) {
      throw new SinewError({ code: 'poster_cannot_claim', message: 'The poster cannot claim their own task', details: { field: 'sender', task: task.id } })
    }
    if (ctx.timestamp >= BigInt(task.deadline)) {
      throw new SinewError({
        code: 'task_deadline_passed',
        message: `Task ${task.id} passed its deadline ${task.deadline}`,
        details: { field: 'message.task', task: task.id, deadline: task.deadline, blockTime: ctx.timestamp.toString() },
        hint: 'Anyone can now send ExpireTask to return the reward to the poster.',
      })
    }
    refuseIfLiveClaim(task, ctx.timestamp)
    const lapsed = settleLapsedClaim(ctx, task)
    if (m.stake < BigInt(task.claimStake)) {
      throw new SinewError({
        code: 'stake_too_low',
        message: `This task needs a claim stake of at least ${task.claimStake}`,
        details: { field: 'message.stake', required: task.claimStake, got: m.stake.toString() },
      })
    }
    if (m.stake > 0n) debit(ctx.state, ctx.sender, m.stake, 'message.stake')
    const leaseEnd = ctx.timestamp + BigInt(task.leaseMs)
    const leaseUntil = leaseEnd < BigInt(task.deadline) ? leaseEnd : BigInt(task.deadline)
    task.claim = { claimer: ctx.sender, stake: m.stake.toString(), claimedAt: ctx.timestamp.toString(), leaseUntil: leaseUntil.toString() }
    task.escrow = addAmount(task.escrow, m.stake)
    task.status = 'claimed'
    task.claims += 1
    putTask(ctx.state, task)
    bumpReputation(ctx.state, ctx.sender, (r) => {
      r.claims += 1
    })
    return { task: task.id, claimer: ctx.sender, stake: m.stake, leaseUntil, ...(lapsed ? { lapsedClaim: lapsed } : {}) }
  },
})

export const submitResultKind = defineTxKind({
  type: 'SubmitResult',
  description: 'Submit the result (the hash of its blob) of a task the signer holds a live claim on; the verifiers then accept or reject it.',
  fields: [
    { name: 'task', type: 'bytes32' },
    { name: 'resultHash', type: 'bytes32' },
  ],
  validate(m) {
    if (m.resultHash === ZERO32) throw invalid('resultHash', 'must not be zero')
  },
  execute(ctx, m) {
    const task = loadTask(ctx, m.task)
    refuseIfClosed(task)
    if (task.submission) {
      throw new SinewError({
        code: 'already_submitted',
        message: `Task ${task.id} already has a result waiting for its verifiers`,
        details: { field: 'message.task', task: task.id, claimer: task.submission.claimer, resultHash: task.submission.resultHash },
      })
    }
    if (!task.claim || task.claim.claimer !== ctx.sender) {
      throw new SinewError({
        code: 'not_claimer',
        message: `${ctx.sender} does not hold the claim on task ${task.id}`,
        details: { field: 'sender', task: task.id, claimer: task.claim?.claimer ?? null },
        hint: 'Claim the task first (ClaimTask); only the current claimer can submit.',
      })
    }
    if (ctx.timestamp >= BigInt(task.claim.leaseUntil)) {
      throw new SinewError({
        code: 'lease_expired',
        message: `The lease on task ${task.id} ended at ${task.claim.leaseUntil}`,
        details: { field: 'message.task', task: task.id, leaseUntil: task.claim.leaseUntil, blockTime: ctx.timestamp.toString() },
        hint: 'Claim it again (if the deadline has not passed) and submit within the lease.',
      })
    }
    task.submission = {
      claimer: ctx.sender,
      resultHash: m.resultHash,
      stake: task.claim.stake,
      submittedAt: ctx.timestamp.toString(),
      txHash: ctx.txHash,
      accepts: [],
      rejects: [],
    }
    task.claim = null
    task.status = 'submitted'
    putTask(ctx.state, task)
    return { task: task.id, resultHash: m.resultHash, verifiers: task.verifiers, threshold: task.threshold }
  },
})

export const verifyResultKind = defineTxKind({
  type: 'VerifyResult',
  description:
    "A verifier's verdict on a task's submitted result. When `threshold` verifiers accept, the claimer is paid the reward and gets the stake back; once acceptance is out of reach the stake goes to the poster and the task reopens.",
  fields: [
    { name: 'task', type: 'bytes32' },
    { name: 'accept', type: 'bool' },
  ],
  execute(ctx, m) {
    const task = loadTask(ctx, m.task)
    refuseIfClosed(task)
    const sub = task.submission
    if (!sub) {
      throw new SinewError({
        code: 'no_pending_submission',
        message: `Task ${task.id} has no result waiting for a verdict`,
        details: { field: 'message.task', task: task.id, status: task.status },
      })
    }
    if (!task.verifiers.includes(ctx.sender)) {
      throw new SinewError({
        code: 'not_verifier',
        message: `${ctx.sender} is not a verifier of task ${task.id}`,
        details: { field: 'sender', task: task.id, verifiers: task.verifiers },
      })
    }
    if (sub.accepts.includes(ctx.sender) || sub.rejects.includes(ctx.sender)) {
      throw new SinewError({
        code: 'already_voted',
        message: `${ctx.sender} already gave a verdict on this result`,
        details: { field: 'sender', task: task.id, verdict: sub.accepts.includes(ctx.sender) ? 'accept' : 'reject' },
      })
    }
    ;(m.accept ? sub.accepts : sub.rejects).push(ctx.sender)
    bumpReputation(ctx.state, ctx.sender, (r) => {
      r.verdicts += 1
    })
    const n = task.verifiers.length
    const base = { task: task.id, verdict: m.accept ? 'accept' : 'reject', accepts: sub.accepts.length, rejects: sub.rejects.length, threshold: task.threshold }
    if (sub.accepts.length >= task.threshold) {
      const reward = BigInt(task.reward)
      const stake = BigInt(sub.stake)
      credit(ctx.state, sub.claimer, reward + stake)
      task.escrow = (BigInt(task.escrow) - reward - stake).toString()
      task.status = 'accepted'
      task.result = { claimer: sub.claimer, resultHash: sub.resultHash, acceptedAt: ctx.timestamp.toString(), txHash: sub.txHash }
      task.closedAt = ctx.timestamp.toString()
      putTask(ctx.state, task)
      const index = getSpecIndex(ctx.state, task.specHash)!
      index.accepted.push({ task: task.id, resultHash: sub.resultHash, claimer: sub.claimer, acceptedAt: ctx.timestamp.toString() })
      ctx.state.setJson(specKey(task.specHash), index)
      bumpReputation(ctx.state, sub.claimer, (r) => {
        r.accepted += 1
        r.earned = addAmount(r.earned, reward)
      })
      bumpReputation(ctx.state, task.poster, (r) => {
        r.paid = addAmount(r.paid, reward)
      })
      return { ...base, outcome: 'accepted', paid: reward, stakeReturned: stake, claimer: sub.claimer }
    }
    if (sub.rejects.length > n - task.threshold) {
      const stake = BigInt(sub.stake)
      if (stake > 0n) credit(ctx.state, task.poster, stake)
      task.escrow = (BigInt(task.escrow) - stake).toString()
      task.submission = null
      task.status = 'open'
      task.rejections += 1
      putTask(ctx.state, task)
      bumpReputation(ctx.state, sub.claimer, (r) => {
        r.rejected += 1
        r.stakeForfeited = addAmount(r.stakeForfeited, stake)
      })
      return { ...base, outcome: 'rejected', stakeForfeited: stake, claimer: sub.claimer, reopened: ctx.timestamp < BigInt(task.deadline) }
    }
    putTask(ctx.state, task)
    return { ...base, outcome: 'pending' }
  },
})

export const cancelTaskKind = defineTxKind({
  type: 'CancelTask',
  description: 'The poster withdraws a task that has no live claim and no pending result; the reward is returned.',
  fields: [{ name: 'task', type: 'bytes32' }],
  execute(ctx, m) {
    const task = loadTask(ctx, m.task)
    if (task.poster !== ctx.sender) {
      throw new SinewError({
        code: 'not_poster',
        message: `Only the poster ${task.poster} can cancel task ${task.id}`,
        details: { field: 'sender', task: task.id, poster: task.poster },
      })
    }
    refuseIfClosed(task)
    refuseIfLiveClaim(task, ctx.timestamp)
    const lapsed = settleLapsedClaim(ctx, task)
    const reward = BigInt(task.reward)
    credit(ctx.state, task.poster, reward)
    task.escrow = (BigInt(task.escrow) - reward).toString()
    task.status = 'cancelled'
    task.closedAt = ctx.timestamp.toString()
    putTask(ctx.state, task)
    bumpReputation(ctx.state, ctx.sender, (r) => {
      r.cancelled += 1
    })
    return { task: task.id, refunded: reward, ...(lapsed ? { lapsedClaim: lapsed } : {}) }
  },
})

export const expireTaskKind = defineTxKind({
  type: 'ExpireTask',
  description:
    'Close a task after its deadline (anyone may send it): the reward returns to the poster; a claim that produced nothing forfeits its stake to the poster; a result nobody judged within its review window gets its stake back.',
  fields: [{ name: 'task', type: 'bytes32' }],
  execute(ctx, m) {
    const task = loadTask(ctx, m.task)
    refuseIfClosed(task)
    if (ctx.timestamp < BigInt(task.deadline)) {
      throw new SinewError({
        code: 'deadline_not_reached',
        message: `Task ${task.id} is open until ${task.deadline}`,
        details: { field: 'message.task', task: task.id, deadline: task.deadline, blockTime: ctx.timestamp.toString() },
      })
    }
    const out: Record<string, CanonicalValue> = {}
    const sub = task.submission
    if (sub) {
      const reviewUntil = BigInt(sub.submittedAt) + BigInt(task.leaseMs)
      if (ctx.timestamp < reviewUntil) {
        throw new SinewError({
          code: 'review_window_open',
          message: `The verifiers of task ${task.id} have until ${reviewUntil} to judge its result`,
          details: { field: 'message.task', task: task.id, reviewUntil: reviewUntil.toString(), blockTime: ctx.timestamp.toString() },
        })
      }
      const stake = BigInt(sub.stake)
      if (stake > 0n) credit(ctx.state, sub.claimer, stake)
      task.escrow = (BigInt(task.escrow) - stake).toString()
      task.submission = null
      bumpReputation(ctx.state, sub.claimer, (r) => {
        r.unverified += 1
      })
      bumpReputation(ctx.state, task.poster, (r) => {
        r.leftUnverified += 1
      })
      out.unverifiedResult = { claimer: sub.claimer, resultHash: sub.resultHash, stakeReturned: stake.toString() }
    }
    const lapsed = settleLapsedClaim(ctx, task)
    if (lapsed) out.lapsedClaim = lapsed
    const reward = BigInt(task.reward)
    credit(ctx.state, task.poster, reward)
    task.escrow = (BigInt(task.escrow) - reward).toString()
    task.status = 'expired'
    task.closedAt = ctx.timestamp.toString()
    putTask(ctx.state, task)
    return { task: task.id, refunded: reward, ...out }
  },
})

/** Every kind of the agents module, in registration order. */
export const agentKinds = [
  registerAgentKind,
  updateAgentKind,
  postTaskKind,
  claimTaskKind,
  submitResultKind,
  verifyResultKind,
  cancelTaskKind,
  expireTaskKind,
] as const
