/**
 * The models module's tx kinds: RegisterModel, UpdateModel, GrantApiKey, RevokeApiKey
 * (signed by accounts) and RecordReceipt (signed by the node's sequencer key after each
 * paid call: it charges the caller and pays treasury, contributors and model owner).
 * Spec: docs/gateway.md.
 */
import { refuseUnsafeText, SinewError } from '../core/index.ts'
import { credit, debit, defineTxKind, requireSequencer, type Address, type MessageOf, type StateReader, type TxKind } from '../ledger/index.ts'
import { BUDGET_WINDOWS, isBudgetWindow, periodStart } from './budgets.ts'
import { callFee, creditsByAuthor, splitFee } from './fees.ts'
import {
  apiKeyKey,
  apiKeyProblemAt,
  MODEL_INDEX_KEY,
  modelKey,
  modelVersionKey,
  readModelNames,
  readApiKey,
  readModel,
  readModelVersion,
  readReceiptPointer,
  receiptKey,
  type ApiKeyControls,
  type ApiKeyRecord,
  type ModelRecord,
  type ModelTerms,
} from './state.ts'

/**
 * Where contributions and Datanet versions come from (the Datanets module's state). Read
 * only from ledger state, so every node and `sinew verify` get the same answer.
 */
export type ContributionResolver = {
  /** The author of a contribution id, or undefined if the state does not know it. */
  authorOf(state: StateReader, contribution: string): Address | undefined
  /** Whether `ref` names a published Datanet version (checked by RegisterModel/UpdateModel). */
  versionExists(state: StateReader, ref: string): boolean
  /** When true, a receipt naming a contribution the state does not know is refused. */
  readonly strict: boolean
}

/**
 * Until a Datanets module provides contributions on the ledger: any Datanet reference is
 * accepted and a receipt's authors are taken as signed by the node.
 */
export const nodeAttestedResolver: ContributionResolver = {
  authorOf: () => undefined,
  versionExists: () => true,
  strict: false,
}

export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
export const BUILTIN_INFINIGRAM = 'builtin:infinigram'
export const OPENAI_COMPATIBLE = 'openai-compatible:'
export const MAX_DATANETS = 16
export const MAX_RECEIPT_SPANS = 2048
export const MAX_RECEIPT_WEIGHTS = 1024
/**
 * How long after its call was authorised a receipt may still land (ms of block time): 6 h. A
 * revoked key can be charged only for calls authorised before the revocation, and only this
 * long after; the gateway ends every call well within it (a slow local model at a few tokens a
 * second takes about an hour for 8192 tokens).
 */
export const MAX_RECEIPT_DELAY_MS = 6n * 3_600_000n

const bad = (field: string, message: string): SinewError =>
  new SinewError({ code: 'invalid_field', message: `message.${field} ${message}`, details: { field: `message.${field}` } })

/** Parses a backend string: `builtin:infinigram` or `openai-compatible:<http(s) base URL>[#upstream-model]`. */
export function parseBackend(backend: string): { kind: 'builtin' } | { kind: 'openai'; baseURL: string; upstreamModel?: string } {
  if (backend === BUILTIN_INFINIGRAM) return { kind: 'builtin' }
  if (backend.startsWith(OPENAI_COMPATIBLE)) {
    const rest = backend.slice(OPENAI_COMPATIBLE.length)
    const hash = rest.indexOf('#')
    const url = hash >= 0 ? rest.slice(0, hash) : rest
    const upstreamModel = hash >= 0 ? rest.slice(hash + 1) : undefined
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw bad('backend', `has an invalid base URL: ${JSON.stringify(url.slice(0, 100))}`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw bad('backend', 'base URL must be http(s)')
    if (upstreamModel !== undefined && upstreamModel.length === 0) throw bad('backend', 'has an empty #upstream-model')
    return { kind: 'openai', baseURL: url.replace(/\/$/, ''), ...(upstreamModel ? { upstreamModel } : {}) }
  }
  throw bad('backend', `must be "${BUILTIN_INFINIGRAM}" or "${OPENAI_COMPATIBLE}<baseURL>"`)
}

function validateModel(m: ModelMessage): void {
  if (!MODEL_NAME.test(m.name)) throw bad('name', 'must be 1-64 of [a-z0-9._-], starting with a letter or digit')
  if (m.description.length > 1000) throw bad('description', 'is longer than 1000 characters')
  refuseUnsafeText('message.description', m.description, { multiline: true })
  const backend = parseBackend(m.backend)
  if (m.datanets.length > MAX_DATANETS) throw bad('datanets', `has more than ${MAX_DATANETS} entries`)
  if (backend.kind === 'builtin' && m.datanets.length === 0) throw bad('datanets', 'must name at least one Datanet version for builtin:infinigram')
  if (new Set(m.datanets).size !== m.datanets.length) throw bad('datanets', 'lists a Datanet version twice')
  m.datanets.forEach((d, i) => {
    if (d.length === 0 || d.length > 200) throw bad(`datanets[${i}]`, 'must be 1-200 characters')
  })
  if (m.contributorShareBps > 10_000n) throw bad('contributorShareBps', 'must be at most 10000')
}

function checkVersions(resolver: ContributionResolver, state: StateReader, datanets: string[]): void {
  datanets.forEach((ref, i) => {
    if (!resolver.versionExists(state, ref)) {
      throw new SinewError({
        code: 'datanet_version_not_found',
        message: `No published Datanet version ${ref}`,
        details: { field: `message.datanets[${i}]`, ref },
      })
    }
  })
}

function terms(m: ModelMessage, owner: Address, version: number, active: boolean): ModelTerms {
  return {
    name: m.name,
    owner,
    version,
    backend: m.backend,
    datanets: m.datanets,
    pricePerMillion: m.pricePerMillion.toString(),
    contributorShareBps: Number(m.contributorShareBps),
    active,
    description: m.description,
  }
}

/** The prompt and request prices of a version, only where set (older terms stay byte-identical). */
function extraPrices(t: ModelTerms): Pick<ModelTerms, 'promptPricePerMillion' | 'requestPrice'> {
  return {
    ...(t.promptPricePerMillion && t.promptPricePerMillion !== '0' ? { promptPricePerMillion: t.promptPricePerMillion } : {}),
    ...(t.requestPrice && t.requestPrice !== '0' ? { requestPrice: t.requestPrice } : {}),
  }
}

/** The names UpdateApiKey's `limits` entries may have, and the ApiKeyControls field each sets. */
export const API_KEY_LIMIT_NAMES = ['requestsPerMinute', 'tokensPerMinute', 'concurrentCalls'] as const
export const MAX_KEY_MODELS = 64

function validateKeyLabel(label: string): void {
  if (label.length > 200) throw bad('label', 'is longer than 200 characters')
  refuseUnsafeText('message.label', label)
}

function validateControls(m: UpdateApiKeyMessage): void {
  validateKeyLabel(m.label)
  if (m.models.length > MAX_KEY_MODELS) throw bad('models', `has more than ${MAX_KEY_MODELS} entries`)
  m.models.forEach((name, i) => {
    if (!MODEL_NAME.test(name)) throw bad(`models[${i}]`, 'is not a model name')
  })
  if (new Set(m.models).size !== m.models.length) throw bad('models', 'names a model twice')
  const names = new Set<string>()
  m.limits.forEach((l, i) => {
    if (!(API_KEY_LIMIT_NAMES as readonly string[]).includes(l.name))
      throw bad(`limits[${i}].name`, `must be one of ${API_KEY_LIMIT_NAMES.join(', ')}, got ${JSON.stringify(l.name.slice(0, 40))}`)
    if (names.has(l.name)) throw bad(`limits[${i}].name`, `sets ${l.name} twice`)
    names.add(l.name)
    if (l.value < 1n) throw bad(`limits[${i}].value`, `(${l.name}) must be at least 1: leave the limit out for none`)
  })
  const windows = new Set<string>()
  m.budgets.forEach((b, i) => {
    if (!isBudgetWindow(b.window))
      throw bad(`budgets[${i}].window`, `must be one of ${BUDGET_WINDOWS.join(', ')}, got ${JSON.stringify(b.window.slice(0, 40))}`)
    if (windows.has(b.window)) throw bad(`budgets[${i}].window`, `sets the ${b.window} budget twice`)
    windows.add(b.window)
    if (b.amount < 1n) throw bad(`budgets[${i}].amount`, 'must be at least 1 base unit: leave the budget out for none')
  })
}

/** The controls an UpdateApiKey message sets, as the key record holds them. */
function controlsOf(m: UpdateApiKeyMessage): ApiKeyControls {
  const limits = Object.fromEntries(m.limits.map((l) => [l.name, Number(l.value)]))
  return { models: m.models, ...limits, budgets: Object.fromEntries(m.budgets.map((b) => [b.window, b.amount.toString()])) }
}

// ---------- the kinds' EIP-712 fields, and the message types read off them ----------
// (The kinds are made by createModelKinds, for a resolver, so their fields are declared here.)

const MODEL_FIELDS = [
  { name: 'name', type: 'string' },
  { name: 'description', type: 'string' },
  { name: 'backend', type: 'string' },
  { name: 'datanets', type: 'string[]' },
  { name: 'pricePerMillion', type: 'uint256' },
  { name: 'contributorShareBps', type: 'uint16' },
] as const
const UPDATE_MODEL_FIELDS = [...MODEL_FIELDS, { name: 'active', type: 'bool' }] as const

const GRANT_API_KEY_FIELDS = [
  { name: 'keyHash', type: 'bytes32' },
  { name: 'label', type: 'string' },
  { name: 'spendLimit', type: 'uint256' },
  { name: 'expiresAt', type: 'uint64' },
] as const
const REVOKE_API_KEY_FIELDS = [{ name: 'keyHash', type: 'bytes32' }] as const
/** A new signed grant of an existing key: all its terms again, with the per-key controls. */
const UPDATE_API_KEY_FIELDS = [
  ...GRANT_API_KEY_FIELDS,
  { name: 'models', type: 'string[]' },
  { name: 'limits', type: 'ApiKeyLimit[]' },
  { name: 'budgets', type: 'ApiKeyBudget[]' },
] as const
const UPDATE_API_KEY_STRUCTS = {
  ApiKeyLimit: [
    { name: 'name', type: 'string' },
    { name: 'value', type: 'uint32' },
  ],
  ApiKeyBudget: [
    { name: 'window', type: 'string' },
    { name: 'amount', type: 'uint256' },
  ],
} as const
const SET_MODEL_PRICES_FIELDS = [
  { name: 'name', type: 'string' },
  { name: 'pricePerMillion', type: 'uint256' },
  { name: 'promptPricePerMillion', type: 'uint256' },
  { name: 'requestPrice', type: 'uint256' },
] as const

const RECEIPT_FIELDS = [
  { name: 'id', type: 'bytes32' },
  { name: 'model', type: 'string' },
  { name: 'modelVersion', type: 'uint32' },
  { name: 'apiKeyHash', type: 'bytes32' },
  /** The head height when the node authorised the call: the key's revocation is judged there. */
  { name: 'authorizedHeight', type: 'uint64' },
  /** The node's time (ms) when it authorised the call: the key's expiry is judged then. */
  { name: 'authorizedAt', type: 'uint64' },
  { name: 'requestHash', type: 'bytes32' },
  { name: 'outputHash', type: 'bytes32' },
  { name: 'promptTokens', type: 'uint32' },
  { name: 'outputTokens', type: 'uint32' },
  { name: 'finishReason', type: 'string' },
  { name: 'method', type: 'string' },
  { name: 'coverageBps', type: 'uint16' },
  { name: 'spans', type: 'ReceiptSpan[]' },
  { name: 'weights', type: 'ReceiptWeight[]' },
] as const
const RECEIPT_STRUCTS = {
  ReceiptSpan: [
    { name: 'start', type: 'uint32' },
    { name: 'end', type: 'uint32' },
    { name: 'tokens', type: 'uint32' },
    { name: 'contribution', type: 'string' },
  ],
  ReceiptWeight: [
    { name: 'contribution', type: 'string' },
    { name: 'datanet', type: 'string' },
    { name: 'author', type: 'address' },
    { name: 'bps', type: 'uint16' },
  ],
} as const

export type ModelMessage = MessageOf<typeof MODEL_FIELDS>
export type UpdateModelMessage = MessageOf<typeof UPDATE_MODEL_FIELDS>
export type GrantApiKeyMessage = MessageOf<typeof GRANT_API_KEY_FIELDS>
export type RevokeApiKeyMessage = MessageOf<typeof REVOKE_API_KEY_FIELDS>
export type UpdateApiKeyMessage = MessageOf<typeof UPDATE_API_KEY_FIELDS, typeof UPDATE_API_KEY_STRUCTS>
export type SetModelPricesMessage = MessageOf<typeof SET_MODEL_PRICES_FIELDS>
export type ReceiptMessage = MessageOf<typeof RECEIPT_FIELDS, typeof RECEIPT_STRUCTS>

export function createModelKinds(resolver: ContributionResolver = nodeAttestedResolver): TxKind<any>[] {
  const registerModel = defineTxKind({
    type: 'RegisterModel',
    description: 'Register a model served through the gateway: backend, Datanet versions, price per million output tokens, contributor share',
    fields: MODEL_FIELDS,
    validate: validateModel,
    execute: (ctx, m) => {
      if (ctx.state.get(modelKey(m.name))) {
        throw new SinewError({
          code: 'model_exists',
          message: `A model named ${m.name} is already registered`,
          details: { field: 'message.name', name: m.name },
        })
      }
      checkVersions(resolver, ctx.state, m.datanets)
      const t = terms(m, ctx.sender, 1, true)
      const record: ModelRecord = { ...t, createdAt: ctx.timestamp.toString(), updatedAt: ctx.timestamp.toString() }
      ctx.state.setJson(modelKey(m.name), record)
      ctx.state.setJson(modelVersionKey(m.name, 1), t)
      ctx.state.setJson(MODEL_INDEX_KEY, [...readModelNames(ctx.state), m.name].sort())
      return { model: m.name, version: 1, owner: ctx.sender }
    },
  })

  const updateModel = defineTxKind({
    type: 'UpdateModel',
    description: "Change a model's backend, Datanet versions, price or contributor share, or deactivate it (owner only; makes a new version)",
    fields: UPDATE_MODEL_FIELDS,
    validate: validateModel,
    execute: (ctx, m) => {
      const current = readModel(ctx.state, m.name)
      if (!current) throw new SinewError({ code: 'model_not_found', message: `No model named ${m.name}`, details: { field: 'message.name', name: m.name } })
      if (current.owner !== ctx.sender) {
        throw new SinewError({
          code: 'not_model_owner',
          message: `Only the owner ${current.owner} can update ${m.name}`,
          details: { field: 'message.name', owner: current.owner },
        })
      }
      checkVersions(resolver, ctx.state, m.datanets)
      // The prompt and request prices are SetModelPrices': an update keeps them.
      const t = { ...terms(m, current.owner, current.version + 1, m.active), ...extraPrices(current) }
      ctx.state.setJson(modelKey(m.name), { ...t, createdAt: current.createdAt, updatedAt: ctx.timestamp.toString() } satisfies ModelRecord)
      ctx.state.setJson(modelVersionKey(m.name, t.version), t)
      return { model: m.name, version: t.version, active: m.active }
    },
  })

  /** A new key's record, after the checks every grant makes (the hash is new, the expiry in the future). */
  const newKeyRecord = (ctx: { state: StateReader; sender: Address; timestamp: bigint }, m: GrantApiKeyMessage): ApiKeyRecord => {
    if (ctx.state.get(apiKeyKey(m.keyHash))) {
      throw new SinewError({
        code: 'apikey_exists',
        message: 'This API key hash is already registered',
        details: { field: 'message.keyHash', keyHash: m.keyHash },
        hint: 'Make a new random key.',
      })
    }
    if (m.expiresAt !== 0n && m.expiresAt <= ctx.timestamp) {
      throw new SinewError({
        code: 'apikey_expired',
        message: 'expiresAt is in the past',
        details: { field: 'message.expiresAt', expiresAt: m.expiresAt.toString(), now: ctx.timestamp.toString() },
      })
    }
    return {
      keyHash: m.keyHash,
      owner: ctx.sender,
      label: m.label,
      spendLimit: m.spendLimit.toString(),
      expiresAt: m.expiresAt.toString(),
      spent: '0',
      calls: '0',
      revoked: false,
      grantedAt: ctx.timestamp.toString(),
    }
  }

  /** A key's allow-list names registered models only. */
  const checkKeyModels = (state: StateReader, models: readonly string[]) =>
    models.forEach((name, i) => {
      if (!readModel(state, name))
        throw new SinewError({
          code: 'model_not_found',
          message: `No model named ${name}: a key's allow-list names registered models only`,
          details: { field: `message.models[${i}]`, name },
        })
    })

  const grantApiKey = defineTxKind({
    type: 'GrantApiKey',
    description: 'Bind an API key (by its keccak256 hash) to the signing account, with a spend limit (0 = none) and an expiry (ms, 0 = never)',
    fields: GRANT_API_KEY_FIELDS,
    validate: (m) => validateKeyLabel(m.label),
    execute: (ctx, m) => {
      ctx.state.setJson(apiKeyKey(m.keyHash), newKeyRecord(ctx, m))
      return { keyHash: m.keyHash, owner: ctx.sender }
    },
  })

  const grantApiKeyWithControls = defineTxKind({
    type: 'GrantApiKeyWithControls',
    description:
      "Bind a new API key to the signing account with GrantApiKey's terms and, from its first call, UpdateApiKey's per-key controls: the models it may call, requests and tokens per minute, concurrent calls, and budgets per UTC day, week or month",
    fields: UPDATE_API_KEY_FIELDS,
    structs: UPDATE_API_KEY_STRUCTS,
    validate: validateControls,
    execute: (ctx, m) => {
      const record = newKeyRecord(ctx, m)
      checkKeyModels(ctx.state, m.models)
      ctx.state.setJson(apiKeyKey(m.keyHash), { ...record, controls: controlsOf(m) } satisfies ApiKeyRecord)
      return { keyHash: m.keyHash, owner: ctx.sender }
    },
  })

  const revokeApiKey = defineTxKind({
    type: 'RevokeApiKey',
    description: 'Revoke an API key of the signing account; calls made with it are refused from then on',
    fields: REVOKE_API_KEY_FIELDS,
    execute: (ctx, m) => {
      const key = readApiKey(ctx.state, m.keyHash)
      if (!key)
        throw new SinewError({ code: 'apikey_not_found', message: 'No API key with this hash', details: { field: 'message.keyHash', keyHash: m.keyHash } })
      if (key.owner !== ctx.sender)
        throw new SinewError({ code: 'not_apikey_owner', message: `Only ${key.owner} can revoke this key`, details: { field: 'message.keyHash' } })
      if (key.revoked) throw new SinewError({ code: 'apikey_revoked', message: 'This API key is already revoked', details: { field: 'message.keyHash' } })
      // When: a call authorised before this height is still paid for (RecordReceipt).
      ctx.state.setJson(apiKeyKey(m.keyHash), { ...key, revoked: true, revokedHeight: ctx.height.toString() } satisfies ApiKeyRecord)
      return { keyHash: m.keyHash, revoked: true }
    },
  })

  const updateApiKey = defineTxKind({
    type: 'UpdateApiKey',
    description:
      'Re-grant an API key of the signing account with new terms: label, spend limit, expiry, the models it may call, requests and tokens per minute, concurrent calls, and budgets per UTC day, week or month',
    fields: UPDATE_API_KEY_FIELDS,
    structs: UPDATE_API_KEY_STRUCTS,
    validate: validateControls,
    execute: (ctx, m) => {
      const key = readApiKey(ctx.state, m.keyHash)
      if (!key)
        throw new SinewError({ code: 'apikey_not_found', message: 'No API key with this hash', details: { field: 'message.keyHash', keyHash: m.keyHash } })
      if (key.owner !== ctx.sender)
        throw new SinewError({ code: 'not_apikey_owner', message: `Only ${key.owner} can update this key`, details: { field: 'message.keyHash' } })
      if (key.revoked) throw new SinewError({ code: 'apikey_revoked', message: 'This API key is revoked', details: { field: 'message.keyHash' } })
      if (m.expiresAt !== 0n && m.expiresAt <= ctx.timestamp) {
        throw new SinewError({
          code: 'apikey_expired',
          message: 'expiresAt is in the past',
          details: { field: 'message.expiresAt', expiresAt: m.expiresAt.toString(), now: ctx.timestamp.toString() },
        })
      }
      checkKeyModels(ctx.state, m.models)
      const record: ApiKeyRecord = {
        ...key,
        label: m.label,
        spendLimit: m.spendLimit.toString(),
        expiresAt: m.expiresAt.toString(),
        controls: controlsOf(m),
      }
      ctx.state.setJson(apiKeyKey(m.keyHash), record)
      return { keyHash: m.keyHash, owner: ctx.sender }
    },
  })

  const setModelPrices = defineTxKind({
    type: 'SetModelPrices',
    description: "Set a model's prices: per million output tokens, per million prompt tokens, per request (owner only; makes a new version)",
    fields: SET_MODEL_PRICES_FIELDS,
    validate: (m) => {
      if (!MODEL_NAME.test(m.name)) throw bad('name', 'must be 1-64 of [a-z0-9._-], starting with a letter or digit')
    },
    execute: (ctx, m) => {
      const current = readModel(ctx.state, m.name)
      if (!current) throw new SinewError({ code: 'model_not_found', message: `No model named ${m.name}`, details: { field: 'message.name', name: m.name } })
      if (current.owner !== ctx.sender) {
        throw new SinewError({
          code: 'not_model_owner',
          message: `Only the owner ${current.owner} can set the prices of ${m.name}`,
          details: { field: 'message.name', owner: current.owner },
        })
      }
      const { createdAt, updatedAt: _u, promptPricePerMillion: _p, requestPrice: _r, ...prev } = current
      const t: ModelTerms = {
        ...prev,
        version: current.version + 1,
        pricePerMillion: m.pricePerMillion.toString(),
        ...extraPrices({ ...prev, promptPricePerMillion: m.promptPricePerMillion.toString(), requestPrice: m.requestPrice.toString() }),
      }
      ctx.state.setJson(modelKey(m.name), { ...t, createdAt, updatedAt: ctx.timestamp.toString() } satisfies ModelRecord)
      ctx.state.setJson(modelVersionKey(m.name, t.version), t)
      return { model: m.name, version: t.version }
    },
  })

  const recordReceipt = defineTxKind({
    type: 'RecordReceipt',
    description: 'Node-signed receipt of a paid model call: charges the API key owner and pays treasury, contributors and model owner',
    fields: RECEIPT_FIELDS,
    structs: RECEIPT_STRUCTS,
    maxStringBytes: 4096,
    validate: (m) => {
      if (m.coverageBps > 10_000n) throw bad('coverageBps', 'must be at most 10000')
      if (m.spans.length > MAX_RECEIPT_SPANS) throw bad('spans', `has more than ${MAX_RECEIPT_SPANS} entries`)
      if (m.weights.length > MAX_RECEIPT_WEIGHTS) throw bad('weights', `has more than ${MAX_RECEIPT_WEIGHTS} entries`)
      m.spans.forEach((s, i) => {
        if (s.end < s.start) throw bad(`spans[${i}].end`, 'is before start')
      })
      const seen = new Set<string>()
      let sum = 0n
      m.weights.forEach((w, i) => {
        if (seen.has(w.contribution)) throw bad(`weights[${i}].contribution`, 'appears twice')
        seen.add(w.contribution)
        if (w.bps === 0n) throw bad(`weights[${i}].bps`, 'must be above zero')
        sum += w.bps
      })
      if (m.weights.length > 0 && sum !== 10_000n) throw bad('weights', `must sum to 10000 bps, got ${sum}`)
    },
    execute: (ctx, m) => {
      requireSequencer(ctx, 'records receipts')
      if (readReceiptPointer(ctx.state, m.id))
        throw new SinewError({ code: 'receipt_exists', message: `Receipt ${m.id} is already recorded`, details: { field: 'message.id' } })
      const t = readModelVersion(ctx.state, m.model, Number(m.modelVersion))
      if (!t) throw new SinewError({ code: 'model_not_found', message: `No model ${m.model} version ${m.modelVersion}`, details: { field: 'message.model' } })
      // The call is paid for if the key was good when the node authorised it: text delivered
      // after a revocation or an expiry that came mid-call is still charged.
      if (m.authorizedHeight >= ctx.height || m.authorizedAt > ctx.timestamp || ctx.timestamp - m.authorizedAt > MAX_RECEIPT_DELAY_MS) {
        throw new SinewError({
          code: 'receipt_authorization_stale',
          message: `The receipt says its call was authorised at height ${m.authorizedHeight}, time ${m.authorizedAt}: that must be before this block (height ${ctx.height}, time ${ctx.timestamp}) and at most ${MAX_RECEIPT_DELAY_MS} ms earlier`,
          details: { field: 'message.authorizedAt', height: ctx.height.toString(), timestamp: ctx.timestamp.toString() },
        })
      }
      const key = readApiKey(ctx.state, m.apiKeyHash)
      const problem = apiKeyProblemAt(key, m.authorizedHeight, m.authorizedAt)
      if (problem)
        throw new SinewError({
          code: `apikey_${problem === 'unknown' ? 'not_found' : problem}`,
          message: `The API key was ${problem === 'unknown' ? 'unknown' : problem} when the call was authorised`,
          details: { field: 'message.apiKeyHash', authorizedHeight: m.authorizedHeight.toString(), authorizedAt: m.authorizedAt.toString() },
        })
      const fee = callFee(t, m.promptTokens, m.outputTokens)
      const spent = BigInt(key!.spent) + fee
      if (key!.spendLimit !== '0' && spent > BigInt(key!.spendLimit)) {
        throw new SinewError({
          code: 'spend_limit_reached',
          message: `The API key's spend limit ${key!.spendLimit} would be exceeded`,
          details: { field: 'message.apiKeyHash', spendLimit: key!.spendLimit, spent: key!.spent, fee: fee.toString() },
        })
      }
      const periods = chargePeriods(key!, m.authorizedAt, fee)
      const weights = m.weights.map((w) => {
        const known = resolver.authorOf(ctx.state, w.contribution)
        if (known === undefined && resolver.strict) {
          throw new SinewError({
            code: 'contribution_not_found',
            message: `Unknown contribution ${w.contribution}`,
            details: { field: 'message.weights', contribution: w.contribution },
          })
        }
        if (known !== undefined && known !== w.author) {
          throw new SinewError({
            code: 'author_mismatch',
            message: `Contribution ${w.contribution} is by ${known}, not ${w.author}`,
            details: { field: 'message.weights', contribution: w.contribution },
          })
        }
        return { contribution: w.contribution, author: w.author, bps: Number(w.bps) }
      })
      const split = splitFee(fee, ctx.params.protocolFeeBps, t.contributorShareBps, Number(m.coverageBps), weights)
      const payer = key!.owner
      debit(ctx.state, payer, fee, 'fee')
      credit(ctx.state, ctx.params.treasury, split.protocolFee)
      const credits = creditsByAuthor(split)
      for (const c of credits) credit(ctx.state, c.author, c.amount)
      credit(ctx.state, t.owner, split.ownerAmount)
      ctx.state.setJson(apiKeyKey(m.apiKeyHash), {
        ...key!,
        spent: spent.toString(),
        calls: (BigInt(key!.calls) + 1n).toString(),
        ...(periods ? { periods } : {}),
      } satisfies ApiKeyRecord)
      ctx.state.setJson(receiptKey(m.id), { txHash: ctx.txHash, height: ctx.height.toString() })
      return {
        id: m.id,
        model: m.model,
        modelVersion: Number(m.modelVersion),
        payer,
        fee: split.fee,
        treasury: ctx.params.treasury,
        protocolFee: split.protocolFee,
        contributorPool: split.contributorPool,
        owner: t.owner,
        ownerAmount: split.ownerAmount,
        contributors: split.contributors.map((c) => ({ contribution: c.contribution, author: c.author, amount: c.amount })),
      }
    },
  })

  return [registerModel, updateModel, setModelPrices, grantApiKey, grantApiKeyWithControls, updateApiKey, revokeApiKey, recordReceipt]
}

/**
 * A key's spend per budget period after a charge of `fee` for a call authorised at `at`: the
 * period holding `at` starts afresh when it is later than the one recorded; a charge for an
 * earlier period (a call that ran across the reset) is not counted against the new one (its
 * period's budget was reserved when it was authorised). Refused when the period's budget
 * would be exceeded. Undefined when the key has no budgets.
 */
function chargePeriods(key: ApiKeyRecord, at: bigint, fee: bigint): ApiKeyRecord['periods'] {
  const budgets = key.controls?.budgets ?? {}
  const windows = BUDGET_WINDOWS.filter((w) => budgets[w] !== undefined)
  if (windows.length === 0) return key.periods
  const periods = { ...key.periods }
  for (const w of windows) {
    const start = periodStart(w, at)
    const current = periods[w]
    if (current && BigInt(current.start) > start) continue
    const spent = (current && BigInt(current.start) === start ? BigInt(current.spent) : 0n) + fee
    if (spent > BigInt(budgets[w]!)) {
      throw new SinewError({
        code: 'budget_exhausted',
        message: `The API key's ${w} budget ${budgets[w]} would be exceeded`,
        details: { field: 'message.apiKeyHash', window: w, budget: budgets[w], spent: current?.spent ?? '0', fee: fee.toString() },
      })
    }
    periods[w] = { start: start.toString(), spent: spent.toString() }
  }
  return periods
}
