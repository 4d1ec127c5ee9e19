/**
 * A2A 1.0 JSON-RPC errors and the reading of a SendMessage: which parts carry what. Every
 * check here runs before anything is stored or submitted, so a refused message changes nothing.
 *
 * Errors follow the A2A spec's JSON-RPC binding: the code says the kind (-32601 unknown
 * method, -32602 invalid params, -32001 task not found, …) and `data` holds
 * google.rpc details, as the official SDK writes them: an ErrorInfo (reason, domain,
 * metadata) and, for a bad field, a BadRequest whose fieldViolations name the field.
 */
import { isSinewError, sha256, type SinewError, type TxEnvelope } from '../../core/index.ts'
import { parseTxEnvelope } from '../../ledger/index.ts'

export const RPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  TASK_NOT_FOUND: -32001,
  TASK_NOT_CANCELABLE: -32002,
  PUSH_NOTIFICATION_NOT_SUPPORTED: -32003,
  UNSUPPORTED_OPERATION: -32004,
  EXTENDED_CARD_NOT_CONFIGURED: -32007,
  VERSION_NOT_SUPPORTED: -32009,
} as const

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo'
const BAD_REQUEST = 'type.googleapis.com/google.rpc.BadRequest'

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown[],
  ) {
    super(message)
    this.name = 'RpcError'
  }

  toJSON() {
    return { code: this.code, message: this.message, ...(this.data ? { data: this.data } : {}) }
  }
}

/** An A2A error (domain a2a-protocol.org); with `field`, a BadRequest naming it. */
export function a2aError(code: number, reason: string, message: string, field?: string): RpcError {
  const data: unknown[] = [{ '@type': ERROR_INFO, reason, domain: 'a2a-protocol.org', ...(field ? { metadata: { field } } : {}) }]
  if (field) data.push({ '@type': BAD_REQUEST, fieldViolations: [{ field, description: message }] })
  return new RpcError(code, message, data)
}

export const invalidParams = (field: string, message: string): RpcError => a2aError(RPC.INVALID_PARAMS, 'INVALID_PARAMS', `${field}: ${message}`, field)

const CANCEL_REFUSALS = new Set(['task_claimed', 'task_pending_verification', 'task_closed', 'not_poster'])

/**
 * A Sinew error (the node's API refused a read or a tx) as a JSON-RPC error: a missing task is
 * -32001; a CancelTask the board refuses, -32002; a malformed or refused tx, -32602 (its
 * params, the signed tx, cannot be executed); the node's own fault, -32603. `data` carries the
 * Sinew code (ErrorInfo domain "sinew") and the field it names.
 */
export function fromSinewError(e: SinewError, o: RefusalContext = {}): RpcError {
  const details = (e.details ?? {}) as Record<string, unknown>
  const named = typeof details.field === 'string' ? details.field : e.code === 'invalid_signature' ? 'signature' : undefined
  // A field of the tx the node refused, named where the caller put the tx (the tx itself when the refusal names none).
  const field = !o.txField || named?.startsWith('params.') ? named : named ? `${o.txField}.${named}` : o.txField
  const code =
    e.code === 'not_found' && 'task' in details
      ? RPC.TASK_NOT_FOUND
      : o.cancel && CANCEL_REFUSALS.has(e.code)
        ? RPC.TASK_NOT_CANCELABLE
        : e.status >= 500
          ? RPC.INTERNAL_ERROR
          : RPC.INVALID_PARAMS
  const metadata: Record<string, string> = { code: e.code, details: JSON.stringify(details) }
  if (field) metadata.field = field
  if (e.hint) metadata.hint = e.hint
  const data: unknown[] = [{ '@type': ERROR_INFO, reason: e.code.toUpperCase(), domain: 'sinew', metadata }]
  if (field) data.push({ '@type': BAD_REQUEST, fieldViolations: [{ field, description: e.shortMessage }] })
  return new RpcError(code, field && field !== details.field ? `${field}: ${e.shortMessage}` : e.shortMessage, data)
}

/** Where a refusal came from: a CancelTask (its refusals are -32002), a signed tx at `txField`. */
export type RefusalContext = { cancel?: boolean; txField?: string }

export function toRpcError(e: unknown, o: RefusalContext = {}): RpcError {
  if (e instanceof RpcError) return e
  if (isSinewError(e)) return fromSinewError(e, o)
  return new RpcError(RPC.INTERNAL_ERROR, (e as Error)?.message ?? String(e))
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The object at `field`, or invalid params naming it. */
export function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (!isObject(value)) throw invalidParams(field, `must be an object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`)
  return value
}

/** A task id: 0x and 64 hex digits (the hash of its PostTask tx). */
export function taskIdAt(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value))
    throw invalidParams(field, 'must be a Sinew task id: 0x and 64 hex digits (the hash of its PostTask tx)')
  return value.toLowerCase()
}

/** A signed tx where the caller put it: checked as POST /v1/tx checks an envelope, errors named at `field`. */
export function signedTxAt(value: unknown, field: string, kinds: readonly string[]): TxEnvelope {
  if (value === undefined) throw invalidParams(field, `missing: put the ${kinds.join(' or ')} tx you signed here ({type, message, signature})`)
  let env: TxEnvelope
  try {
    env = parseTxEnvelope(value, field)
  } catch (e) {
    throw toRpcError(e)
  }
  if (!kinds.includes(env.type)) throw invalidParams(`${field}.type`, `must be ${kinds.join(' or ')} here, got ${env.type}`)
  return env
}

/** What a SendMessage asks for. */
export type MessageRequest = {
  /** The task the message continues (a verdict, a cancel), or undefined for a new task. */
  taskId?: string
  signedTx: TxEnvelope
  /** The spec text of a new task (its text part), checked against the signed specHash. */
  specText?: string
  /** Where the signed tx sits, for errors that come later. */
  txField: string
}

/** Kinds a message on an existing task may carry: the poster's side of the task. */
export const FOLLOW_UP_KINDS = ['VerifyResult', 'CancelTask', 'ExpireTask'] as const

/**
 * Reads SendMessage params: `message` from the user, its parts each exactly one of text, raw,
 * url or data. A new task: one data part `{signedTx}` (a PostTask) and at most one text part
 * (the spec). On a task (`message.taskId`): one data part with a VerifyResult, CancelTask or
 * ExpireTask of that task.
 */
export function readSendMessage(params: unknown): MessageRequest {
  const p = objectAt(params, 'params')
  const message = objectAt(p.message, 'params.message')
  if (message.role !== 'ROLE_USER' && message.role !== 1)
    throw invalidParams('params.message.role', `must be ROLE_USER, got ${JSON.stringify(message.role ?? null)}`)
  if (typeof message.messageId !== 'string' || message.messageId === '') throw invalidParams('params.message.messageId', 'must be a non-empty string')
  const taskId = message.taskId === undefined || message.taskId === '' ? undefined : taskIdAt(message.taskId, 'params.message.taskId')
  if (!Array.isArray(message.parts) || message.parts.length === 0) throw invalidParams('params.message.parts', 'must be a non-empty array of parts')
  let signed: { value: unknown; field: string } | undefined
  let spec: { text: string; field: string } | undefined
  message.parts.forEach((raw, i) => {
    const at = `params.message.parts[${i}]`
    const part = objectAt(raw, at)
    const contents = ['text', 'raw', 'url', 'data'].filter((k) => part[k] !== undefined)
    if (contents.length !== 1) {
      throw invalidParams(
        at,
        contents.length === 0 ? 'has no content: give one of text, raw, url or data' : `has ${contents.join(' and ')}: a part holds exactly one of them`,
      )
    }
    const kind = contents[0]
    if (kind === 'raw' || kind === 'url') throw invalidParams(`${at}.${kind}`, `${kind} parts are not taken here: send the task spec as a text part`)
    if (kind === 'text') {
      if (typeof part.text !== 'string' || part.text === '') throw invalidParams(`${at}.text`, 'must be a non-empty string')
      if (taskId) throw invalidParams(`${at}.text`, 'a message on an existing task takes no text: send its signed tx in a data part')
      if (spec) throw invalidParams(`${at}.text`, `a second text part (the first is ${spec.field}): send the spec as one text part`)
      spec = { text: part.text, field: `${at}.text` }
      return
    }
    const data = objectAt(part.data, `${at}.data`)
    if (signed) throw invalidParams(`${at}.data`, `a second data part (the first is ${signed.field}): send one signed tx per message`)
    if (data.signedTx === undefined) {
      throw invalidParams(
        `${at}.data.signedTx`,
        'missing: a data part carries {"signedTx": {type, message, signature}}, a tx you signed (EIP-712 types at /v1/types)',
      )
    }
    signed = { value: data.signedTx, field: `${at}.data.signedTx` }
  })
  if (!signed) {
    throw invalidParams(
      'params.message.parts',
      `no data part: add {"data": {"signedTx": …}} with the ${taskId ? FOLLOW_UP_KINDS.join(', ') : 'PostTask'} tx you signed`,
    )
  }
  const signedTx = signedTxAt(signed.value, signed.field, taskId ? FOLLOW_UP_KINDS : ['PostTask'])
  if (taskId && String(signedTx.message.task).toLowerCase() !== taskId) {
    throw invalidParams(`${signed.field}.message.task`, `must be this message's taskId ${taskId}, got ${String(signedTx.message.task)}`)
  }
  if (spec) {
    const actual = sha256(spec.text)
    const signedHash = signedTx.message.specHash
    if (typeof signedHash !== 'string' || signedHash.toLowerCase() !== actual) {
      throw invalidParams(
        spec.field,
        `the spec hashes to ${actual}, not to the signed ${signed.field}.message.specHash ${String(signedHash)}: sign the sha256 of exactly these UTF-8 bytes`,
      )
    }
  }
  return { taskId, signedTx, specText: spec?.text, txField: signed.field }
}
