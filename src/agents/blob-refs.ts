/**
 * The agents module's blobs: a task's spec and its results live in the node's blob store
 * (docs/agents.md#spec-and-result-blobs). A PostTask names its spec, a SubmitResult its
 * result, so either may authorise uploading those bytes; every task's spec, the result
 * waiting for verdicts and the accepted result are kept by garbage collection.
 */
import type { BlobReferences } from '../datanets/index.ts'
import type { PostTaskMessage, SubmitResultMessage } from './kinds.ts'
import { readJson, TASK_KEY, type TaskRecord } from './state.ts'

export const agentBlobReferences: BlobReferences = {
  kinds: {
    PostTask: (m) => ({ hash: (m as PostTaskMessage).specHash }),
    SubmitResult: (m) => ({ hash: (m as SubmitResultMessage).resultHash }),
  },
  *live(state) {
    for (const [key] of state.entries()) {
      if (!TASK_KEY.test(key)) continue
      const t = readJson<TaskRecord>(state, key)!
      yield t.specHash.slice(2)
      if (t.submission) yield t.submission.resultHash.slice(2)
      if (t.result) yield t.result.resultHash.slice(2)
    }
  },
}
