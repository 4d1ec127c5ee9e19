/**
 * The agents module's blobs: a task's spec and its results live in the node's blob store
 * (docs/agents.md#spec-and-result-blobs). A PostTask names its spec, a SubmitResult its
 * result, so either may authorise uploading those bytes; a task's state entry refers to its
 * spec, to the result waiting for verdicts and to the accepted result, which garbage
 * collection keeps.
 */
import { fromUtf8 } from '../core/index.ts'
import type { BlobReferences } from '../datanets/index.ts'
import type { PostTaskMessage, SubmitResultMessage } from './kinds.ts'
import { TASK_KEY, type TaskRecord } from './state.ts'

export const agentBlobReferences: BlobReferences = {
  kinds: {
    PostTask: (m) => ({ hash: (m as PostTaskMessage).specHash }),
    SubmitResult: (m) => ({ hash: (m as SubmitResultMessage).resultHash }),
  },
  state: {
    holds: (key) => TASK_KEY.test(key),
    *refs(_key, value) {
      const t = JSON.parse(fromUtf8(value)) as TaskRecord
      yield t.specHash.slice(2).toLowerCase()
      if (t.submission) yield t.submission.resultHash.slice(2).toLowerCase()
      if (t.result) yield t.result.resultHash.slice(2).toLowerCase()
    },
  },
}
