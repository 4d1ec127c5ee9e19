// Worker thread entry: extracts the text of PDF and DOCX files posted by the main thread,
// one at a time, so a hostile file can stall or exhaust only this thread (which the main
// thread ends and replaces), never the node. Plain JavaScript: runs without a loader.
import { parentPort } from 'node:worker_threads'
import { extractDocx, extractPdf, Unparseable } from './office-extract.mjs'

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'

parentPort.on('message', async (job) => {
  try {
    const records = job.mediaType === DOCX ? await extractDocx(job.bytes, job.limits) : await extractPdf(job.bytes, job.limits)
    parentPort.postMessage({ id: job.id, ok: true, records })
  } catch (err) {
    if (err instanceof Unparseable) parentPort.postMessage({ id: job.id, ok: false, reason: err.reason, extra: err.extra })
    else parentPort.postMessage({ id: job.id, ok: false, crashed: String(err?.message ?? err) })
  }
})
