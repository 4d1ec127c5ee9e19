/**
 * What a call holds while it runs, and the per-key controls that decide whether it may start:
 * requests and tokens per minute (a sliding window of one-second slots), calls in flight, the
 * key's lifetime spend limit, its budgets per UTC day/week/month, and the payer's balance.
 * Everything is reserved before the call and released (or settled) after it, in one
 * synchronous step on one thread, so limits hold exactly under concurrency.
 *
 * The gateway talks to it only through `CallLimits` (admit → settle/release), with the
 * ledger's figures and the node's time passed in: moved to the one process that writes (when
 * the node serves from several), it keeps the same state and the same answers; each serving
 * process would then call it over that process's channel (an async admit).
 */
import type { ApiKeyControls, ApiKeyRecord, BudgetWindow } from '../models/index.ts'
import { BUDGET_WINDOWS, periodEnd, periodStart } from '../models/index.ts'

/** Everything `admit` needs to know about a call: read from the ledger by the caller. */
export type AdmitRequest = {
  keyHash: string
  payer: string
  /** The node's time, ms. */
  at: number
  controls: ApiKeyControls | undefined
  /** The key's spend per budget period, as the ledger has it. */
  periods: ApiKeyRecord['periods']
  /** What the key's lifetime spend limit leaves (ledger), or undefined for no limit. */
  spendRemaining: bigint | undefined
  /** The payer's committed balance. */
  balance: bigint
  /** The most this call can cost. */
  maxFee: bigint
  /** Prompt tokens plus max_tokens: what the call may count against tokens per minute. */
  maxTokens: number
  /** Calls in flight this key may hold (the node's cap, or the key's own if lower). */
  maxConcurrent: number
}

/** The x-ratelimit-* headers of an answer (only the limits the key has). */
export type RateHeaders = Record<string, string>

export type Refusal =
  | { kind: 'requests' | 'tokens'; limit: number; retryAfterS: number; tooLarge?: boolean }
  | { kind: 'concurrent'; limit: number }
  | { kind: 'spend_limit'; remaining: bigint }
  | { kind: 'budget'; window: BudgetWindow; budget: bigint; spent: bigint; reserved: bigint; resetsAt: number }
  | { kind: 'balance'; free: bigint }

export type Admission =
  | {
      ok: true
      headers: RateHeaders
      /** Counts what the call really used against tokens per minute (prompt + output tokens). */
      settle(tokens: number): void
      /** Gives back the money and the slot it held; idempotent. */
      release(): void
    }
  | { ok: false; refusal: Refusal; headers: RateHeaders }

/** The per-key state a call consults: one interface, so it can live where the ledger is written. */
export interface CallLimits {
  admit(r: AdmitRequest): Admission
  /** Calls holding reservations now (status, tests). */
  readonly outstanding: number
}

const WINDOW_S = 60

/** Requests and tokens a key used in each second of the last minute. */
type Slot = { sec: number; requests: number; tokens: number }

/** A Go-style duration, as OpenAI's x-ratelimit-reset-* headers write it: `20ms`, `6s`, `1m0s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`
  const s = Math.ceil(ms / 1000)
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`
}

export class InMemoryCallLimits implements CallLimits {
  private readonly windows = new Map<string, Slot[]>()
  private readonly inFlight = new Map<string, number>()
  /** Reserved base units by payer, by key, and by key budget period (`key|window|start`). */
  private readonly reserved = new Map<string, bigint>()
  private holding = 0

  get outstanding(): number {
    return this.holding
  }

  admit(r: AdmitRequest): Admission {
    const c = r.controls
    const sec = Math.floor(r.at / 1000)
    const slots = this.slotsOf(r.keyHash, sec, c)
    const used = { requests: 0, tokens: 0 }
    for (const s of slots) {
      used.requests += s.requests
      used.tokens += s.tokens
    }
    const rpm = c?.requestsPerMinute
    const tpm = c?.tokensPerMinute
    const headers = (requests: number, tokens: number): RateHeaders => {
      const h: RateHeaders = {}
      if (rpm !== undefined) {
        h['x-ratelimit-limit-requests'] = String(rpm)
        h['x-ratelimit-remaining-requests'] = String(Math.max(0, rpm - requests))
        h['x-ratelimit-reset-requests'] = formatDuration(this.freeIn(slots, r.at, 'requests', requests - rpm + 1))
      }
      if (tpm !== undefined) {
        h['x-ratelimit-limit-tokens'] = String(tpm)
        h['x-ratelimit-remaining-tokens'] = String(Math.max(0, tpm - tokens))
        h['x-ratelimit-reset-tokens'] = formatDuration(this.freeIn(slots, r.at, 'tokens', tokens - tpm + 1))
      }
      return h
    }
    const refuse = (refusal: Refusal): Admission => ({ ok: false, refusal, headers: headers(used.requests, used.tokens) })
    if (rpm !== undefined && used.requests >= rpm)
      return refuse({ kind: 'requests', limit: rpm, retryAfterS: retryS(this.freeIn(slots, r.at, 'requests', used.requests - rpm + 1)) })
    if (tpm !== undefined && r.maxTokens > tpm) return refuse({ kind: 'tokens', limit: tpm, retryAfterS: 0, tooLarge: true })
    if (tpm !== undefined && used.tokens + r.maxTokens > tpm)
      return refuse({ kind: 'tokens', limit: tpm, retryAfterS: retryS(this.freeIn(slots, r.at, 'tokens', used.tokens + r.maxTokens - tpm)) })
    const flying = this.inFlight.get(r.keyHash) ?? 0
    if (flying >= r.maxConcurrent) return refuse({ kind: 'concurrent', limit: r.maxConcurrent })
    const keyReserved = this.get(r.keyHash)
    if (r.spendRemaining !== undefined && r.spendRemaining - keyReserved < r.maxFee)
      return refuse({ kind: 'spend_limit', remaining: r.spendRemaining - keyReserved })
    const periodKeys: string[] = []
    for (const w of BUDGET_WINDOWS) {
      const budget = c?.budgets[w]
      if (budget === undefined) continue
      const start = periodStart(w, BigInt(r.at))
      const p = r.periods?.[w]
      const spent = p && BigInt(p.start) === start ? BigInt(p.spent) : 0n
      const pk = `${r.keyHash}|${w}|${start}`
      const held = this.get(pk)
      if (spent + held + r.maxFee > BigInt(budget))
        return refuse({ kind: 'budget', window: w, budget: BigInt(budget), spent, reserved: held, resetsAt: Number(periodEnd(w, BigInt(r.at))) })
      periodKeys.push(pk)
    }
    const free = r.balance - this.get(r.payer)
    if (free < r.maxFee) return refuse({ kind: 'balance', free })

    // Admitted: count it in this second's slot, take the slot in flight, reserve the money.
    let slot = slots.at(-1)
    if (!slot || slot.sec !== sec) {
      slot = { sec, requests: 0, tokens: 0 }
      slots.push(slot)
    }
    slot.requests++
    slot.tokens += r.maxTokens
    const counted = slot
    this.inFlight.set(r.keyHash, flying + 1)
    const holds = [r.payer, r.keyHash, ...periodKeys]
    for (const k of holds) this.reserved.set(k, this.get(k) + r.maxFee)
    this.holding++
    let released = false
    let settled = false
    return {
      ok: true,
      headers: headers(used.requests + 1, used.tokens + r.maxTokens),
      settle: (tokens) => {
        if (settled) return
        settled = true
        // The slot may have left the window already; then nothing counts it any more.
        counted.tokens += tokens - r.maxTokens
      },
      release: () => {
        if (released) return
        released = true
        this.holding--
        const left = (this.inFlight.get(r.keyHash) ?? 1) - 1
        if (left === 0) this.inFlight.delete(r.keyHash)
        else this.inFlight.set(r.keyHash, left)
        for (const k of holds) {
          const v = this.get(k) - r.maxFee
          if (v === 0n) this.reserved.delete(k)
          else this.reserved.set(k, v)
        }
      },
    }
  }

  private get(k: string): bigint {
    return this.reserved.get(k) ?? 0n
  }

  /** The key's slots within the last minute (older ones dropped); a key without per-minute limits keeps none. */
  private slotsOf(keyHash: string, sec: number, c: ApiKeyControls | undefined): Slot[] {
    if (c?.requestsPerMinute === undefined && c?.tokensPerMinute === undefined) {
      this.windows.delete(keyHash)
      return []
    }
    let slots = this.windows.get(keyHash)
    if (!slots) {
      slots = []
      this.windows.set(keyHash, slots)
    }
    let drop = 0
    while (drop < slots.length && slots[drop].sec <= sec - WINDOW_S) drop++
    if (drop > 0) slots.splice(0, drop)
    return slots
  }

  /** Ms from `at` until `need` more requests (or tokens) have left the window; 0 when none need to. */
  private freeIn(slots: Slot[], at: number, what: 'requests' | 'tokens', need: number): number {
    if (need <= 0) return 0
    let freed = 0
    for (const s of slots) {
      freed += s[what]
      if (freed >= need) return (s.sec + WINDOW_S) * 1000 - at
    }
    return WINDOW_S * 1000
  }
}

const retryS = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))
