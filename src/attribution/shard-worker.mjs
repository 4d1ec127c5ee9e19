// Worker thread entry: builds shards posted by the main thread, one at a time.
// Plain JavaScript so it runs under plain node and under vitest without a loader.
import { parentPort } from 'node:worker_threads'
import { buildShard } from './shard-writer.mjs'

parentPort.on('message', (job) => {
  try {
    const result = buildShard(job)
    parentPort.postMessage({ id: job.id, ok: true, result })
  } catch (err) {
    parentPort.postMessage({ id: job.id, ok: false, error: { message: String(err?.message), stack: String(err?.stack) } })
  }
})
