// Reading and parsing /proc/net/tcp{,6}, shared by TcpSendQueues (tcp-send-queue.ts) and its
// poller thread (tcp-send-queue-worker.mjs). Plain ESM JavaScript with no imports but Node's,
// so the worker starts without a TypeScript loader (execArgv: []). Types: proc-net-tcp.d.mts.
import { closeSync, openSync, readSync } from 'node:fs'

export const PROC_NET_TCP = { 4: '/proc/net/tcp', 6: '/proc/net/tcp6' }

/**
 * A whole /proc file with one open and as few read()s as the kernel allows, into `holder.buf`
 * (grown and kept for the next read).
 */
export function readProcFile(file, holder) {
  const fd = openSync(file, 'r')
  try {
    let off = 0
    for (;;) {
      if (off === holder.buf.length) {
        const bigger = Buffer.allocUnsafe(holder.buf.length * 2)
        holder.buf.copy(bigger)
        holder.buf = bigger
      }
      const n = readSync(fd, holder.buf, off, holder.buf.length - off, null)
      if (n === 0) break
      off += n
    }
    return holder.buf.toString('latin1', 0, off)
  } finally {
    closeSync(fd)
  }
}

/**
 * "  sl  local_address rem_address   st tx_queue:rx_queue ..." → row key (`local remote`) →
 * tx_queue. The kernel prints fixed-width hex fields (`%08X:%04X`, 32 hex digits for IPv6),
 * so each line is cut at known offsets; a line that does not have that shape is split on
 * whitespace instead.
 */
export function parseTable(text, family) {
  const rows = new Map()
  const width = family === 4 ? 13 : 37
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf('\n', start)
    if (end === -1) end = text.length
    const colon = text.indexOf(':', start)
    const local = colon + 2
    const remote = local + width + 1
    const tx = remote + width + 4
    if (colon !== -1 && tx + 9 <= end && text.charCodeAt(remote - 1) === 32 && text.charCodeAt(tx - 1) === 32 && text.charCodeAt(tx + 8) === 58) {
      const n = Number.parseInt(text.slice(tx, tx + 8), 16)
      if (Number.isFinite(n)) rows.set(text.slice(local, remote + width), n)
    } else {
      const f = text.slice(start, end).trim().split(/\s+/)
      if (f.length >= 5) {
        const c = f[4].indexOf(':')
        const n = c > 0 ? Number.parseInt(f[4].slice(0, c), 16) : Number.NaN
        if (Number.isFinite(n)) rows.set(`${f[1]} ${f[2]}`, n)
      }
    }
    start = end + 1
  }
  return rows
}
