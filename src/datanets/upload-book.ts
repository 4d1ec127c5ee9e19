/**
 * The upload quotas' memory (docs/datanets.md#uploads), kept across restarts in an
 * append-only journal, `<dataDir>/blobs/uploads.jsonl`. Not ledger state: a node's own
 * record of what it agreed to store for whom.
 *
 * - A *charge* is one paid upload: it counts `bytes` (the blob's size, at least
 *   BLOB_MIN_CHARGE_BYTES) and one blob against its account's quota for `windowMs`.
 * - A *claim* is a blob an account had stored that no committed record refers to yet
 *   ("waiting"): its charged bytes count against the account's held balance and the
 *   node's cap on waiting bytes until the claim ends (the blob is referenced, the permit
 *   goes stale, the balance behind it leaves, or the blob is collected).
 *
 * Every figure is a running total: recording a charge or a claim, and reading an account's
 * use, cost O(1) (amortised: charges leave the window from the front of a queue). The
 * journal is only appended to; it is compacted (rewritten with what is still live) when it
 * holds more than twice that plus COMPACT_SLACK lines, so compaction is amortised O(1) too.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

/** What one blob counts in every quota at least: a file costs a disk block, an inode and a journal line whatever its size. */
export const BLOB_MIN_CHARGE_BYTES = 4096

/** The bytes a blob of `size` bytes counts in the quotas. */
export const chargeOf = (size: number): number => Math.max(size, BLOB_MIN_CHARGE_BYTES)

/** Lines the journal may hold beyond twice what is live before it is compacted. */
const COMPACT_SLACK = 4096

export type Claim = { account: string; sha256: string; bytes: number; nonce: bigint; at: number }

type Charge = { at: number; bytes: number }
type Window = { charges: Charge[]; head: number; bytes: number; blobs: number }
/**
 * Journal lines: `up` a paid upload (a charge and a claim), `end` a claim's end; compaction
 * writes what is live as `charge` (a charge alone) and `claim` (a claim alone).
 */
type Line =
  | { k: 'up' | 'claim'; at: number; a: string; s: string; b: number; n: string }
  | { k: 'charge'; at: number; a: string; b: number }
  | { k: 'end'; a: string; s: string }

export class UploadBook {
  private readonly windows = new Map<string, Window>()
  private readonly claims = new Map<string, Map<string, Claim>>()
  private readonly claimants = new Map<string, Set<string>>()
  private readonly waiting = new Map<string, number>()
  private waitingTotal = 0
  private lines = 0
  /** Charges in the windows plus open claims: what compaction keeps. */
  private live = 0
  /** The latest time seen: charges before it minus the window no longer count. */
  private now = 0

  constructor(
    private readonly file: string,
    readonly windowMs: number,
    now: number,
  ) {
    this.now = now
    if (existsSync(file)) {
      for (const text of readFileSync(file, 'utf8').split('\n')) {
        if (!text) continue
        try {
          this.apply(JSON.parse(text) as Line)
        } catch {
          // a line cut short by a crash: it counts for nothing
        }
      }
      this.compact()
    }
  }

  // ---- charges: the per-account quota over the rolling window ----

  /** An account's charges still in the window at `now`: bytes and blobs. */
  used(account: string, now: number): { bytes: number; blobs: number } {
    const w = this.window(account, now)
    return { bytes: w?.bytes ?? 0, blobs: w?.blobs ?? 0 }
  }

  /** When the oldest charge of `account` still in the window leaves it (null: none). */
  nextRelease(account: string, now: number): number | null {
    const w = this.window(account, now)
    return w ? w.charges[w.head].at + this.windowMs : null
  }

  // ---- claims: waiting blobs, backed by a held balance ----

  /** Bytes of an account's waiting blobs. */
  waitingBytes(account: string): number {
    return this.waiting.get(account) ?? 0
  }

  /** Bytes of every account's waiting blobs (a blob two accounts claim counts twice). */
  get waitingTotalBytes(): number {
    return this.waitingTotal
  }

  /** An account's claims, oldest first. */
  claimsOf(account: string): Claim[] {
    return [...(this.claims.get(account)?.values() ?? [])]
  }

  claim(account: string, sha256: string): Claim | undefined {
    return this.claims.get(account)?.get(sha256)
  }

  /** Accounts with a claim on the blob. */
  claimantsOf(sha256: string): string[] {
    return [...(this.claimants.get(sha256) ?? [])]
  }

  /** Whether the account has claims (only those accounts' balance and nonce matter after a block). */
  hasClaims(account: string): boolean {
    return this.claims.has(account)
  }

  /**
   * One paid upload: `bytes` (already the charge) against the account's window, and a claim
   * on the blob (renewed if the account held one: its bytes then count once).
   */
  record(e: { at: number; account: string; sha256: string; bytes: number; nonce: bigint }): void {
    this.write({ k: 'up', at: e.at, a: e.account, s: e.sha256, b: e.bytes, n: e.nonce.toString() })
  }

  /** Ends an account's claim on a blob. */
  end(account: string, sha256: string): void {
    if (this.claims.get(account)?.has(sha256)) this.write({ k: 'end', a: account, s: sha256 })
  }

  /** Ends every claim on a blob (it is referenced, or gone). */
  endAll(sha256: string): void {
    for (const account of this.claimantsOf(sha256)) this.end(account, sha256)
  }

  // ---- internals ----

  private write(line: Line): void {
    this.apply(line)
    appendFileSync(this.file, JSON.stringify(line) + '\n')
    if (this.lines > 2 * this.live + COMPACT_SLACK) this.compact()
  }

  private apply(line: Line): void {
    this.lines++
    if (line.k === 'end') return this.removeClaim(line.a, line.s)
    if (line.at > this.now) this.now = line.at
    if (line.k !== 'claim') {
      const w = this.windows.get(line.a) ?? { charges: [], head: 0, bytes: 0, blobs: 0 }
      this.windows.set(line.a, w)
      w.charges.push({ at: line.at, bytes: line.b })
      w.bytes += line.b
      w.blobs++
      this.live++
      // Charges that left the window stop counting: dropped from the front as charges come.
      this.window(line.a, this.now)
    }
    if (line.k !== 'charge') this.addClaim({ account: line.a, sha256: line.s, bytes: line.b, nonce: BigInt(line.n), at: line.at })
  }

  private addClaim(c: Claim): void {
    const mine = this.claims.get(c.account) ?? new Map<string, Claim>()
    this.claims.set(c.account, mine)
    const before = mine.get(c.sha256)
    if (before) {
      // Renewed: counted once, at the larger charge and the later permit; now the newest.
      this.shiftWaiting(c.account, -before.bytes)
      mine.delete(c.sha256)
    }
    if (!before) this.live++
    const claim = before ? { ...c, bytes: Math.max(c.bytes, before.bytes), nonce: c.nonce > before.nonce ? c.nonce : before.nonce } : c
    mine.set(c.sha256, claim)
    this.shiftWaiting(c.account, claim.bytes)
    const who = this.claimants.get(c.sha256) ?? new Set<string>()
    this.claimants.set(c.sha256, who)
    who.add(c.account)
  }

  private removeClaim(account: string, sha256: string): void {
    const mine = this.claims.get(account)
    const c = mine?.get(sha256)
    if (!mine || !c) return
    mine.delete(sha256)
    if (mine.size === 0) this.claims.delete(account)
    this.live--
    this.shiftWaiting(account, -c.bytes)
    const who = this.claimants.get(sha256)!
    who.delete(account)
    if (who.size === 0) this.claimants.delete(sha256)
  }

  private shiftWaiting(account: string, bytes: number): void {
    const n = (this.waiting.get(account) ?? 0) + bytes
    if (n > 0) this.waiting.set(account, n)
    else this.waiting.delete(account)
    this.waitingTotal += bytes
  }

  /** The account's window with the charges that left it dropped (amortised O(1)); undefined when empty. */
  private window(account: string, now: number): Window | undefined {
    const w = this.windows.get(account)
    if (!w) return undefined
    while (w.head < w.charges.length && w.charges[w.head].at <= now - this.windowMs) {
      w.bytes -= w.charges[w.head].bytes
      w.blobs--
      w.head++
      this.live--
    }
    if (w.head === w.charges.length) {
      this.windows.delete(account)
      return undefined
    }
    // Drop the consumed front now and then, so the array does not grow forever.
    if (w.head > 1024 && w.head * 2 > w.charges.length) {
      w.charges = w.charges.slice(w.head)
      w.head = 0
    }
    return w
  }

  /** Rewrites the journal with only what is live: the charges still in the window, then the open claims. */
  private compact(): void {
    const out: Line[] = []
    for (const account of [...this.windows.keys()]) {
      const w = this.window(account, this.now)
      if (!w) continue
      for (let i = w.head; i < w.charges.length; i++) out.push({ k: 'charge', at: w.charges[i].at, a: account, b: w.charges[i].bytes })
    }
    for (const mine of this.claims.values()) {
      for (const c of mine.values()) out.push({ k: 'claim', at: c.at, a: c.account, s: c.sha256, b: c.bytes, n: c.nonce.toString() })
    }
    const tmp = `${this.file}.tmp`
    writeFileSync(tmp, out.map((l) => JSON.stringify(l) + '\n').join(''))
    renameSync(tmp, this.file)
    this.lines = out.length
  }
}
