/**
 * Who may make this node store bytes, and how much (docs/datanets.md#uploads). `PUT
 * /v1/blobs` carries, in the header `x-sinew-upload-tx`, the signed tx that will refer to
 * the blob (a Contribute, PostTask or SubmitResult: each module names its blob-referencing
 * kinds in a `BlobReferences`). The node checks the signature as it would on submission,
 * and then:
 *
 * - the blob is the one the tx names (and, for a Contribute, of the size it declares);
 * - the tx is about to be submitted (its nonce is the account's next one, or one of the
 *   next UPLOAD_NONCE_WINDOW), from an account holding at least `minBalance`; or it is
 *   already on the ledger and the ledger still refers to the blob (repairing a missing
 *   blob: free, as the ledger paid for it);
 * - a blob the ledger already refers to costs nothing and is not read again; any other
 *   upload — new bytes, or bytes the node has but nothing refers to — is paid for: its
 *   charge (its size, at least BLOB_MIN_CHARGE_BYTES) counts against the account's quota
 *   per window (`quotaBytes`, `quotaBlobs`), and the blob waits, claimed by the account,
 *   until a committed record refers to it;
 * - waiting blobs are backed by a held balance: an account's waiting charges stay within
 *   `bytesPerSin` per SIN it holds, and all accounts' within `nodeQuotaBytes`. After each
 *   block the node ends the claims whose blob is now referenced, whose permit went stale
 *   (its nonce used by another tx), and, newest first, those the account's balance no
 *   longer backs; their blobs are collected at once (gc.ts). So a SIN backs one set of
 *   waiting blobs at a time: passed to another account, it takes them with it.
 *
 * The quotas' memory is the UploadBook (upload-book.ts), not ledger state.
 */
import type { Readable } from 'node:stream'
import { formatUnits, isSinewError, SinewError, type ErrorCode } from '../core/index.ts'
import { getDelegation, type CommittedBlock, type LedgerNode, type SignedTx } from '../ledger/index.ts'
import type { BlobRef, BlobRefIndex, BlobReferences, RefChanges } from './blob-refs.ts'
import { blobTooLarge, sizeMismatch, type BlobInfo, type BlobStore } from './blobs.ts'
import type { BlobCollector } from './gc.ts'
import { BLOB_MIN_CHARGE_BYTES, chargeOf, type UploadBook } from './upload-book.ts'

export const UPLOAD_PERMIT_HEADER = 'x-sinew-upload-tx'
/** A permit's tx may carry the account's next nonce or one of the next this many. */
export const UPLOAD_NONCE_WINDOW = 16n
const SIN = 10n ** 18n
const ACCOUNT_KEY = /^acct\/(0x[0-9a-f]{40})$/

export type UploadPolicy = {
  /** SIN base units an account must hold to upload for a tx not yet on the ledger. */
  minBalance: bigint
  /** Bytes of waiting blobs (charged) each SIN an account holds backs. */
  bytesPerSin: number
  /** Charged bytes one account may upload per window. */
  quotaBytes: number
  /** Blobs one account may upload per window. */
  quotaBlobs: number
  /** Charged bytes of waiting blobs all accounts together may have on this node. */
  nodeQuotaBytes: number
  quotaWindowMs: number
}

export type UploadUsage = {
  account: string
  balance: string
  /** Charged bytes and blobs uploaded in the window, and the limits. */
  usedBytes: number
  usedBlobs: number
  limitBytes: number
  limitBlobs: number
  windowMs: number
  nextReleaseAt: number | null
  /** Charged bytes of the account's waiting blobs, and what its balance backs. */
  waitingBytes: number
  waitingBlobs: number
  backedBytes: number
  minChargeBytes: number
}

/** The header value for a signed tx envelope: base64 of its JSON. */
export const uploadPermitHeader = (envelope: {
  type: string
  message: Record<string, unknown>
  signature: string
  delegator?: string
}): Record<string, string> => ({
  [UPLOAD_PERMIT_HEADER]: Buffer.from(
    JSON.stringify({
      type: envelope.type,
      message: envelope.message,
      signature: envelope.signature,
      // A session key's signature covers its delegator: without it the permit recovers to a stranger.
      ...(envelope.delegator ? { delegator: envelope.delegator } : {}),
    }),
  ).toString('base64'),
})

const HINT = `Sign the tx that will refer to the blob (Contribute, PostTask or SubmitResult) first and send it, base64 JSON, in the ${UPLOAD_PERMIT_HEADER} header; the sinew CLI and MCP tools do this for you.`

type PermitErrorCode = Extract<ErrorCode, 'upload_unauthorized' | 'invalid_upload_permit' | 'stale_upload_permit' | 'upload_balance_too_low'>

const permitError = (code: PermitErrorCode, message: string, details: Record<string, unknown> = {}, hint = HINT) =>
  new SinewError({ code, message, details: { field: `headers.${UPLOAD_PERMIT_HEADER}`, ...details }, hint })

export type UploadRequest = {
  /** The permit header's value. */
  permit: string | undefined
  /** `?sha256=`, if given (64 hex). */
  sha256?: string
  /** The request's content-length, if it said. */
  contentLength?: number
}

export type UploadResult = BlobInfo & { created: boolean; account: string; chargedBytes: number }

type Quota = 'account' | 'account_blobs' | 'balance' | 'node'

/** Checks upload permits and quotas, stores what passes, and ends claims as blocks commit. */
export class BlobUploads {
  /** Charged bytes and blobs of uploads streaming now, per account: held so concurrent uploads cannot overrun a quota together. */
  private readonly reserved = new Map<string, { bytes: number; blobs: number }>()
  private reservedTotal = 0

  constructor(
    private readonly o: {
      blobs: BlobStore
      node: LedgerNode
      kinds: BlobReferences['kinds']
      refs: BlobRefIndex
      book: UploadBook
      collector: BlobCollector
      policy: UploadPolicy
      now: () => number
    },
  ) {}

  get policy(): UploadPolicy {
    return this.o.policy
  }

  /** Charged bytes of waiting blobs a balance backs. */
  backedBytes(balance: bigint): number {
    const bytes = (balance * BigInt(this.o.policy.bytesPerSin)) / SIN
    return bytes > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(bytes)
  }

  /** An account's use of its quotas and of its balance's backing. */
  usage(account: string): UploadUsage {
    const now = this.o.now()
    const used = this.o.book.used(account, now)
    const balance = this.o.node.account(account as SignedTx['sender']).balance
    return {
      account,
      balance: balance.toString(),
      usedBytes: used.bytes,
      usedBlobs: used.blobs,
      limitBytes: this.o.policy.quotaBytes,
      limitBlobs: this.o.policy.quotaBlobs,
      windowMs: this.o.policy.quotaWindowMs,
      nextReleaseAt: this.o.book.nextRelease(account, now),
      waitingBytes: this.o.book.waitingBytes(account),
      waitingBlobs: this.o.book.claimsOf(account).length,
      backedBytes: this.backedBytes(balance),
      minChargeBytes: BLOB_MIN_CHARGE_BYTES,
    }
  }

  /** The blob a tx names, if its kind names one (sha256: 64 lowercase hex). */
  blobOf(tx: { type: string; message: Record<string, unknown> }): string | undefined {
    const refOf = this.o.kinds[tx.type]
    return refOf ? refOf(tx.message).hash.slice(2).toLowerCase() : undefined
  }

  /** Checks the permit, then stores the body within the quotas. Drains the body when it refuses it. */
  async put(source: Readable, req: UploadRequest): Promise<UploadResult> {
    try {
      return await this.putChecked(source, req)
    } catch (e) {
      source.resume?.()
      throw e
    }
  }

  /**
   * After each committed block: claims on blobs now referenced end (the ledger keeps them);
   * of the accounts the block touched, claims whose permit's nonce is used without the blob
   * being referenced end, and so do the newest claims the balance no longer backs. Those
   * blobs go to garbage collection at once.
   */
  afterBlock(block: CommittedBlock, changes: RefChanges): void {
    for (const sha of changes.referenced) if (this.o.refs.isReferenced(sha)) this.o.book.endAll(sha)
    const dropped: string[] = []
    for (const key of block.writes.keys()) {
      const address = ACCOUNT_KEY.exec(key)?.[1]
      if (!address || !this.o.book.hasClaims(address)) continue
      const account = this.o.node.account(address as SignedTx['sender'])
      for (const c of this.o.book.claimsOf(address)) {
        if (c.nonce < account.nonce && !this.o.refs.isReferenced(c.sha256)) {
          this.o.book.end(address, c.sha256)
          dropped.push(c.sha256)
        }
      }
      const backed = this.backedBytes(account.balance)
      const claims = this.o.book.claimsOf(address)
      for (let i = claims.length - 1; i >= 0 && this.o.book.waitingBytes(address) > backed; i--) {
        this.o.book.end(address, claims[i].sha256)
        dropped.push(claims[i].sha256)
      }
    }
    if (dropped.length > 0) this.o.collector.collectSoon(dropped)
  }

  private async putChecked(source: Readable, req: UploadRequest): Promise<UploadResult> {
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
    // A session key's permit uploads for its delegator: quota, backing and balance are the delegator's.
    const account = tx.delegator ?? tx.sender
    const committed = await this.checkPermitTx(tx, sha)
    const size = ref.size === undefined ? undefined : Number(ref.size)
    if (size !== undefined) {
      if (size > this.o.blobs.maxBytes) throw blobTooLarge(this.o.blobs.maxBytes)
      if (req.contentLength !== undefined && req.contentLength !== size) throw sizeMismatch(size, req.contentLength)
    }
    const existing = this.o.blobs.stat(sha)
    if (existing && size !== undefined && existing.size !== size) throw sizeMismatch(size, existing.size)
    if (committed || this.o.refs.isReferenced(sha)) {
      // The ledger keeps this blob: nothing to pay, nothing to read if it is here.
      if (existing) {
        source.resume()
        return { sha256: sha, size: existing.size, created: false, account, chargedBytes: 0 }
      }
      return { ...(await this.o.blobs.put(source, { expected: sha, size })), account, chargedBytes: 0 }
    }
    return this.paidPut(source, { tx, sha, size, contentLength: req.contentLength })
  }

  /** New bytes, or bytes nothing refers to: charged, claimed, and backed by the account's balance. */
  private async paidPut(source: Readable, o: { tx: SignedTx; sha: string; size?: number; contentLength?: number }): Promise<UploadResult> {
    const account = o.tx.delegator ?? o.tx.sender
    const now = this.o.now()
    const p = this.o.policy
    const mine = this.reserved.get(account) ?? { bytes: 0, blobs: 0 }
    const used = this.o.book.used(account, now)
    const renewal = this.o.book.claim(account, o.sha) !== undefined
    const room = {
      account: p.quotaBytes - used.bytes - mine.bytes,
      balance: renewal ? Number.MAX_SAFE_INTEGER : this.backedBytes(this.o.node.account(account).balance) - this.o.book.waitingBytes(account) - mine.bytes,
      node: renewal ? Number.MAX_SAFE_INTEGER : p.nodeQuotaBytes - this.o.book.waitingTotalBytes - this.reservedTotal,
    }
    const declared = o.size ?? o.contentLength
    const wanted = chargeOf(declared ?? 0)
    const quotaError = (which: Quota) => this.quotaError(which, account, now, wanted)
    if (used.blobs + mine.blobs + 1 > p.quotaBlobs) throw quotaError('account_blobs')
    for (const which of ['account', 'balance', 'node'] as const) if (wanted > room[which]) throw quotaError(which)
    const limit = Math.min(this.o.blobs.maxBytes, room.account, room.balance, room.node)
    // Held while it streams; a body of unknown length may take all the room there is.
    const hold = declared === undefined ? limit : Math.min(limit, wanted)
    this.reserved.set(account, { bytes: mine.bytes + hold, blobs: mine.blobs + 1 })
    this.reservedTotal += hold
    try {
      // What running past `hold` means: longer than the tx declares, or over a quota.
      const tooLarge = () =>
        o.size !== undefined && hold >= o.size
          ? sizeMismatch(o.size, `more than ${o.size}`)
          : hold === room.account
            ? quotaError('account')
            : hold === room.balance
              ? quotaError('balance')
              : hold === room.node
                ? quotaError('node')
                : blobTooLarge(hold)
      const info = await this.o.blobs.put(source, { expected: o.sha, size: o.size, maxBytes: hold, tooLarge })
      const chargedBytes = chargeOf(info.size)
      this.o.book.record({ at: now, account, sha256: o.sha, bytes: chargedBytes, nonce: o.tx.nonce })
      this.o.collector.consider(o.sha)
      return { ...info, account, chargedBytes }
    } finally {
      const left = this.reserved.get(account)!
      left.bytes -= hold
      left.blobs -= 1
      if (left.blobs === 0) this.reserved.delete(account)
      this.reservedTotal -= hold
    }
  }

  /** Decodes and checks the permit: a validly signed tx, of a kind that names a blob. */
  private permit(header: string | undefined): { tx: SignedTx; ref: BlobRef } {
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

  /**
   * A tx on the ledger whose blob the ledger still refers to (true), or one about to be
   * submitted: nonce next or soon, from a funded sender (false). Anything else is refused.
   */
  private async checkPermitTx(tx: SignedTx, sha: string): Promise<boolean> {
    const account = this.o.node.account(tx.sender)
    const details = { nonce: tx.nonce.toString(), accountNonce: account.nonce.toString(), sender: tx.sender }
    if (tx.nonce < account.nonce) {
      if (!(await this.o.node.store.getTx(tx.hash))) {
        throw permitError('stale_upload_permit', `The permit's nonce ${tx.nonce} is used: ${tx.sender} is at nonce ${account.nonce}`, details)
      }
      if (!this.o.refs.isReferenced(sha)) {
        throw permitError('stale_upload_permit', `The permit's ${tx.type} is on the ledger, but no ledger record refers to blob ${sha} any more`, {
          ...details,
          blob: sha,
        })
      }
      return true
    }
    if (tx.nonce >= account.nonce + UPLOAD_NONCE_WINDOW) {
      throw permitError(
        'invalid_upload_permit',
        `The permit's nonce ${tx.nonce} is over ${UPLOAD_NONCE_WINDOW} ahead of ${tx.sender}'s next (${account.nonce})`,
        details,
      )
    }
    if (tx.delegator) {
      // A session key may upload only for a tx its grant lets it sign: checked now, as the tx will be.
      const grant = getDelegation(this.o.node.chain.state, tx.delegator, tx.sender)
      if (!grant || grant.revokedAt !== null || !grant.kinds.includes(tx.type)) {
        throw permitError('invalid_upload_permit', `${tx.sender} holds no grant from ${tx.delegator} to sign ${tx.type}`, {
          sender: tx.sender,
          delegator: tx.delegator,
          type: tx.type,
        })
      }
    }
    const payer = tx.delegator ?? tx.sender
    const payerBalance = tx.delegator ? this.o.node.account(payer).balance : account.balance
    if (payerBalance < this.o.policy.minBalance) {
      throw permitError(
        'upload_balance_too_low',
        `${payer} holds ${formatUnits(payerBalance)} SIN; uploading takes at least ${formatUnits(this.o.policy.minBalance)} SIN`,
        { sender: payer, balance: payerBalance.toString(), minBalance: this.o.policy.minBalance.toString(), setting: 'blobMinBalance' },
        'Fund the account (nothing is spent: the balance only has to be there), or have a funded account upload the bytes.',
      )
    }
    return false
  }

  private quotaError(which: Quota, account: string, now: number, wanted: number): SinewError {
    const p = this.o.policy
    const hours = `${Math.round(p.quotaWindowMs / 360_000) / 10} h`
    const used = this.o.book.used(account, now)
    const nextRelease = this.o.book.nextRelease(account, now)
    const windowed = { windowMs: p.quotaWindowMs, retryAfterMs: nextRelease === null ? null : Math.max(0, nextRelease - now) }
    const balance = this.o.node.account(account as SignedTx['sender']).balance
    const byQuota: Record<Quota, { setting: string; message: string; details: Record<string, unknown>; hint: string }> = {
      account: {
        setting: 'blobQuotaBytes',
        message: `${account} has uploaded ${used.bytes} bytes in the last ${hours}; its upload quota is ${p.quotaBytes} bytes per ${hours}`,
        details: { account, usedBytes: used.bytes, limitBytes: p.quotaBytes, ...windowed },
        hint: `Room frees up as older uploads leave the window (retryAfterMs). Every blob counts at least ${BLOB_MIN_CHARGE_BYTES} bytes; one the ledger already refers to costs nothing.`,
      },
      account_blobs: {
        setting: 'blobQuotaBlobs',
        message: `${account} has uploaded ${used.blobs} blobs in the last ${hours}; its upload quota is ${p.quotaBlobs} blobs per ${hours}`,
        details: { account, usedBlobs: used.blobs, limitBlobs: p.quotaBlobs, ...windowed },
        hint: 'Room frees up as older uploads leave the window (retryAfterMs); or put small files together into one.',
      },
      balance: {
        setting: 'blobBytesPerSin',
        message: `${account}'s blobs waiting for a tx would take ${this.o.book.waitingBytes(account) + wanted} bytes; its balance of ${formatUnits(balance)} SIN backs ${this.backedBytes(balance)} (${p.bytesPerSin} bytes per SIN held)`,
        details: {
          account,
          waitingBytes: this.o.book.waitingBytes(account),
          backedBytes: this.backedBytes(balance),
          bytesPerSin: p.bytesPerSin,
          retryAfterMs: null,
        },
        hint: 'Submit the txs that refer to the blobs already uploaded (then they no longer wait), or hold more SIN.',
      },
      node: {
        setting: 'blobNodeQuotaBytes',
        message: `Blobs waiting for a tx take ${this.o.book.waitingTotalBytes} bytes on this node; it keeps at most ${p.nodeQuotaBytes} bytes of them for all accounts together`,
        details: { usedBytes: this.o.book.waitingTotalBytes, limitBytes: p.nodeQuotaBytes, retryAfterMs: null },
        hint: 'Room frees up as waiting blobs are referenced by committed txs or collected. The operator sets the limit.',
      },
    }
    const q = byQuota[which]
    return new SinewError({
      code: 'blob_quota_exceeded',
      message: q.message,
      details: { quota: which, setting: q.setting, ...q.details, wantedBytes: wanted },
      hint: q.hint,
    })
  }
}
