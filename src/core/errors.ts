/**
 * Typed errors in the style of viem: a short message, structured details, and a hint of
 * the fix. Every error that crosses a boundary (HTTP, CLI, MCP) is a `SinewError`, so
 * callers can branch on `code` and show `details` without parsing text. Each code, and the
 * HTTP status it answers, is listed once in ./error-codes.ts.
 */
import { wireJson } from './wire-json.ts'
import { errorCatalogue, isErrorCode, type ErrorCode } from './error-codes.ts'

export type ErrorDetails = Record<string, unknown>

export type SinewErrorOptions = {
  /** Stable machine-readable code from the catalogue, e.g. `nonce_too_low`; it sets the HTTP status. */
  code: ErrorCode
  /** The short message: what went wrong, in one sentence. */
  message: string
  /** Structured facts about the failure: which field, what was expected, what was got. */
  details?: ErrorDetails
  /** One sentence telling the caller what to do about it (never inside `details`). */
  hint?: string
  cause?: unknown
}

/** The wire form of every error: `{ error: { code, message, details } }`, the hint as `details.hint`. */
export type ErrorBody<Code extends string = string> = { error: { code: Code; message: string; details: ErrorDetails } }

// Only RemoteError (below) can build this, so only it may carry a code and status from elsewhere.
const answered = Symbol('answered')
type Answer = { [answered]: true; code: string; status: number }

export class SinewError<Code extends string = ErrorCode> extends Error {
  override name = 'SinewError'
  readonly code: Code
  /** HTTP status this error maps to when it reaches the API (from the catalogue). */
  readonly status: number
  readonly shortMessage: string
  readonly details: ErrorDetails
  readonly hint?: string

  constructor(options: SinewErrorOptions, answer?: Answer) {
    if (!answer) assertCatalogued(options)
    const lines = [options.message]
    if (options.details && Object.keys(options.details).length > 0) {
      lines.push('', 'Details: ' + safeJson(options.details))
    }
    if (options.hint) lines.push('Hint: ' + options.hint)
    super(lines.join('\n'), options.cause !== undefined ? { cause: options.cause } : undefined)
    this.code = (answer?.code ?? options.code) as Code
    this.status = answer?.status ?? errorCatalogue[options.code].status
    this.shortMessage = options.message
    this.details = options.details ?? {}
    if (options.hint !== undefined) this.hint = options.hint
  }

  /** The wire form: `{ error: { code, message, details } }`, with the hint as `details.hint`. */
  toJSON(): ErrorBody<Code> {
    const details = this.hint ? { ...this.details, hint: this.hint } : this.details
    return { error: { code: this.code, message: this.shortMessage, details } }
  }
}

/**
 * An error another server answered (a Sinew node, or the OpenAI-compatible API): its code
 * is whatever that server sent, which may be one this node's catalogue lacks (an older or
 * newer node), and its status is the answer's. `http_error` when the answer had no error body.
 */
export class RemoteError extends SinewError<ErrorCode | (string & {})> {
  override name = 'RemoteError'
  constructor(o: { status: number; code: string; message: string; details?: ErrorDetails; hint?: string }) {
    // The code placeholder is never used: the answer's code and status replace it.
    super({ code: 'internal', message: o.message, details: o.details, hint: o.hint }, { [answered]: true, code: o.code, status: o.status })
  }
}

/**
 * The error an HTTP answer carries: the node's `{"error": {code, message, details}}` body as
 * a RemoteError with the answer's status (`details.hint` lifted back into `.hint`), or just
 * the status when the body is not one (a proxy's HTML page, say). Every client of the
 * node's API reads error answers through here.
 */
export function errorFromResponse(status: number, body: string): RemoteError {
  let err: { code?: unknown; message?: unknown; details?: unknown } = {}
  try {
    const parsed = JSON.parse(body)?.error
    if (parsed && typeof parsed === 'object') err = parsed
  } catch {
    // not a Sinew error body: the status says enough
  }
  const { hint, ...details } = err.details && typeof err.details === 'object' ? (err.details as ErrorDetails) : {}
  return new RemoteError({
    status,
    code: typeof err.code === 'string' ? err.code : 'http_error',
    message: typeof err.message === 'string' ? err.message : `HTTP ${status}`,
    details,
    hint: typeof hint === 'string' ? hint : undefined,
  })
}

/**
 * Any Sinew error. A RemoteError is one too (its code came from another server and may be
 * outside this catalogue): test `instanceof RemoteError` where that matters.
 */
export function isSinewError(e: unknown): e is SinewError {
  return e instanceof SinewError
}

/**
 * The runtime half of the catalogue's guarantee (the type system checks literals): a code
 * built at run time must be in the catalogue too, and the hint has one place.
 */
function assertCatalogued(options: SinewErrorOptions): void {
  if (!isErrorCode(options.code)) {
    throw new TypeError(`Error code ${JSON.stringify(options.code)} is not in the catalogue: add it to src/core/error-codes.ts`)
  }
  if (options.details && 'hint' in options.details) {
    throw new TypeError(`Error ${options.code}: pass the hint as the hint option, not inside details`)
  }
}

function safeJson(value: unknown): string {
  try {
    return wireJson(value)
  } catch {
    return String(value)
  }
}
