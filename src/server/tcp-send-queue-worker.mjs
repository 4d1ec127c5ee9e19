// TcpSendQueues' poller thread (tcp-send-queue.ts): reads and parses /proc/net/tcp{,6} off
// the node's event loop. With hundreds of sockets a snapshot costs milliseconds of CPU; on
// the node's thread that was a stall of every stream it relays, once per poll.
//
// Message in: { id, families: (4 | 6)[] } (the tables in use). Out: { id, rows: { 4?:
// [key, txQueue][], 6?: … }, costMs }: every row of each table (a stream that starts
// watching while a read is under way finds its row in the answer too), and what the read
// cost (ms, for the pacing).
import { parentPort } from 'node:worker_threads'
import { PROC_NET_TCP, parseTable, readProcFile } from './proc-net-tcp.mjs'

const holder = { buf: Buffer.allocUnsafe(256 * 1024) }

parentPort.on('message', ({ id, families }) => {
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  const rows = {}
  for (const family of families) {
    let table
    try {
      table = parseTable(readProcFile(PROC_NET_TCP[family], holder), family)
    } catch {
      table = new Map()
    }
    rows[family] = [...table]
  }
  // The lesser of wall and CPU time (the process's, all threads): a busy machine stretches the first.
  const cpu = process.cpuUsage(cpu0)
  parentPort.postMessage({ id, rows, costMs: Math.min(performance.now() - t0, (cpu.user + cpu.system) / 1000) })
})
