/**
 * A small HTTP client for the node API, used by the CLI and `sinew mcp`: answers become
 * values, error bodies become SinewErrors with the node's code, message and details.
 */
import { errorFromResponse, SinewError, type Hex } from '../core/index.ts'

/** The node API: answers become values; error bodies become SinewErrors (code, message, details). */
export type NodeApi = {
  get<T = any>(path: string): Promise<T>
  post<T = any>(path: string, body: unknown, headers?: Record<string, string>): Promise<T>
  /** PUT raw bytes (`PUT /v1/blobs`, with its upload permit header); the answer is JSON. */
  putBytes<T = any>(path: string, bytes: Uint8Array, headers?: Record<string, string>): Promise<T>
  /** GET raw bytes (`GET /v1/blobs/:sha256`, optionally with a `range` header). */
  getBytes(path: string, headers?: Record<string, string>): Promise<Uint8Array>
  /**
   * POST JSON and get the whole answer, whatever its status: status, headers (lower-case
   * names) and body text. For protocols that speak in headers (x402's PAYMENT-* headers).
   */
  exchange(path: string, body: unknown, headers?: Record<string, string>): Promise<Exchange>
}

export type Exchange = { status: number; headers: Record<string, string>; text: string }

type FetchBody = NonNullable<Parameters<typeof fetch>[1]>['body']

export const defaultNodeUrl = (): string => process.env.SINEW_NODE ?? 'http://127.0.0.1:8545'

/** `NodeApi` over the network. */
export class NodeClient implements NodeApi {
  constructor(readonly url: string = defaultNodeUrl()) {
    this.url = url.replace(/\/$/, '')
  }

  async get<T = any>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  async post<T = any>(path: string, body: unknown, headers?: Record<string, string>): Promise<T> {
    if (body === undefined) return this.request<T>('POST', path, undefined, headers)
    return this.request<T>('POST', path, JSON.stringify(body), { 'content-type': 'application/json', ...headers })
  }

  /** PUT raw bytes, e.g. to `/v1/blobs?sha256=…` (with its upload permit header); the answer is JSON. */
  async putBytes<T = any>(path: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<T> {
    return this.request<T>('PUT', path, bytes, { 'content-type': 'application/octet-stream', ...headers })
  }

  /** GET raw bytes, e.g. `/v1/blobs/<sha256>` (with a `range` header for a prefix). */
  async getBytes(path: string, headers: Record<string, string> = {}): Promise<Uint8Array> {
    const response = await this.fetch('GET', path, undefined, headers)
    if (!response.ok) throw errorFromResponse(response.status, await response.text())
    return new Uint8Array(await response.arrayBuffer())
  }

  async exchange(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Exchange> {
    const response = await this.fetch('POST', path, JSON.stringify(body), { 'content-type': 'application/json', ...headers })
    const h: Record<string, string> = {}
    response.headers.forEach((value, name) => {
      h[name] = value
    })
    return { status: response.status, headers: h, text: await response.text() }
  }

  private async request<T>(method: string, path: string, body?: string | Uint8Array, headers: Record<string, string> = {}): Promise<T> {
    const response = await this.fetch(method, path, body, headers)
    const text = await response.text()
    if (!response.ok) throw errorFromResponse(response.status, text)
    try {
      return (text ? JSON.parse(text) : undefined) as T
    } catch {
      throw new SinewError({ code: 'bad_response', message: `The node answered ${response.status} with non-JSON`, details: { body: text.slice(0, 200) } })
    }
  }

  private async fetch(method: string, path: string, body: string | Uint8Array | undefined, headers: Record<string, string>): Promise<Response> {
    try {
      // Typed as fetch's own body type: with the DOM lib (test/openapi.test.ts checks src/client so) a Uint8Array must name its buffer kind.
      return await fetch(this.url + path, { method, headers, ...(body === undefined ? {} : { body: body as FetchBody }) })
    } catch (e) {
      throw new SinewError({
        code: 'node_unreachable',
        message: `Cannot reach the node at ${this.url}`,
        details: { url: this.url, reason: String((e as Error).cause ?? (e as Error).message) },
        hint: 'Start one with `npm start` / `sinew node`, or pass --node URL (or set SINEW_NODE).',
      })
    }
  }
}

export type TypesInfo = {
  domain: { name: string; version: string; chainId: string }
  kinds: Record<string, { primaryType: string; types: Record<string, { name: string; type: string }[]> }>
}

/**
 * A wire value fits its EIP-712 type, checked before signing so a mistyped id (a
 * placeholder pasted as is, a truncated hash) is named here instead of surfacing as a
 * signing library's error. The node checks everything again.
 */
function checkWireField(name: string, type: string, value: unknown): void {
  const fail = (expected: string) => {
    throw new SinewError({
      code: 'invalid_field',
      message: `${name} must be ${expected}, got ${JSON.stringify(value)?.slice(0, 80)}`,
      details: { field: name, type, expected },
    })
  }
  if (type.endsWith('[]')) {
    if (!Array.isArray(value)) fail(`a list (${type})`)
    ;(value as unknown[]).forEach((v, i) => checkWireField(`${name}[${i}]`, type.slice(0, -2), v))
    return
  }
  if (type === 'address') {
    if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(value)) fail('an address (0x and 40 hex digits)')
  } else if (/^bytes\d+$/.test(type)) {
    const n = Number(type.slice(5))
    if (typeof value !== 'string' || !new RegExp(`^0x[0-9a-fA-F]{${2 * n}}$`).test(value)) fail(`0x and ${2 * n} hex digits (${type})`)
  } else if (type === 'bytes') {
    if (typeof value !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(value)) fail('0x and an even number of hex digits (bytes)')
  } else if (/^uint\d*$/.test(type)) {
    if (typeof value !== 'string' || !/^(0|[1-9][0-9]*)$/.test(value)) fail(`a non-negative decimal integer string (${type})`)
  } else if (/^int\d*$/.test(type)) {
    if (typeof value !== 'string' || !/^(0|-?[1-9][0-9]*)$/.test(value)) fail(`a decimal integer string (${type})`)
  } else if (type === 'bool') {
    if (typeof value !== 'boolean') fail('true or false')
  } else if (type === 'string') {
    if (typeof value !== 'string') fail('a string')
  }
}

/**
 * Signs a tx with viem from the node's published types, exactly as a wallet would, and
 * returns the wire envelope (with `from` and `chainId` so a mismatch is named). With
 * `delegator`, signs as that account's session key: the EIP-712 struct ActFor {delegator,
 * tx} (GET /v1/types `actFor`), and the envelope names the delegator.
 */
export async function signEnvelope(
  privateKey: Hex,
  types: TypesInfo,
  type: string,
  wireMessage: Record<string, string | boolean | unknown>,
  delegator?: string,
) {
  const kind = types.kinds[type]
  if (!kind) throw new SinewError({ code: 'unknown_tx_type', message: `The node does not accept ${type}` })
  const fields = kind.types[type]
  const message: Record<string, unknown> = {}
  for (const f of fields) {
    checkWireField(f.name, f.type, wireMessage[f.name])
    message[f.name] = /^u?int\d*$/.test(f.type) ? BigInt(wireMessage[f.name] as string) : wireMessage[f.name]
  }
  // Loaded here, not at the top: only commands that sign pay for viem's accounts module.
  const { privateKeyToAccount } = await import('viem/accounts')
  const account = privateKeyToAccount(privateKey)
  const domain = { name: types.domain.name, version: types.domain.version, chainId: BigInt(types.domain.chainId) }
  const signature = delegator
    ? await account.signTypedData({
        domain,
        types: {
          ...kind.types,
          ActFor: [
            { name: 'delegator', type: 'address' },
            { name: 'tx', type },
          ],
        },
        primaryType: 'ActFor',
        message: { delegator, tx: message },
      } as any)
    : await account.signTypedData({ domain, types: kind.types, primaryType: type, message } as any)
  return {
    type,
    message: wireMessage,
    signature,
    from: account.address.toLowerCase(),
    chainId: types.domain.chainId,
    ...(delegator ? { delegator: delegator.toLowerCase() } : {}),
  }
}
