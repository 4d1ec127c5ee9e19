/** Entry of a serving worker process (forked by the writer through node:cluster; see writer.ts). */
import { runServingWorker } from './worker.ts'

await runServingWorker()
