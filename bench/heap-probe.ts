/**
 * Reads a node process's memory after a full garbage collection, through its inspector
 * (the process runs with `--inspect=127.0.0.1:0`). RSS alone cannot tell a leak from
 * garbage the collector has not reclaimed yet, or from heap the process keeps reserved;
 * the heap used right after `HeapProfiler.collectGarbage` counts only what is reachable.
 */
import WebSocket from 'ws'

export type HeapReading = { heapUsedMiB: number; heapTotalMiB: number; externalMiB: number; arrayBuffersMiB: number; rssMiB: number }

const INSPECTOR_URL = /Debugger listening on (ws:\/\/\S+)/

/** The inspector's WebSocket URL, from what the process printed at start. */
export function inspectorUrl(output: string): string {
  const m = INSPECTOR_URL.exec(output)
  if (!m) throw new Error('the node process printed no inspector URL: start it with --inspect=127.0.0.1:0')
  return m[1]
}

/** Collects garbage twice in the inspected process, then reads process.memoryUsage() there. */
export async function readHeapAfterGc(wsUrl: string): Promise<HeapReading> {
  const ws = new WebSocket(wsUrl)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  let id = 0
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()
  ws.on('message', (data) => {
    const msg = JSON.parse(String(data))
    const p = pending.get(msg.id)
    if (!p) return
    pending.delete(msg.id)
    if (msg.error) p.reject(new Error(`inspector: ${msg.error.message}`))
    else p.resolve(msg.result)
  })
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((resolve, reject) => {
      pending.set(++id, { resolve, reject })
      ws.send(JSON.stringify({ id, method, params }))
    })
  try {
    // Twice: the first pass can leave objects that only the second finds unreachable (weak maps, finalizers).
    await call('HeapProfiler.collectGarbage')
    await call('HeapProfiler.collectGarbage')
    const r = await call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true })
    const m = JSON.parse(r.result.value) as NodeJS.MemoryUsage
    const mib = (b: number) => Math.round((b / 1048576) * 10) / 10
    return {
      heapUsedMiB: mib(m.heapUsed),
      heapTotalMiB: mib(m.heapTotal),
      externalMiB: mib(m.external),
      arrayBuffersMiB: mib(m.arrayBuffers),
      rssMiB: mib(m.rss),
    }
  } finally {
    ws.close()
  }
}
