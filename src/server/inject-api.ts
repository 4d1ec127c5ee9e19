/** The node's own HTTP API called in-process, for the protocol front ends (MCP, A2A) that speak to the node through it. */
import type { FastifyInstance } from 'fastify'
import { errorFromResponse } from '../core/index.ts'
import type { NodeApi } from '../client/index.ts'

/**
 * The node's own HTTP API, called in-process (same routes, same errors, no socket). The
 * calls carry the MCP client's address, so per-client limits (failed API keys) count
 * against it and not against the node itself.
 */
export function injectApi(app: FastifyInstance, remoteAddress?: string): NodeApi {
  const send = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object | Buffer, headers?: Record<string, string>) => {
    const res = await app.inject({
      method,
      url,
      ...(remoteAddress ? { remoteAddress } : {}),
      ...(headers ? { headers } : {}),
      ...(payload === undefined ? {} : { payload }),
    })
    if (res.statusCode >= 400) throw errorFromResponse(res.statusCode, res.body)
    return res
  }
  const json = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object | Buffer, headers?: Record<string, string>) => {
    const res = await send(method, url, payload, headers)
    return res.body ? JSON.parse(res.body) : undefined
  }
  return {
    get: (path) => json('GET', path),
    post: (path, body, headers) => json('POST', path, body as object | undefined, headers),
    putBytes: (path, bytes, headers) =>
      json('PUT', path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { 'content-type': 'application/octet-stream', ...headers }),
    getBytes: async (path, headers) => new Uint8Array((await send('GET', path, undefined, headers)).rawPayload),
    exchange: async (path, payload, headers) => {
      const res = await app.inject({ method: 'POST', url: path, ...(remoteAddress ? { remoteAddress } : {}), headers, payload: payload as object })
      const h = Object.fromEntries(Object.entries(res.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : String(v)]])))
      return { status: res.statusCode, headers: h, text: res.body }
    },
  }
}
