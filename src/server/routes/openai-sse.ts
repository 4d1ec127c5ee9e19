/**
 * The wire side of a streamed call: writes SSE frames to the client, honours backpressure,
 * and keeps count of which content frames reached the client, since that is what it pays for.
 *
 * A frame reached the client once the client's TCP acknowledged its last byte. Each frame's
 * end is a byte offset on the connection (`socket.bytesWritten` after the write); the kernel
 * has taken the bytes up to the end of the last frame whose write callback fired; of those,
 * all but the socket's unacknowledged send queue (TcpSendQueues, Linux) reached the peer.
 * Without /proc, "reached" falls back to "taken by the kernel".
 *
 * Backpressure: a write returns a promise (the gateway then pulls nothing more from the
 * backend) while the socket's buffer is over its high-water mark, or while more than
 * SSE_ACK_WINDOW_BYTES are sent but not known to be acknowledged. So a client that stops
 * reading stops generation within a window, and what it is charged for never runs more than
 * that window behind what it received. A client that takes nothing for `stallTimeoutMs` is
 * dropped (and charged for what reached it).
 */
import type { ServerResponse } from 'node:http'
import type { TcpSendQueues } from '../tcp-send-queue.ts'

/** How far (bytes) the node may write ahead of what it knows the client acknowledged. */
export const SSE_ACK_WINDOW_BYTES = 8 * 1024
/** How often the acknowledgements of a waiting stream are read again. */
const ACK_POLL_MS = 10

export type SseOptions = { queues: TcpSendQueues; stallTimeoutMs: number }

export class SseStream {
  /** Aborted once the client has gone (or was dropped for stalling). */
  readonly gone: AbortSignal
  private readonly goneCtl = new AbortController()
  /** Content frames: the connection offset where each ends, and its characters. */
  private readonly frames: { end: number; chars: number }[] = []
  private delivered = 0
  private deliveredChars = 0
  /** Offsets on the connection: written so far, taken by the kernel, acknowledged by the peer. */
  private written = 0
  private taken = 0
  private acked = 0
  /** When the client last acknowledged more (ms); the stall clock runs from here or from the start of a wait. */
  private lastProgress = 0
  private timer: NodeJS.Timeout | undefined
  private readonly byAcks: boolean

  constructor(
    private readonly res: ServerResponse,
    private readonly o: SseOptions,
  ) {
    this.gone = this.goneCtl.signal
    // Bytes of earlier answers on this keep-alive connection went out before this request was read.
    this.written = this.taken = this.acked = res.socket?.bytesWritten ?? 0
    this.byAcks = o.queues.available && res.socket !== null
    res.on('close', () => {
      clearTimeout(this.timer)
      if (!res.writableFinished) this.goneCtl.abort()
    })
  }

  /** A frame that carries no text (finish reason, usage, errors): not counted. */
  send(text: string): void {
    if (!this.gone.aborted) this.res.write(text)
  }

  /** Writes a content frame carrying `chars` characters of the answer; a promise means: wait before the next. */
  frame(text: string, chars: number): void | Promise<void> {
    if (this.gone.aborted) return
    const frame = { end: 0, chars }
    const ok = this.res.write(text, (err) => {
      if (err || frame.end <= this.taken) return
      this.taken = frame.end
      if (!this.byAcks) this.measure()
    })
    frame.end = this.res.socket?.bytesWritten ?? this.written + Buffer.byteLength(text)
    this.written = frame.end
    this.frames.push(frame)
    if (!ok || (this.byAcks && this.written - this.acked > SSE_ACK_WINDOW_BYTES)) {
      this.measure()
      if (!this.ready()) return this.until(() => this.ready())
    }
    this.followUp()
  }

  /** Resolves to the characters that reached the client, once every frame has (or the client is gone). */
  async settle(): Promise<number> {
    await this.until(() => this.delivered === this.frames.length)
    return this.deliveredChars
  }

  private ready(): boolean {
    return !this.res.writableNeedDrain && (!this.byAcks || this.written - this.acked <= SSE_ACK_WINDOW_BYTES)
  }

  /** Reads how far the client acknowledged, and moves the delivered count up to it. */
  private measure(): void {
    if (this.byAcks) {
      const socket = this.res.socket
      const unacked = socket ? this.o.queues.unacked(socket) : undefined
      // No row: the connection is gone; what it acknowledged before is all we know.
      if (unacked !== undefined) this.acked = Math.max(this.acked, this.taken - unacked)
    } else this.acked = this.taken
    const before = this.delivered
    while (this.delivered < this.frames.length && this.frames[this.delivered].end <= this.acked) this.deliveredChars += this.frames[this.delivered++].chars
    if (this.delivered > before) this.lastProgress = Date.now()
  }

  /** Keeps the count fresh while frames are out: a client that leaves between writes is charged for what it got. */
  private followUp(): void {
    if (this.timer || !this.byAcks) return
    const tick = () => {
      this.timer = undefined
      if (this.gone.aborted) return
      this.measure()
      if (this.delivered < this.frames.length) this.timer = setTimeout(tick, ACK_POLL_MS).unref()
    }
    this.timer = setTimeout(tick, ACK_POLL_MS).unref()
  }

  /** Waits until `ok()` holds, the client has gone, or it stalled too long (then it is dropped). */
  private until(ok: () => boolean): Promise<void> {
    const since = Date.now()
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = () => {
        clearTimeout(timer)
        this.gone.removeEventListener('abort', done)
        this.res.off('drain', check)
        resolve()
      }
      const check = () => {
        clearTimeout(timer)
        if (this.gone.aborted) return done()
        this.measure()
        if (ok()) return done()
        if (Date.now() - Math.max(since, this.lastProgress) > this.o.stallTimeoutMs) {
          this.res.destroy() // 'close' follows: gone
          return done()
        }
        timer = setTimeout(check, ACK_POLL_MS)
      }
      this.gone.addEventListener('abort', done)
      this.res.on('drain', check)
      check()
    })
  }
}
