/** Agents: the agent registry, the task board with escrow and verification, reputation. Public surface of src/agents. */
import type { TxKindRegistry } from '../ledger/index.ts'
import { agentKinds } from './kinds.ts'

export {
  agentKinds,
  cancelTaskKind,
  claimTaskKind,
  expireTaskKind,
  MAX_LEASE_MS,
  MAX_VERIFIERS,
  postTaskKind,
  PRIOR_RESULTS_SHOWN,
  registerAgentKind,
  submitResultKind,
  updateAgentKind,
  verifyResultKind,
  type AgentMessage,
  type ClaimTaskMessage,
  type PostTaskMessage,
  type SubmitResultMessage,
  type TaskRefMessage,
  type VerifyResultMessage,
} from './kinds.ts'
export {
  agentKey,
  emptyReputation,
  getAgent,
  getReputation,
  getSpecIndex,
  getTask,
  reputationKey,
  specKey,
  TASK_STATUSES,
  taskKey,
  type AcceptedResult,
  type AgentRecord,
  type Reputation,
  type SpecIndex,
  type TaskRecord,
  type TaskStatus,
} from './state.ts'
export { agentBlobReferences } from './blob-refs.ts'
export { acceptedResults, agentView, listAgents, listTasks, taskView, type AgentView, type ScannableState, type TaskFilter, type TaskView } from './queries.ts'

/** The one registration point: adds every agents tx kind to a node's registry. */
export function registerAgentKinds(registry: TxKindRegistry): TxKindRegistry {
  return registry.register(...agentKinds)
}
