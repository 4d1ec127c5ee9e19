/**
 * Who may make this node store bytes (docs/datanets.md#uploads): `PUT /v1/blobs` carries,
 * in the header `x-sinew-upload-tx`, the signed tx that will refer to the blob (a
 * Contribute, PostTask or SubmitResult: each module names its blob-referencing kinds in a
 * `BlobReferences`). The node checks the signature as it would on submission and then:
 *
 * - the blob is the one the tx names (and, for a Contribute, of the size it declares);
 * - the tx is about to be submitted (its nonce is the account's next one, or one of the
 *   next UPLOAD_NONCE_WINDOW) or is already on the ledger (re-uploading a blob a committed
 *   tx names: repairs a missing blob);
 * - a permit for a tx not yet committed comes from an account holding at least
 *   `minBalance`;
 * - new bytes stay within the account's quota (`quotaBytes` of new blobs per rolling
 *   `quotaWindowMs`) and the node's (`nodeQuotaBytes` per window, all accounts together).
 *   Re-uploading a blob the node has costs nothing.
 *
 * Forging a permit means forging a signature; a stale one (its nonce used by another tx)
 * is refused; a stranger with no funds gets nothing stored. Blobs that no ledger record
 * refers to are removed after a grace period (gc.ts). The quota log is not ledger state:
 * `<dataDir>/blobs/uploads.jsonl`, one line per new blob, pruned to the window.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import type { Readable } from 'node:stream'
import { formatUnits, isSinewError, SinewError, type ErrorCode, type Hex } from '../core/index.ts'
import type { LedgerNode, SignedTx, StateReader } from '../ledger/index.ts'
import { blobTooLarge, sizeMismatch, type BlobInfo, type BlobStore } from './blobs.ts'

export const UPLOAD_PERMIT_HEADER = 'x-sinew-upload-tx'
/** A permit's tx may carry the account's next nonce or one of the next this many. */
export const UPLOAD_NONCE_WINDOW = 16n

/** A blob a tx names: its sha256 (0x + 64 hex) and, where the tx declares it, its size. */
export type BlobRef = { hash: Hex; size?: bigint }

export type ScannableState = StateReader & { entries(): Iterable<[string, Uint8Array]> }

/** What a module contributes to the blob rules: the kinds that name blobs, and the blobs its state still needs. */
export type BlobReferences = {
  /** For each tx kind that refers to a blob: the blob a (decoded) message names. */
  kinds: Record<string, (message: Record<string, unknown>) => BlobRef>
  /** The sha256s (64 hex, no 0x) of every blob committed state refers to: garbage collection keeps them. */
  live(state: ScannableState): Iterable<string>
}

export type UploadPolicy = {
  /** SIN base units an account must hold to upload for a tx not yet on the ledger. */
  minBalance: bigint
  /** New bytes one account may have stored per window. */
  quotaBytes: number
  /** New bytes all accounts together may have stored per window. */
  nodeQuotaBytes: number
  quotaWindowMs: number
}

/** The header value for a signed tx envelope: base64 of its JSON. */
export const uploadPermitHeader = (envelope: { type: string; message: Record<string, unknown>; signature: string }): Record<string, string> => ({
  [UPLOAD_PERMIT_HEADER]: Buffer.from(JSON.stringify({ type: envelope.type, message: envelope.message, signature: envelope.signature })).toString('base64'),
})

const HINT = `Sign the tx that will refer to the blob (Contribute, PostTask or SubmitResult) first and send it, base64 JSON, in the ${UPLOAD_PERMIT_HEADER} header; the sinew CLI and MCP tools do this for you.`

type PermitErrorCode = Extract<ErrorCode, 'upload_unauthorized' | 'invalid_upload_permit' | 'stale_upload_permit' | 'upload_balance_too_low'>

const permitError = (code: PermitErrorCode, message: string, details: Record<string, unknown> = {}, hint = HINT) =>
  new SinewError({ code, message, details: { field: `headers.${UPLOAD_PERMIT_HEADER}`, ...details }, hint })

type Entry = { at: number; account: string; sha256: string; size: number }

/** New blobs stored by uploads, per account, over the rolling window: the quotas' memory, kept across restarts. */
export class UploadLog {
  private entries: Entry[] = []

  constructor(
    private readonly file: string,
    private readonly windowMs: number,
  ) {
    if (existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue
        try {
          this.entries.push(JSON.parse(line))
        } catch {
          // a line cut short by a crash: its upload counts for nothing
        }
      }
    }
  }

  usage(account: string, now: number): number {
    let sum = 0
    for (const e of this.entries) if (e.account === account && e.at > now - this.windowMs) sum += e.size
    return sum
  }

  total(now: number): number {
    let sum = 0
    for (const e of this.entries) if (e.at > now - this.windowMs) sum += e.size
    return sum
  }

  /** When the oldest upload of `account` (or of anyone) still in the window leaves it. */
  nextRelease(now: number, account?: string): number | null {
    // A loop, not Math.min(...entries): a window can hold more uploads than a call has arguments.
    let oldest: number | null = null
    for (const e of this.entries) {
      if (e.at > now - this.windowMs && (account === undefined || e.account === account) && (oldest === null || e.at < oldest)) oldest = e.at
    }
    return oldest === null ? null : oldest + this.windowMs
  }

  record(entry: Entry): void {
    // Forget what left the window now and then, also where garbage collection is off.
    if (this.entries.length > 0 && this.entries[0].at <= entry.at - this.windowMs) this.prune(entry.at)
    this.entries.push(entry)
    appendFileSync(this.file, JSON.stringify(entry) + '\n')
  }

  /** Forgets what left the window (rewrites the file). */
  prune(now: number): void {
    const kept = this.entries.filter((e) => e.at > now - this.windowMs)
    if (kept.length === this.entries.length) return
    this.entries = kept
    const tmp = `${this.file}.tmp`
    writeFileSync(tmp, kept.map((e) => JSON.stringify(e) + '\n').join(''))
    renameSync(tmp, this.file)
  }
}

export type UploadRequest = {
  /** The permit header's value. */
  permit: string | undefined
  /** `?sha256=`, if given (64 hex). */
  sha256?: string
  /** The request's content-length, if it said. */
  contentLength?: number
}

/** Checks upload permits and quotas, and stores what passes. */
export class BlobUploads {
  private readonly reserved = new Map<string, number>()
  private reservedTotal = 0

  constructor(
    private readonly o: {
      blobs: BlobStore
      node: LedgerNode
      kinds: BlobReferences['kinds']
      policy: UploadPolicy
      log: UploadLog
      now: () => number
    },
  ) {}

  get policy(): UploadPolicy {
    return this.o.policy
  }

  /** An account's quota: used (new bytes in the window), limit, and when room frees up. */
  usage(account: string): { account: string; usedBytes: number; limitBytes: number; windowMs: number; nextReleaseAt: number | null } {
    const now = this.o.now()
    return {
      account,
      usedBytes: this.o.log.usage(account, now),
      limitBytes: this.o.policy.quotaBytes,
      windowMs: this.o.policy.quotaWindowMs,
      nextReleaseAt: this.o.log.nextRelease(now, account),
    }
  }

  /** Checks the permit, then stores the body within the quotas. Drains the body when it refuses it. */
  async put(source: Readable, req: UploadRequest): Promise<BlobInfo & { created: boolean; account: string }> {
    try {
      return await this.putChecked(source, req)
    } catch (e) {
      source.resume?.()
      throw e
    }
  }

  private async putChecked(source: Readable, req: UploadRequest): Promise<BlobInfo & { created: boolean; account: string }> {
    const { tx, ref } = this.permit(req.permit)
    const sha = ref.hash.slice(2).toLowerCase()
    if (req.sha256 !== undefined && req.sha256 !== sha) {
      throw new SinewError({
        code: 'permit_mismatch',
        message: `The permit's ${tx.type} names blob ${sha}, the query ${req.sha256}`,
        details: { field: 'querystring.sha256', permit: sha, query: req.sha256 },
        hint: 'Upload the bytes the signed tx names.',
      })
    }
    const account = tx.sender
    await this.checkFresh(tx)
    const size = ref.size === undefined ? undefined : Number(ref.size)
    if (size !== undefined) {
      if (size > this.o.blobs.maxBytes) throw blobTooLarge(this.o.blobs.maxBytes)
      if (req.contentLength !== undefined && req.contentLength !== size) throw sizeMismatch(size, req.contentLength)
    }
    const existing = this.o.blobs.stat(sha)
    if (existing) {
      if (size !== undefined && existing.size !== size) throw sizeMismatch(size, existing.size)
      // Nothing new to store; its grace period starts again, since a tx is about to refer to it.
      this.o.blobs.touch(sha)
      source.resume()
      return { ...existing, created: false, account }
    }
    const now = this.o.now()
    const p = this.o.policy
    const accountRoom = p.quotaBytes - this.o.log.usage(account, now) - (this.reserved.get(account) ?? 0)
    const nodeRoom = p.nodeQuotaBytes - this.o.log.total(now) - this.reservedTotal
    const wanted = size ?? req.contentLength ?? 1
    const quotaError = (which: 'account' | 'node') => this.quotaError(which, account, now, size ?? req.contentLength)
    if (wanted > accountRoom) throw quotaError('account')
    if (wanted > nodeRoom) throw quotaError('node')
    const limit = Math.min(this.o.blobs.maxBytes, accountRoom, nodeRoom)
    // Held for this upload while it streams, so concurrent uploads cannot overrun a quota together.
    const hold = Math.min(limit, size ?? req.contentLength ?? limit)
    this.reserved.set(account, (this.reserved.get(account) ?? 0) + hold)
    this.reservedTotal += hold
    try {
      // What running past `hold` means: longer than the tx declares, or over a quota.
      const tooLarge = () =>
        size !== undefined && hold === size
          ? sizeMismatch(size, `more than ${size}`)
          : hold === accountRoom
            ? quotaError('account')
            : hold === nodeRoom
              ? quotaError('node')
              : blobTooLarge(hold)
      const info = await this.o.blobs.put(source, { expected: sha, size, maxBytes: hold, tooLarge })
      if (info.created) this.o.log.record({ at: now, account, sha256: sha, size: info.size })
      return { ...info, account }
    } finally {
      const left = (this.reserved.get(account) ?? 0) - hold
      if (left > 0) this.reserved.set(account, left)
      else this.reserved.delete(account)
      this.reservedTotal -= hold
    }
  }

  /** Decodes and checks the permit: a validly signed tx, of a kind that names a blob. */
  private permit(header: string | undefined): { tx: SignedTx; ref: { hash: Hex; size?: bigint } } {
    if (!header) {
      throw permitError('upload_unauthorized', `PUT /v1/blobs needs a signed tx that refers to the blob, in the ${UPLOAD_PERMIT_HEADER} header`)
    }
    let raw: unknown
    try {
      raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8'))
    } catch {
      throw permitError('invalid_upload_permit', `The ${UPLOAD_PERMIT_HEADER} header is not base64 of a JSON tx envelope`)
    }
    // A malformed tx is refused as POST /v1/tx would refuse it (which field, why); a signature
    // that does not recover (or not to its `from`) is a forged permit.
    const codec = this.o.node.chain.codec
    const decoded = codec.decode(raw, 'permit')
    let tx: SignedTx
    try {
      tx = codec.recover(decoded)
    } catch (e) {
      if (!isSinewError(e)) throw e
      throw permitError('invalid_upload_permit', `The upload permit's signature does not hold: ${e.shortMessage}`, { reason: e.code, ...e.details })
    }
    const refOf = this.o.kinds[tx.type]
    if (!refOf) {
      throw permitError('invalid_upload_permit', `A ${tx.type} tx names no blob: it cannot authorise an upload`, {
        type: tx.type,
        kinds: Object.keys(this.o.kinds).sort(),
      })
    }
    return { tx, ref: refOf(tx.message) }
  }

  /** A tx about to be submitted (nonce next or soon, funded sender), or one on the ledger. */
  private async checkFresh(tx: SignedTx): Promise<void> {
    const account = this.o.node.account(tx.sender)
    if (tx.nonce < account.nonce) {
      if (await this.o.node.store.getTx(tx.hash)) return
      throw permitError('stale_upload_permit', `The permit's nonce ${tx.nonce} is used: ${tx.sender} is at nonce ${account.nonce}`, {
        nonce: tx.nonce.toString(),
        accountNonce: account.nonce.toString(),
        sender: tx.sender,
      })
    }
    if (tx.nonce >= account.nonce + UPLOAD_NONCE_WINDOW) {
      throw permitError(
        'invalid_upload_permit',
        `The permit's nonce ${tx.nonce} is over ${UPLOAD_NONCE_WINDOW} ahead of ${tx.sender}'s next (${account.nonce})`,
        {
          nonce: tx.nonce.toString(),
          accountNonce: account.nonce.toString(),
          sender: tx.sender,
        },
      )
    }
    if (account.balance < this.o.policy.minBalance) {
      throw permitError(
        'upload_balance_too_low',
        `${tx.sender} holds ${formatUnits(account.balance)} SIN; uploading takes at least ${formatUnits(this.o.policy.minBalance)} SIN`,
        { sender: tx.sender, balance: account.balance.toString(), minBalance: this.o.policy.minBalance.toString(), setting: 'blobMinBalance' },
        'Fund the account (nothing is spent: the balance only has to be there), or have a funded account upload the bytes.',
      )
    }
  }

  private quotaError(which: 'account' | 'node', account: string, now: number, wanted: number | undefined): SinewError {
    const p = this.o.policy
    const hours = `${Math.round(p.quotaWindowMs / 360_000) / 10} h`
    const used = which === 'account' ? this.o.log.usage(account, now) : this.o.log.total(now)
    const limit = which === 'account' ? p.quotaBytes : p.nodeQuotaBytes
    const nextRelease = this.o.log.nextRelease(now, which === 'account' ? account : undefined)
    return new SinewError({
      code: 'blob_quota_exceeded',
      message:
        which === 'account'
          ? `${account} has stored ${used} bytes of new blobs in the last ${hours}; its upload quota is ${limit} bytes per ${hours}`
          : `This node has stored ${used} bytes of new blobs in the last ${hours}; its upload quota for all accounts is ${limit} bytes per ${hours}`,
      details: {
        quota: which,
        setting: which === 'account' ? 'blobQuotaBytes' : 'blobNodeQuotaBytes',
        ...(which === 'account' ? { account } : {}),
        usedBytes: used,
        limitBytes: limit,
        windowMs: p.quotaWindowMs,
        ...(wanted !== undefined ? { wantedBytes: wanted } : {}),
        retryAfterMs: nextRelease === null ? null : Math.max(0, nextRelease - now),
      },
      hint: 'Room frees up as older uploads leave the window (retryAfterMs); re-uploading a blob the node has costs nothing. The operator sets the quota.',
    })
  }
}
