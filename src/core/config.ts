/**
 * Node configuration, resolved in this order (later wins): defaults, a JSON config file
 * (`<dataDir>/config.json` or `--config`), environment variables (`SINEW_*`), command-line
 * flags. Every value is checked; a bad one names its source.
 */
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { SinewError } from './errors.ts'
import { isAddressRangeEntry } from './ip.ts'
import { addressSchema } from './wire.ts'

/** A list setting: an array (config file) or a comma-separated string (environment, flags). */
const list = <T extends z.ZodType<string, string>>(entry: T) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : v,
    z.array(entry),
  )

/**
 * A Host header value (a name or address with an optional `:port`) as a URL, or null for
 * anything else: a scheme, a path, credentials, spaces. Its `host` is the normalised form.
 */
export function parseHost(value: string): URL | null {
  return /^[^\s/?#@\\]+$/.test(value) ? URL.parse(`http://${value}`) : null
}

/**
 * A name the node answers to in the Host header: `name` (any port), `name:port`, an IP
 * address, or `*` (any host: the check is off). Kept in the URL's normalised form.
 */
const hostEntry = z
  .string()
  .trim()
  .transform((v, ctx) => {
    if (v === '*') return v
    const url = parseHost(v)
    if (url) return url.host
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a host: expected a name with an optional :port (no scheme or path), or *` })
    return z.NEVER
  })

/** `scheme://host[:port]` (http or https, no path, query or credentials) as URL.origin writes it, or null. */
function parseOrigin(value: string): string | null {
  const url = URL.parse(value)
  return url && (url.protocol === 'http:' || url.protocol === 'https:') && url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password
    ? url.origin
    : null
}

/** A web origin allowed to call the node from a browser: `https://app.example.org[:port]`, or `*`. */
const originEntry = z
  .string()
  .trim()
  .transform((v, ctx) => {
    if (v === '*') return v
    const origin = parseOrigin(v)
    if (origin) return origin
    ctx.addIssue({ code: 'custom', message: `"${v}" is not an origin: expected scheme://host[:port] with no path, like https://app.example.org, or *` })
    return z.NEVER
  })

/** A peer the node takes for its own reverse proxy: an address, a CIDR, `loopback` or `private`. */
const proxyEntry = z
  .string()
  .trim()
  .transform((v, ctx) => {
    if (isAddressRangeEntry(v)) return v
    ctx.addIssue({ code: 'custom', message: `"${v}" is not an address range: expected an IP address, a CIDR such as 10.0.0.0/8, loopback or private` })
    return z.NEVER
  })

/** A JSON value given as text (an environment variable) is parsed first; bad JSON is left for the schema to refuse. */
const jsonText = (v: unknown): unknown => {
  if (typeof v !== 'string') return v
  try {
    return JSON.parse(v)
  } catch {
    return v
  }
}

/** An operator's backend key, for one origin; `owners` (addresses) limits it to the models those accounts own. */
const backendCredential = z.union([
  z.string().min(1),
  z
    .object({
      apiKey: z.string().min(1),
      owners: z
        .array(addressSchema)
        .min(1)
        .transform((a) => a.map((x) => x.toLowerCase()))
        .optional(),
    })
    .strict(),
])

/** Backend keys by origin (keys normalized by parseOrigin; one that is not an origin is refused, naming it). */
const backendCredentials = z.preprocess(
  jsonText,
  z.record(z.string(), backendCredential).transform((rec, ctx) => {
    const out: Record<string, z.infer<typeof backendCredential>> = {}
    for (const [key, value] of Object.entries(rec)) {
      const origin = parseOrigin(key)
      if (!origin) {
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(key.slice(0, 100))} is not an origin: write scheme://host[:port], e.g. https://api.example.com`,
          path: [key],
        })
        return z.NEVER
      }
      out[origin] = value
    }
    return out
  }),
)

/**
 * A limit per model: one number for every model, or by model name, with `builtin:infinigram`
 * for every built-in model and `*` for the rest (JSON in the environment). The node's
 * defaults fill the keys not given.
 */
const perModelLimit = (max: number) =>
  z.preprocess(
    jsonText,
    z.union([
      z.number().int().min(1).max(max),
      z.record(
        z.string().regex(/^(\*|builtin:infinigram|[a-z0-9][a-z0-9._-]{0,63})$/, 'must be a model name, builtin:infinigram or *'),
        z.number().int().min(1).max(max),
      ),
    ]),
  )

export const nodeConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    /**
     * Where the chain is stored: unset (or `sqlite`) for the SQLite file in the data dir, or
     * a `postgres://user:password@host:port/database` URL (several nodes may share one).
     */
    store: z
      .string()
      .regex(/^(sqlite|postgres(ql)?:\/\/.+)$/i, 'must be sqlite or a postgres://user:password@host:port/database URL')
      .optional(),
    host: z.string().min(1),
    port: z.coerce.number().int().min(0).max(65535),
    /** Longest a submitted tx waits before its block is cut. */
    blockIntervalMs: z.coerce.number().int().min(1).max(60_000),
    /** A block is cut early once it holds this many txs. */
    maxBlockTxs: z.coerce.number().int().min(1).max(100_000),
    /** Largest accepted request body, in bytes. */
    bodyLimitBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024),
    /**
     * Largest blob `PUT /v1/blobs` stores (and a replica fetches). At most 1 GiB: a blob is
     * read whole into memory to check its hash when served or ingested.
     */
    maxBlobBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024),
    /**
     * SIN (decimal, e.g. "1" or "0.5") an account must hold to authorise an upload for a tx
     * not yet on the ledger (docs/datanets.md#uploads). Nothing is spent.
     */
    blobMinBalance: z.string().regex(/^(0|[1-9][0-9]{0,20})(\.[0-9]{1,18})?$/, 'must be an amount of SIN, e.g. "1" or "0.5"'),
    /**
     * Bytes of uploaded blobs waiting for their tx that each SIN an account holds backs: the
     * account's waiting blobs must stay within its balance times this (docs/datanets.md#uploads).
     */
    blobBytesPerSin: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** Bytes one account may upload per `blobQuotaWindowMs` (each blob counts at least 4 KiB). */
    blobQuotaBytes: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** Blobs one account may upload per `blobQuotaWindowMs`. */
    blobQuotaBlobs: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** Bytes of uploaded blobs waiting for their tx that this node keeps for all accounts together. */
    blobNodeQuotaBytes: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** The rolling window of the upload quotas. */
    blobQuotaWindowMs: z.coerce
      .number()
      .int()
      .min(1000)
      .max(365 * 24 * 3600_000),
    /** A blob no ledger record refers to is removed once it is this old (ms). */
    blobGcGraceMs: z.coerce
      .number()
      .int()
      .min(0)
      .max(365 * 24 * 3600_000),
    /** How often unreferenced blobs are collected (ms); 0 turns collection off. */
    blobGcIntervalMs: z.coerce
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600_000),
    /**
     * Time this node gives reading one PDF or DOCX (ms). Running out is this node's failure,
     * never a reason to skip a contribution (docs/datanets.md#ingestion).
     */
    ingestTimeoutMs: z.coerce.number().int().min(1).max(3_600_000),
    /**
     * Version index builds at once, each with its own PDF/DOCX extraction worker: a Datanet
     * whose files are slow to read holds one lane, not every Datanet's builds.
     */
    buildLanes: z.coerce.number().int().min(1).max(64),
    /** Most txs in one `POST /v1/txs` batch. */
    maxBatchTxs: z.coerce.number().int().min(1).max(100_000),
    /**
     * Serving worker processes sharing the HTTP port (docs/scaling.md); the writer (block
     * production, the gateway) is one more process. 0: one process serves everything.
     * Default: the number of cores.
     */
    workers: z.coerce.number().int().min(0).max(256).optional(),
    /** Worker threads for signature recovery; 0 recovers on the main thread. */
    signatureWorkers: z.coerce.number().int().min(0).max(64),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /** Follow another node at this URL as a read-only replica. */
    follow: z.string().url().optional(),
    followPollMs: z.coerce.number().int().min(10).max(60_000),
    /**
     * On a PostgreSQL store shared by several nodes: stand by when another node holds the
     * sequencer lease (serve, forward writes to it, take over if it goes) instead of refusing
     * to start (docs/scaling.md, "Failover").
     */
    failover: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
      .transform((v) => v === true || v === 'true' || v === '1')
      .optional(),
    /** How long the sequencer lease lasts unrenewed (database clock): a holder that hangs this long is replaced. */
    leaseMs: z.coerce.number().int().min(500).max(600_000),
    /** How often a standby asks for the sequencer lease and applies new blocks from the database. */
    leasePollMs: z.coerce.number().int().min(10).max(10_000),
    /** The URL other nodes of the database forward writes to (default: the address this node listens on). */
    advertiseUrl: z.string().url().optional(),
    /**
     * Names the node answers to (the Host header), besides localhost, IP addresses and the
     * `host` it binds: a defence against DNS rebinding. A public node lists its public names.
     */
    allowedHosts: list(hostEntry),
    /** Web origins whose pages may call the node (Origin check and CORS), besides its own. */
    allowedOrigins: list(originEntry),
    /**
     * Keys for model backends, by exact origin: sent as `Authorization: Bearer <key>` to that
     * origin only (docs/gateway.md). JSON in SINEW_BACKEND_CREDENTIALS.
     */
    backendCredentials: backendCredentials.optional(),
    /**
     * Where openai-compatible backends may be: `public`, `loopback`, `private`, CIDRs, origins,
     * host names (`*.example.com`); the gateway parses the entries. Default: public addresses,
     * plus loopback on a dev network.
     */
    backendAllowList: list(z.string().min(1)).optional(),
    /** Failed API-key authentications a client (IP address, IPv6 /64) may make per minute before it gets 429. */
    apiKeyFailuresPerMinute: z.coerce.number().int().min(1).max(1_000_000),
    /**
     * Peers whose X-Forwarded-For the node believes (its reverse proxies, or the replicas that
     * pass calls to it): per-client limits then count the client the proxy names. Empty by
     * default: the header is ignored and each TCP peer is a client.
     */
    trustProxy: list(proxyEntry),
    /** Gateway calls one API key may have in flight at once. */
    maxConcurrentCallsPerKey: z.coerce.number().int().min(1).max(100_000),
    /** A stream whose client takes nothing for this long is dropped (charged for what reached it). */
    streamStallTimeoutMs: z.coerce.number().int().min(100).max(3_600_000),
    /** Largest `max_tokens` a call may ask of a model (docs/gateway.md); default 8192, 4096 for built-in models. */
    maxOutputTokens: perModelLimit(1_000_000).optional(),
    /** Longest prompt (canonical tokens, all messages) a call may send a model; default 32768. Prompt tokens are not charged. */
    maxPromptTokens: perModelLimit(10_000_000).optional(),
    /** Largest request body of an inference call (`POST /v1/chat/completions`, `/v1/completions`). */
    callBodyLimitBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(256 * 1024 * 1024),
    /**
     * x402 payments (docs/x402.md): a model call without an API key is answered 402 with what
     * it costs and may be paid per call. Default: on for dev networks, off otherwise.
     */
    x402: z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean()).optional(),
    /** The validity window (seconds) the node asks of an x402 payment authorisation. */
    x402MaxTimeoutSeconds: z.coerce.number().int().min(10).max(86_400),
    /**
     * Settlement on an EVM chain (docs/settlement.md): the JSON-RPC endpoint (any EVM node)
     * and the SinewSettlement contract. Both set, or neither (no settlement).
     */
    settlementRpcUrl: z.string().url().optional(),
    settlementContract: addressSchema.optional(),
    /** The contract's deploy block: where the deposit watcher starts reading on a fresh ledger. */
    settlementStartBlock: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    /** EVM blocks mined on top of a deposit's block before it is credited on Sinew. */
    settlementConfirmations: z.coerce.number().int().min(0).max(10_000),
    /** Post a checkpoint once this many Sinew blocks are not covered by one... */
    settlementCheckpointBlocks: z.coerce.number().int().min(1).max(1_000_000_000),
    /** ...or once this long (ms) has passed since the last one, if a block is not covered. */
    settlementCheckpointMs: z.coerce
      .number()
      .int()
      .min(100)
      .max(30 * 24 * 3600_000),
    /** How often the node reads the EVM chain (new deposits, the contract's checkpoint height). */
    settlementPollMs: z.coerce.number().int().min(50).max(600_000),
  })
  .strict()
  .refine((c) => (c.settlementRpcUrl === undefined) === (c.settlementContract === undefined), {
    message: 'settlementRpcUrl and settlementContract go together: set both to settle on an EVM chain, or neither',
    path: ['settlementContract'],
  })

export type NodeConfig = z.infer<typeof nodeConfigSchema>

export const defaultDataDir = (network = 'dev'): string => join(homedir(), '.sinew', network)

export const configDefaults: NodeConfig = {
  dataDir: defaultDataDir(),
  host: '127.0.0.1',
  port: 8545,
  blockIntervalMs: 20,
  maxBlockTxs: 5000,
  bodyLimitBytes: 8 * 1024 * 1024,
  maxBlobBytes: 64 * 1024 * 1024,
  blobMinBalance: '1',
  blobBytesPerSin: 64 * 1024 * 1024,
  blobQuotaBytes: 1024 * 1024 * 1024,
  blobQuotaBlobs: 10_000,
  blobNodeQuotaBytes: 16 * 1024 * 1024 * 1024,
  blobQuotaWindowMs: 24 * 3600_000,
  blobGcGraceMs: 24 * 3600_000,
  blobGcIntervalMs: 10 * 60_000,
  ingestTimeoutMs: 60_000,
  buildLanes: 2,
  maxBatchTxs: 5000,
  signatureWorkers: 1,
  logLevel: 'info',
  followPollMs: 200,
  leaseMs: 5000,
  leasePollMs: 100,
  allowedHosts: [],
  allowedOrigins: [],
  apiKeyFailuresPerMinute: 20,
  trustProxy: [],
  maxConcurrentCallsPerKey: 16,
  streamStallTimeoutMs: 60_000,
  callBodyLimitBytes: 1024 * 1024,
  x402MaxTimeoutSeconds: 300,
  settlementStartBlock: 0,
  settlementConfirmations: 12,
  settlementCheckpointBlocks: 100,
  settlementCheckpointMs: 10 * 60_000,
  settlementPollMs: 2000,
}

const ENV_KEYS: Record<string, keyof NodeConfig> = {
  SINEW_DATA_DIR: 'dataDir',
  SINEW_STORE: 'store',
  SINEW_HOST: 'host',
  SINEW_PORT: 'port',
  SINEW_BLOCK_INTERVAL_MS: 'blockIntervalMs',
  SINEW_MAX_BLOCK_TXS: 'maxBlockTxs',
  SINEW_BODY_LIMIT_BYTES: 'bodyLimitBytes',
  SINEW_MAX_BLOB_BYTES: 'maxBlobBytes',
  SINEW_BLOB_MIN_BALANCE: 'blobMinBalance',
  SINEW_BLOB_BYTES_PER_SIN: 'blobBytesPerSin',
  SINEW_BLOB_QUOTA_BYTES: 'blobQuotaBytes',
  SINEW_BLOB_QUOTA_BLOBS: 'blobQuotaBlobs',
  SINEW_BLOB_NODE_QUOTA_BYTES: 'blobNodeQuotaBytes',
  SINEW_BLOB_QUOTA_WINDOW_MS: 'blobQuotaWindowMs',
  SINEW_BLOB_GC_GRACE_MS: 'blobGcGraceMs',
  SINEW_BLOB_GC_INTERVAL_MS: 'blobGcIntervalMs',
  SINEW_INGEST_TIMEOUT_MS: 'ingestTimeoutMs',
  SINEW_BUILD_LANES: 'buildLanes',
  SINEW_MAX_BATCH_TXS: 'maxBatchTxs',
  SINEW_SIGNATURE_WORKERS: 'signatureWorkers',
  SINEW_WORKERS: 'workers',
  SINEW_LOG_LEVEL: 'logLevel',
  SINEW_FOLLOW: 'follow',
  SINEW_FOLLOW_POLL_MS: 'followPollMs',
  SINEW_FAILOVER: 'failover',
  SINEW_LEASE_MS: 'leaseMs',
  SINEW_LEASE_POLL_MS: 'leasePollMs',
  SINEW_ADVERTISE_URL: 'advertiseUrl',
  SINEW_ALLOWED_HOSTS: 'allowedHosts',
  SINEW_ALLOWED_ORIGINS: 'allowedOrigins',
  SINEW_BACKEND_CREDENTIALS: 'backendCredentials',
  SINEW_BACKEND_ALLOW_LIST: 'backendAllowList',
  SINEW_API_KEY_FAILURES_PER_MINUTE: 'apiKeyFailuresPerMinute',
  SINEW_TRUST_PROXY: 'trustProxy',
  SINEW_MAX_CONCURRENT_CALLS_PER_KEY: 'maxConcurrentCallsPerKey',
  SINEW_STREAM_STALL_TIMEOUT_MS: 'streamStallTimeoutMs',
  SINEW_MAX_OUTPUT_TOKENS: 'maxOutputTokens',
  SINEW_MAX_PROMPT_TOKENS: 'maxPromptTokens',
  SINEW_CALL_BODY_LIMIT_BYTES: 'callBodyLimitBytes',
  SINEW_X402: 'x402',
  SINEW_X402_MAX_TIMEOUT_SECONDS: 'x402MaxTimeoutSeconds',
  SINEW_SETTLEMENT_RPC_URL: 'settlementRpcUrl',
  SINEW_SETTLEMENT_CONTRACT: 'settlementContract',
  SINEW_SETTLEMENT_START_BLOCK: 'settlementStartBlock',
  SINEW_SETTLEMENT_CONFIRMATIONS: 'settlementConfirmations',
  SINEW_SETTLEMENT_CHECKPOINT_BLOCKS: 'settlementCheckpointBlocks',
  SINEW_SETTLEMENT_CHECKPOINT_MS: 'settlementCheckpointMs',
  SINEW_SETTLEMENT_POLL_MS: 'settlementPollMs',
}

/**
 * Variables an older node read and this one does not: a credential the operator believes is
 * in use must not be silently ignored, so their presence stops the node with what replaced them.
 */
const REMOVED_ENV: { pattern: RegExp; replacedBy: string }[] = [
  {
    pattern: /^SINEW_BACKEND_KEY(_.*)?$/,
    replacedBy:
      'backendCredentials (config file) or SINEW_BACKEND_CREDENTIALS (JSON), which bind each key to a backend origin, e.g. {"https://api.example.com": "sk-..."}',
  },
]

export type ConfigSources = {
  flags?: Partial<Record<keyof NodeConfig, unknown>>
  env?: NodeJS.ProcessEnv
  /** Explicit config file; otherwise `<dataDir>/config.json` if it exists. */
  configFile?: string
}

export function loadConfig(sources: ConfigSources = {}): NodeConfig {
  const env = sources.env ?? process.env
  for (const name of Object.keys(env)) {
    const removed = REMOVED_ENV.find((r) => r.pattern.test(name))
    if (removed && env[name] !== undefined) {
      throw new SinewError({
        code: 'removed_setting',
        message: `${name} is no longer read: use ${removed.replacedBy}`,
        details: { variable: name },
        hint: `Unset ${name} and bind the key to its backend's origin; a key is never sent by model name or to any other origin (docs/gateway.md).`,
      })
    }
  }
  const flags = stripUndefined(sources.flags ?? {})
  const fromEnv: Record<string, unknown> = {}
  for (const [name, key] of Object.entries(ENV_KEYS)) if (env[name] !== undefined && env[name] !== '') fromEnv[key] = env[name]

  const dataDir = String(flags.dataDir ?? fromEnv.dataDir ?? configDefaults.dataDir)
  const file = sources.configFile ?? join(dataDir, 'config.json')
  const fromFile = readConfigFile(file) ?? {}
  if (!existsSync(file) && sources.configFile) {
    throw new SinewError({ code: 'invalid_input', message: `Config file not found: ${file}`, details: { file } })
  }

  const merged = { ...configDefaults, ...fromFile, ...fromEnv, ...flags }
  const parsed = nodeConfigSchema.safeParse(merged)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    // An unknown setting has an empty path; its name is in the issue's keys.
    const key = String(issue.path[0] ?? (issue.code === 'unrecognized_keys' ? issue.keys[0] : ''))
    const source = key in flags ? 'flag' : key in fromEnv ? 'environment' : key in fromFile ? `config file ${file}` : 'defaults'
    throw new SinewError({
      code: 'invalid_input',
      message: `Invalid config value ${key} (from ${source}): ${issue.message}`,
      details: { field: key, source, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    })
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.dataDir) }
}

/** The settings in a config file, or undefined if there is none; invalid JSON is an error naming the file. */
export function readConfigFile(file: string): Record<string, unknown> | undefined {
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    throw new SinewError({ code: 'invalid_input', message: `Config file is not valid JSON: ${file}`, details: { file, reason: String(e) } })
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  const out: Partial<T> = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}
