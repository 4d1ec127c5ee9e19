/**
 * The wire side of a streamed call: writes SSE frames to the client, honours backpressure,
 * and keeps count of which content frames reached the client, since that is what it pays for.
 *
 * A frame reached the client once the client's TCP acknowledged its last byte. Each frame's
 * end is a byte offset on the connection (`socket.bytesWritten` after the write); the kernel
 * has taken the bytes up to the end of the last frame whose write callback fired; of those,
 * all but the socket's unacknowledged send queue reached the peer (TcpSendQueues, Linux;
 * read in snapshots shared by all streams). Without /proc, "reached" is "taken by the kernel".
 *
 * Backpressure: a write returns a promise (the gateway then pulls nothing more from the
 * backend) while the socket's buffer is over its high-water mark, or while more than
 * SSE_ACK_WINDOW_BYTES are written but not known to be acknowledged. So a client that stops
 * reading stops generation within a window, and what it is charged for never runs more than
 * that window behind what reached it, and never ahead. A client that acknowledges nothing
 * for `stallTimeoutMs` while the node waits on it is dropped (and charged for what reached it).
 */
import type { ServerResponse } from 'node:http'
import type { TcpSendQueues } from '../tcp-send-queue.ts'

/**
 * How far (bytes) the node may write ahead of what it knows the client acknowledged. Billing
 * does not depend on it (the charge is what was acknowledged); it bounds how far a client that
 * stops reading can make the node run ahead, and a stream's speed to one window per snapshot
 * interval (32 KiB per ~170 ms is ~190 KB/s, ~1000 frames/s, on the busy dev VM).
 */
export const SSE_ACK_WINDOW_BYTES = 32 * 1024

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
  private readonly byAcks: boolean
  private unwatch: (() => void) | undefined
  /** The pending wait's check, run whenever something it waits on may have changed. */
  private wake: (() => void) | undefined

  constructor(
    private readonly res: ServerResponse,
    private readonly o: SseOptions,
  ) {
    this.gone = this.goneCtl.signal
    // Bytes of earlier answers on this keep-alive connection went out before this request was read.
    this.written = this.taken = this.acked = res.socket?.bytesWritten ?? 0
    this.byAcks = o.queues.available && res.socket !== null
    // The client closes its side (FIN): until the node closes its own, the kernel still knows
    // what the client acknowledged, so read it now rather than lose what arrived since the
    // last snapshot. (A client that resets the connection, RST, leaves no such moment.)
    // Removed when this answer closes: a keep-alive connection carries many answers, and a
    // listener left behind by each would keep its stream alive as long as the connection.
    const socket = res.socket
    const onEnd = () => {
      if (this.delivered === this.frames.length) return
      const unacked = this.o.queues.readNow(socket!)
      if (unacked !== undefined) this.advance(this.taken - unacked)
    }
    if (this.byAcks) socket!.once('end', onEnd)
    res.on('close', () => {
      this.stopWatching()
      socket?.off('end', onEnd)
      if (!res.writableFinished) this.goneCtl.abort()
    })
    res.on('drain', () => this.wake?.())
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
      // Without /proc the kernel taking a frame is all we learn; with it, acks come with snapshots.
      if (!this.byAcks) this.advance(this.taken)
      this.wake?.()
    })
    frame.end = this.res.socket?.bytesWritten ?? this.written + Buffer.byteLength(text)
    this.written = frame.end
    this.frames.push(frame)
    if (this.byAcks && !this.unwatch && this.res.socket) {
      this.unwatch = this.o.queues.watch(this.res.socket, () => this.onSnapshot())
    }
    if (!ok || !this.ready()) return this.until(() => this.ready())
  }

  /** Resolves to the characters that reached the client, once every frame has (or the client is gone). */
  async settle(): Promise<number> {
    await this.until(() => this.delivered === this.frames.length)
    return this.deliveredChars
  }

  private ready(): boolean {
    return !this.res.writableNeedDrain && (!this.byAcks || this.written - this.acked <= SSE_ACK_WINDOW_BYTES)
  }

  /**
   * A new snapshot of the send queues: of what the kernel had taken when it was read, all but
   * the unacknowledged rest reached the client. (`taken` can only lag the kernel, which
   * under-counts, never over-counts.) No row: the connection is gone; what it acknowledged
   * before is all we know.
   */
  private onSnapshot(): void {
    const unacked = this.res.socket ? this.o.queues.unacked(this.res.socket) : undefined
    if (unacked !== undefined) this.advance(this.taken - unacked)
    if (this.delivered === this.frames.length) this.stopWatching()
    this.wake?.()
  }

  /** Moves the acknowledged offset (never back) and the delivered count up to it. */
  private advance(acked: number): void {
    if (acked <= this.acked) return
    this.acked = acked
    const before = this.delivered
    while (this.delivered < this.frames.length && this.frames[this.delivered].end <= acked) this.deliveredChars += this.frames[this.delivered++].chars
    if (this.delivered > before) this.lastProgress = Date.now()
  }

  private stopWatching(): void {
    this.unwatch?.()
    this.unwatch = undefined
  }

  /** Waits until `ok()` holds, the client has gone, or it stalled too long (then it is dropped). */
  private until(ok: () => boolean): Promise<void> {
    const since = Date.now()
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = () => {
        clearTimeout(timer)
        this.gone.removeEventListener('abort', done)
        if (this.wake === check) this.wake = undefined
        resolve()
      }
      const check = () => {
        clearTimeout(timer)
        if (this.gone.aborted || ok()) return done()
        const stalledFor = Date.now() - Math.max(since, this.lastProgress)
        if (stalledFor >= this.o.stallTimeoutMs) {
          this.res.destroy() // 'close' follows: gone
          return done()
        }
        timer = setTimeout(check, this.o.stallTimeoutMs - stalledFor)
      }
      this.wake = check
      this.gone.addEventListener('abort', done)
      check()
    })
  }
}
