/**
 * A small HTTP client for the node API, used by the CLI: answers become values, error
 * bodies become SinewErrors with the node's code, message and details.
 */
import { privateKeyToAccount } from 'viem/accounts'
import { SinewError, UnavailableError, type Hex } from '../core/index.ts'

export const defaultNodeUrl = (): string => process.env.SINEW_NODE ?? 'http://127.0.0.1:8545'

export class NodeClient {
  constructor(readonly url: string = defaultNodeUrl()) {
    this.url = url.replace(/\/$/, '')
  }

  async get<T = any>(path: string): Promise<T> {
    return this.request<T>('GET', path)
  }

  async post<T = any>(path: string, body: unknown, headers?: Record<string, string>): Promise<T> {
    return this.request<T>('POST', path, body, headers)
  }

  private async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let response: Response
    try {
      response = await fetch(this.url + path, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
    } catch (e) {
      throw new UnavailableError('node_unreachable', `Cannot reach the node at ${this.url}`, {
        details: { url: this.url, reason: String((e as Error).cause ?? (e as Error).message) },
        hint: 'Start one with `npm start` / `sinew node`, or pass --node URL (or set SINEW_NODE).',
      })
    }
    const text = await response.text()
    let json: any
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      throw new SinewError('bad_response', `The node answered ${response.status} with non-JSON`, 502, { details: { body: text.slice(0, 200) } })
    }
    if (!response.ok) {
      const err = json?.error ?? {}
      throw new SinewError(err.code ?? 'http_error', err.message ?? `HTTP ${response.status}`, response.status, { details: err.details ?? {} })
    }
    return json as T
  }
}

export type TypesInfo = {
  domain: { name: string; version: string; chainId: string }
  kinds: Record<string, { primaryType: string; types: Record<string, { name: string; type: string }[]> }>
}

/**
 * Signs a tx with viem from the node's published types, exactly as a wallet would, and
 * returns the wire envelope (with `from` and `chainId` so a mismatch is named).
 */
export async function signEnvelope(privateKey: Hex, types: TypesInfo, type: string, wireMessage: Record<string, string | boolean | unknown>) {
  const kind = types.kinds[type]
  if (!kind) throw new SinewError('unknown_tx_type', `The node does not accept ${type}`, 400)
  const fields = kind.types[type]
  const message: Record<string, unknown> = {}
  for (const f of fields) message[f.name] = /^u?int\d*$/.test(f.type) ? BigInt(wireMessage[f.name] as string) : wireMessage[f.name]
  const account = privateKeyToAccount(privateKey)
  const signature = await account.signTypedData({
    domain: { name: types.domain.name, version: types.domain.version, chainId: BigInt(types.domain.chainId) },
    types: kind.types,
    primaryType: type,
    message,
  } as any)
  return { type, message: wireMessage, signature, from: account.address.toLowerCase(), chainId: types.domain.chainId }
}
