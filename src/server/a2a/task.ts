/**
 * A board task as an A2A 1.0 Task (protobuf JSON form): the board's effective status mapped
 * onto A2A's TaskState, a status message that says what happens next, and the accepted
 * result as the artifact. Pure: built from what GET /v1/tasks/:id (with its texts) answers.
 */
import type { TaskView } from '../../agents/index.ts'
import type { BlobText } from '../../client/index.ts'

export type BoardTask = TaskView & { specBlob: BlobText; resultBlob: BlobText | null; specText: string | null; resultText: string | null }

export type A2aTaskState =
  | 'TASK_STATE_SUBMITTED'
  | 'TASK_STATE_WORKING'
  | 'TASK_STATE_INPUT_REQUIRED'
  | 'TASK_STATE_COMPLETED'
  | 'TASK_STATE_CANCELED'
  | 'TASK_STATE_FAILED'
  | 'TASK_STATE_REJECTED'

export const TERMINAL_STATES: readonly A2aTaskState[] = ['TASK_STATE_COMPLETED', 'TASK_STATE_CANCELED', 'TASK_STATE_FAILED', 'TASK_STATE_REJECTED']

type Part = { text: string; mediaType: string } | { data: unknown; mediaType: string } | { url: string; mediaType: string; filename?: string }

/**
 * The board's status now → A2A. A result waiting for the poster's verdict needs input from
 * the A2A client (the poster); one waiting for k-of-n verifiers is work under way elsewhere.
 * A task past its deadline with no result can no longer complete: failed (its reward returns
 * with ExpireTask or CancelTask). The board never refuses a posted task after the fact, so
 * REJECTED is not used: a tx the ledger refuses is a JSON-RPC error and no task exists.
 */
export function a2aState(task: Pick<TaskView, 'effectiveStatus' | 'policy'>): A2aTaskState {
  switch (task.effectiveStatus) {
    case 'open':
      return 'TASK_STATE_SUBMITTED'
    case 'claimed':
      return 'TASK_STATE_WORKING'
    case 'submitted':
      return task.policy === 'poster' ? 'TASK_STATE_INPUT_REQUIRED' : 'TASK_STATE_WORKING'
    case 'accepted':
      return 'TASK_STATE_COMPLETED'
    case 'cancelled':
      return 'TASK_STATE_CANCELED'
    case 'expired':
    case 'past_deadline':
      return 'TASK_STATE_FAILED'
  }
}

/** When the task last changed, in block time (ms). */
function changedAt(t: BoardTask): string {
  if (t.closedAt) return t.closedAt
  if (t.effectiveStatus === 'past_deadline') return t.deadline
  return t.result?.acceptedAt ?? t.submission?.submittedAt ?? t.claim?.claimedAt ?? t.postedAt
}

const iso = (ms: string): string => new Date(Number(ms)).toISOString()

function explain(t: BoardTask): string {
  switch (t.effectiveStatus) {
    case 'open':
      return `Open: the reward of ${t.reward} base units is in escrow; waiting for a worker to claim the task (deadline ${iso(t.deadline)}).`
    case 'claimed':
      return `Claimed by ${t.claim!.claimer} until ${iso(t.claim!.leaseUntil)}; waiting for the result.`
    case 'submitted':
      return t.policy === 'poster'
        ? `${t.submission!.claimer} submitted a result (sha256 ${t.submission!.resultHash}); the poster accepts or rejects it with a signed VerifyResult (SendMessage on this task).`
        : `${t.submission!.claimer} submitted a result; waiting for ${t.threshold} of ${t.verifiers.length} verifiers.`
    case 'accepted':
      return `Completed: the result of ${t.result!.claimer} was accepted and the reward paid to it.`
    case 'cancelled':
      return 'Canceled by the poster; the reward went back to the poster.'
    case 'expired':
      return 'Failed: the deadline passed with no accepted result; the reward went back to the poster.'
    case 'past_deadline':
      return 'Failed: the deadline passed with no result; the reward returns to the poster with an ExpireTask (anyone) or CancelTask (the poster).'
  }
}

/** The result's content as parts: its text when this node has it inline, else where to fetch it. */
function resultParts(t: BoardTask, baseUrl: string, summary: Record<string, unknown>): Part[] {
  const blob = t.resultBlob!
  const content: Part =
    t.resultText !== null
      ? { text: t.resultText, mediaType: 'text/plain' }
      : { url: `${baseUrl}${blob.url}`, mediaType: 'application/octet-stream', filename: blob.hash }
  return [content, { data: summary, mediaType: 'application/json' }]
}

export function a2aTask(t: BoardTask, baseUrl: string) {
  const state = a2aState(t)
  const at = changedAt(t)
  const statusParts: Part[] = [{ text: explain(t), mediaType: 'text/plain' }]
  if (state === 'TASK_STATE_INPUT_REQUIRED') {
    statusParts.push(
      ...resultParts(t, baseUrl, {
        resultHash: t.submission!.resultHash,
        claimer: t.submission!.claimer,
        submittedAt: t.submission!.submittedAt,
        verdict: 'VerifyResult',
      }),
    )
  }
  const artifacts = t.result
    ? [
        {
          artifactId: `result-${t.result.resultHash}`,
          name: 'result',
          description: 'The accepted result of the task',
          parts: resultParts(t, baseUrl, {
            resultHash: t.result.resultHash,
            claimer: t.result.claimer,
            acceptedAt: t.result.acceptedAt,
            txHash: t.result.txHash,
          }),
        },
      ]
    : []
  return {
    id: t.id,
    // The ledger keeps no A2A conversation: each task is its own context.
    contextId: t.id,
    status: {
      state,
      message: { messageId: `${t.id}:${state}:${at}`, contextId: t.id, taskId: t.id, role: 'ROLE_AGENT', parts: statusParts },
      timestamp: iso(at),
    },
    artifacts,
    history: [],
    metadata: {
      sinew: {
        url: `${baseUrl}/v1/tasks/${t.id}`,
        boardStatus: t.effectiveStatus,
        poster: t.poster,
        title: t.title,
        specHash: t.specHash,
        reward: t.reward,
        escrow: t.escrow,
        deadline: t.deadline,
        leaseMs: t.leaseMs,
        claimStake: t.claimStake,
        policy: t.policy,
        verifiers: t.verifiers,
        threshold: t.threshold,
        claimable: t.claimable,
        expirable: t.expirable,
        specText: t.specText,
      },
    },
  }
}

export type A2aTask = ReturnType<typeof a2aTask>
