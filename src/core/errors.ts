/**
 * Typed errors in the style of viem: a short message, structured details, and a hint of
 * the fix. Every error that crosses a boundary (HTTP, CLI, MCP) is a `SinewError`, so
 * callers can branch on `code` and show `details` without parsing text.
 */

export type ErrorDetails = Record<string, unknown>

export type SinewErrorOptions = {
  /** Structured facts about the failure: which field, what was expected, what was got. */
  details?: ErrorDetails
  /** One sentence telling the caller what to do about it. */
  hint?: string
  cause?: unknown
}

export class SinewError extends Error {
  override name = 'SinewError'
  /** Stable machine-readable code, e.g. `nonce_too_low`. */
  readonly code: string
  /** HTTP status this error maps to when it reaches the API. */
  readonly status: number
  readonly shortMessage: string
  readonly details: ErrorDetails
  readonly hint?: string

  constructor(code: string, shortMessage: string, status: number, options: SinewErrorOptions = {}) {
    const lines = [shortMessage]
    if (options.details && Object.keys(options.details).length > 0) {
      lines.push('', 'Details: ' + safeJson(options.details))
    }
    if (options.hint) lines.push('Hint: ' + options.hint)
    super(lines.join('\n'), options.cause !== undefined ? { cause: options.cause } : undefined)
    this.code = code
    this.status = status
    this.shortMessage = shortMessage
    this.details = options.details ?? {}
    if (options.hint !== undefined) this.hint = options.hint
  }

  /** The wire form: `{ error: { code, message, details } }`. */
  toJSON(): { error: { code: string; message: string; details: ErrorDetails } } {
    const details = this.hint ? { ...this.details, hint: this.hint } : this.details
    return { error: { code: this.code, message: this.shortMessage, details } }
  }
}

/** The caller sent something malformed: a field is missing, extra, ill-typed or out of range. */
export class InvalidInputError extends SinewError {
  override name = 'InvalidInputError'
  constructor(shortMessage: string, options: SinewErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'invalid_input', shortMessage, 400, options)
  }
}

/** The input was well formed but the ledger state does not allow it (nonce, balance, rights). */
export class RejectedError extends SinewError {
  override name = 'RejectedError'
  constructor(code: string, shortMessage: string, options: SinewErrorOptions = {}) {
    super(code, shortMessage, 422, options)
  }
}

export class NotFoundError extends SinewError {
  override name = 'NotFoundError'
  constructor(what: string, id: string, options: SinewErrorOptions = {}) {
    super('not_found', `${what} not found: ${id}`, 404, {
      ...options,
      details: { [what.toLowerCase().replace(/\s+/g, '_')]: id, ...options.details },
    })
  }
}

/** The request is a duplicate of something already accepted (a replayed tx, say). */
export class ConflictError extends SinewError {
  override name = 'ConflictError'
  constructor(code: string, shortMessage: string, options: SinewErrorOptions = {}) {
    super(code, shortMessage, 409, options)
  }
}

/** Stored data does not match what a replay computes: tampering or corruption. */
export class IntegrityError extends SinewError {
  override name = 'IntegrityError'
  constructor(shortMessage: string, options: SinewErrorOptions = {}) {
    super('integrity', shortMessage, 500, options)
  }
}

/** The node cannot serve this now (a replica asked to write, a shutdown in progress). */
export class UnavailableError extends SinewError {
  override name = 'UnavailableError'
  constructor(code: string, shortMessage: string, options: SinewErrorOptions = {}) {
    super(code, shortMessage, 503, options)
  }
}

/**
 * The error an HTTP answer carries: the node's `{"error": {code, message, details}}` body as
 * a SinewError with the answer's status, or just the status when the body is not one (a
 * proxy's HTML page, say). Every client of the node's API reads error answers through here.
 */
export function errorFromResponse(status: number, body: string): SinewError {
  let err: { code?: string; message?: string; details?: ErrorDetails } = {}
  try {
    err = JSON.parse(body)?.error ?? {}
  } catch {
    // not a Sinew error body: the status says enough
  }
  return new SinewError(err.code ?? 'http_error', err.message ?? `HTTP ${status}`, status, { details: err.details ?? {} })
}

export function isSinewError(e: unknown): e is SinewError {
  return e instanceof SinewError
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
  } catch {
    return String(value)
  }
}
