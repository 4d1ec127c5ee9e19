/**
 * How much a TCP connection has handed to the kernel that its peer has not acknowledged yet
 * (the socket's send queue), read from `/proc/net/tcp` and `/proc/net/tcp6` on Linux.
 *
 * Why: a socket's write callback only says the local kernel took the bytes. On loopback a
 * client that stops reading lets the node's kernel take about 4 MB (3.9 MB in the node's send
 * queue, 128 KB in the client's receive queue, measured on Linux 6 with default buffer
 * sizes): a whole long answer. Bytes still in the node's send queue never reached the client,
 * so the gateway bills a stream by what the client's TCP acknowledged: taken minus unacked.
 *
 * Cost: the kernel prints every socket of the network namespace, a page per read(), walking
 * its table each time; with ~800 sockets that took 8.5 ms a snapshot on the 2-core dev VM.
 * So one poller serves all streams, runs only while someone watches (a stream with frames
 * not yet known to be acknowledged), reads only the tables of the address families in use,
 * and waits at least 20 times its last read's CPU time between reads (at most ~5 % of a
 * core, whatever the number of sockets; CPU time, so a busy machine does not stretch it),
 * and at least `minIntervalMs`. Rows are cut at the fixed offsets the kernel prints them at
 * (`parseTable`), not split field by field. `readNow` reads at once, for a connection the peer is
 * closing (its row is still there, in CLOSE_WAIT, until the node closes its side).
 *
 * Where it can, it asks the kernel about one socket instead: `ioctl(fd, SIOCOUTQ)` (through
 * koffi, a prebuilt FFI) gives the same number as that socket's /proc row (`write_seq -
 * snd_una`), at once, in well under a microsecond, and without stalling every stream the
 * node serves for a whole table's read. The connection's row in /proc goes with a reset
 * connection; the ioctl still answers until the node closes its socket. The /proc tables are
 * the fallback (no koffi for the platform, or `read` given: tests).
 *
 * Where there is neither (macOS, Windows) `available` is false and callers fall back to
 * what the kernel took.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import { endianness } from 'node:os'
import { parseIp } from '../gateway/index.ts'

const FILES = { 4: '/proc/net/tcp', 6: '/proc/net/tcp6' } as const

/** Linux's SIOCOUTQ (= TIOCOUTQ): bytes of a TCP socket's send queue its peer has not acknowledged (sent or not). */
const SIOCOUTQ = 0x5411

/** A socket's unacknowledged send queue by its file descriptor, read by ioctl; undefined where that cannot be done. */
function loadSendQueueIoctl(): ((fd: number) => number | undefined) | undefined {
  if (process.platform !== 'linux') return undefined
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi')
    const ioctl = koffi.load('libc.so.6').func('int ioctl(int fd, unsigned long request, _Out_ int *out)')
    const out = [0]
    return (fd) => (ioctl(fd, SIOCOUTQ, out) === 0 ? out[0] : undefined)
  } catch {
    return undefined
  }
}

/** The file descriptor under a connected net.Socket (libuv's TCP handle), if it still has one. */
function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}
const LITTLE_ENDIAN = endianness() === 'LE'
/** Reading may take at most this share of the time between reads. */
const COST_SHARE = 20

/** An address as /proc/net/tcp{,6} prints it: each 32-bit word in host byte order, in hex. */
function procAddress(address: string, v6: boolean): string | undefined {
  const ip = parseIp(address)
  if (!ip) return undefined
  // A dual-stack socket reports an IPv4 peer as ::ffff:a.b.c.d, and lists it in tcp6.
  const n = v6 && ip.v === 4 ? (0xffffn << 32n) | ip.n : ip.n
  let out = ''
  for (let i = (v6 ? 4 : 1) - 1; i >= 0; i--) {
    const word = Number((n >> BigInt(32 * i)) & 0xffffffffn)
    const host = LITTLE_ENDIAN ? ((word & 0xff) << 24) | ((word & 0xff00) << 8) | ((word >>> 8) & 0xff00) | (word >>> 24) : word
    out += (host >>> 0).toString(16).toUpperCase().padStart(8, '0')
  }
  return out
}

const hexPort = (p: number) => p.toString(16).toUpperCase().padStart(4, '0')

type Key = { family: 4 | 6; row: string }

export type TcpSendQueuesOptions = {
  /** Shortest time between two reads (default 10 ms; 5 ms when sockets are asked one by one). */
  minIntervalMs?: number
  /** Reads a whole /proc file (tests): the /proc tables are used, never the ioctl. */
  read?: (file: string) => string
  /** Ask each socket by ioctl where possible (default true). */
  ioctl?: boolean
}

export class TcpSendQueues {
  readonly available: boolean
  private readonly snapshot = { 4: new Map<string, number>(), 6: new Map<string, number>() }
  private readonly keys = new WeakMap<Socket, Key | null>()
  private readonly watchers = new Map<() => void, 4 | 6>()
  private timer: NodeJS.Timeout | undefined
  private lastRead = Number.NEGATIVE_INFINITY
  private lastCostMs = 0
  private buf = Buffer.allocUnsafe(256 * 1024)
  private readonly read: (file: string) => string
  /** Set when each socket is asked by ioctl (no tables read). */
  private readonly outq: ((fd: number) => number | undefined) | undefined
  /** Where the numbers come from: `ioctl` (one socket at a time, at once), `proc` (table snapshots), or `none`. */
  readonly source: 'ioctl' | 'proc' | 'none'

  constructor(private readonly o: TcpSendQueuesOptions = {}) {
    this.read = o.read ?? ((file) => this.readWhole(file))
    this.outq = o.read || o.ioctl === false ? undefined : loadSendQueueIoctl()
    let ok = this.outq !== undefined
    try {
      this.read(FILES[4])
      ok = true
    } catch {
      // not Linux, or /proc not mounted
    }
    this.available = ok
    this.source = this.outq ? 'ioctl' : ok ? 'proc' : 'none'
  }

  /** One open and as few read()s as the kernel allows, into a reused buffer. */
  private readWhole(file: string): string {
    const fd = openSync(file, 'r')
    try {
      let off = 0
      for (;;) {
        if (off === this.buf.length) {
          const bigger = Buffer.allocUnsafe(this.buf.length * 2)
          this.buf.copy(bigger)
          this.buf = bigger
        }
        const n = readSync(fd, this.buf, off, this.buf.length - off, null)
        if (n === 0) break
        off += n
      }
      return this.buf.toString('latin1', 0, off)
    } finally {
      closeSync(fd)
    }
  }

  /** The connection's row key (`local remote` as /proc prints them) and table, once per socket. */
  private keyOf(socket: Socket): Key | null {
    let key = this.keys.get(socket)
    if (key !== undefined) return key
    key = null
    const { localAddress, localPort, remoteAddress, remotePort } = socket
    if (localAddress && localPort && remoteAddress && remotePort) {
      const v6 = socket.remoteFamily === 'IPv6'
      const local = procAddress(localAddress, v6)
      const remote = procAddress(remoteAddress, v6)
      if (local && remote) key = { family: v6 ? 6 : 4, row: `${local}:${hexPort(localPort)} ${remote}:${hexPort(remotePort)}` }
    }
    this.keys.set(socket, key)
    return key
  }

  /** Bytes `socket` had sent and its peer had not acknowledged, as of the latest snapshot; undefined when unknown. */
  unacked(socket: Socket): number | undefined {
    if (!this.available) return undefined
    if (this.outq) {
      const fd = fdOf(socket)
      return fd === undefined ? undefined : this.outq(fd)
    }
    const key = this.keyOf(socket)
    return key ? this.snapshot[key.family].get(key.row) : undefined
  }

  /**
   * Calls `listener` after each snapshot that covers `socket`'s table until the returned
   * function is called. The first snapshot comes as soon as the pacing allows.
   */
  watch(socket: Socket, listener: () => void): () => void {
    const key = this.outq ? { family: 4 as const } : this.keyOf(socket)
    if (!this.available || !key) return () => {}
    this.watchers.set(listener, key.family)
    this.schedule()
    return () => {
      this.watchers.delete(listener)
      if (this.watchers.size === 0) {
        clearTimeout(this.timer)
        this.timer = undefined
      }
    }
  }

  private schedule(): void {
    if (this.timer || this.watchers.size === 0) return
    const interval = this.outq ? (this.o.minIntervalMs ?? 5) : Math.max(this.o.minIntervalMs ?? 10, this.lastCostMs * COST_SHARE)
    const wait = Math.max(0, this.lastRead + interval - performance.now())
    this.timer = setTimeout(() => this.poll(), wait)
  }

  private poll(): void {
    this.timer = undefined
    // With the ioctl there is nothing to read ahead: each listener asks for its own socket.
    if (this.outq) this.lastRead = performance.now()
    else this.readTables(new Set(this.watchers.values()))
    for (const listener of [...this.watchers.keys()]) listener()
    this.schedule()
  }

  /** Reads `socket`'s table now (a connection its peer is closing); the unacknowledged bytes, or undefined. */
  readNow(socket: Socket): number | undefined {
    if (this.outq) return this.unacked(socket)
    const key = this.available ? this.keyOf(socket) : null
    if (!key) return undefined
    this.readTables(new Set([key.family]))
    return this.snapshot[key.family].get(key.row)
  }

  /** Reads the tables and notes what it cost: the lesser of wall and CPU time (other threads count in CPU time). */
  private readTables(families: Set<4 | 6>): void {
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    for (const family of families) this.snapshot[family] = this.parse(family)
    const cpu = process.cpuUsage(cpu0)
    this.lastRead = performance.now()
    this.lastCostMs = Math.min(this.lastRead - t0, (cpu.user + cpu.system) / 1000)
  }

  private parse(family: 4 | 6): Map<string, number> {
    let text: string
    try {
      text = this.read(FILES[family])
    } catch {
      return new Map()
    }
    return parseTable(text, family)
  }
}

/**
 * "  sl  local_address rem_address   st tx_queue:rx_queue ..." → row key (`local remote`) →
 * tx_queue. The kernel prints fixed-width hex fields (`%08X:%04X`, 32 hex digits for IPv6),
 * so each line is cut at known offsets; a line that does not have that shape is split on
 * whitespace instead.
 */
export function parseTable(text: string, family: 4 | 6): Map<string, number> {
  const rows = new Map<string, number>()
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
