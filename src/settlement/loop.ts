/**
 * A background job that runs `tick` every `intervalMs` and survives failures: an error
 * (an RPC outage, a node that is not ready) is logged, kept for the status, and retried
 * after an exponential backoff (intervalMs, doubled per failure, at most maxBackoffMs);
 * the first success resets it. `stop()` waits for the tick in progress.
 */
import type { Logger } from '../core/index.ts'

export type LoopStatus = { running: boolean; failures: number; lastError: string | null; lastErrorAt: string | null; lastSuccessAt: string | null }

export class RetryLoop {
  private timer: NodeJS.Timeout | undefined
  private current: Promise<void> | undefined
  private stopped = true
  private failures = 0
  private lastError: string | null = null
  private lastErrorAt: string | null = null
  private lastSuccessAt: string | null = null

  constructor(
    private readonly name: string,
    private readonly tick: () => Promise<void>,
    private readonly o: { intervalMs: number; maxBackoffMs: number; log: Logger },
  ) {}

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.schedule(0)
  }

  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    await this.current
  }

  status(): LoopStatus {
    return { running: !this.stopped, failures: this.failures, lastError: this.lastError, lastErrorAt: this.lastErrorAt, lastSuccessAt: this.lastSuccessAt }
  }

  private schedule(ms: number): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.current = this.run().finally(() => {
        this.current = undefined
      })
    }, ms)
    this.timer.unref?.()
  }

  private async run(): Promise<void> {
    try {
      await this.tick()
      if (this.failures > 0) this.o.log.info({ job: this.name, after: this.failures }, `settlement ${this.name}: recovered`)
      this.failures = 0
      this.lastSuccessAt = new Date().toISOString()
      this.schedule(this.o.intervalMs)
    } catch (e) {
      this.failures++
      this.lastError = (e as Error)?.message?.split('\n')[0] ?? String(e)
      this.lastErrorAt = new Date().toISOString()
      const wait = Math.min(this.o.maxBackoffMs, this.o.intervalMs * 2 ** Math.min(this.failures, 20))
      this.o.log.warn({ job: this.name, failures: this.failures, retryInMs: wait, err: this.lastError }, `settlement ${this.name}: failed, retrying`)
      this.schedule(wait)
    }
  }
}
