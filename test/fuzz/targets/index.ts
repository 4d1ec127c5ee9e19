/** Every fuzz target, by name: what test/fuzz.test.ts and bench/fuzz.ts run. */
import type { FuzzTarget } from '../harness.ts'
import { blobsTarget } from './blobs.ts'
import { httpTarget } from './http.ts'
import { indexFilesTarget } from './index-files.ts'
import { mcpTarget } from './mcp.ts'
import { txTarget } from './tx.ts'

export const fuzzTargets: FuzzTarget[] = [txTarget, httpTarget, mcpTarget, blobsTarget, indexFilesTarget]
