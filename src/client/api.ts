/**
 * A typed client of the node's HTTP API, from the types openapi-typescript generates from
 * the node's /openapi.json (./openapi-types.ts, `npm run openapi:types`): the path, its
 * parameters, the body and the answer of every call are checked at compile time against
 * the document the node serves.
 *
 *   const api = createApiClient('http://127.0.0.1:8545')
 *   const tx = await api.get('/v1/tx/{hash}', { path: { hash } })   // tx.receipt.result …
 *   const ack = await api.post('/v1/tx', { body: envelope })        // ack.height: string
 *
 * An error answer throws the node's error (core errorFromResponse: a RemoteError with its
 * code, message, details and hint), as the CLI's client does. It runs in Node and in a
 * browser (fetch only; it imports core's error module alone, not core's Node-only index).
 */
import { errorFromResponse } from '../core/errors.ts'
import type { paths } from './openapi-types.ts'

export type { components, paths } from './openapi-types.ts'

type Method = 'get' | 'post' | 'put'

/** The documented paths that have an operation for `method`. */
export type PathWith<M extends Method> = { [P in keyof paths]: undefined extends paths[P][M] ? never : P }[keyof paths]

/** The operation object of `method` on `path`, as generated. */
export type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>

type Part<O, K extends 'path' | 'query'> = O extends { parameters: { [k in K]?: infer T } } ? T : never
type JsonBody<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never

/** What a call takes: the path parameters, the query and the JSON body the operation declares (each only if it has one). */
export type CallInit<O> = Present<{ path: Part<O, 'path'>; query: OmittableQuery<Part<O, 'query'>>; body: JsonBody<O> }> & { headers?: Record<string, string> }

// A query whose parameters are all optional may be left out whole.
type OmittableQuery<Q> = [Q] extends [never] ? never : {} extends Q ? Q | undefined : Q

// Drops the parts an operation lacks (never) and makes those it may omit optional.
type Present<T> = { [K in keyof T as Has<T[K]> extends true ? (undefined extends T[K] ? never : K) : never]: T[K] } & {
  [K in keyof T as Has<T[K]> extends true ? (undefined extends T[K] ? K : never) : never]?: T[K]
}
type Has<T> = [Exclude<T, undefined>] extends [never] ? false : true

/** The JSON of an operation's success answer (200, 201). */
export type Answer<O> = O extends { responses: infer R } ? SuccessJson<R[keyof R & (200 | 201)]> : never
type SuccessJson<R> = R extends { content: { 'application/json': infer J } } ? J : never

type Args<O> = {} extends CallInit<O> ? [init?: CallInit<O>] : [init: CallInit<O>]

export type ApiClient = {
  get<P extends PathWith<'get'>>(path: P, ...init: Args<Operation<P, 'get'>>): Promise<Answer<Operation<P, 'get'>>>
  post<P extends PathWith<'post'>>(path: P, ...init: Args<Operation<P, 'post'>>): Promise<Answer<Operation<P, 'post'>>>
  put<P extends PathWith<'put'>>(path: P, ...init: Args<Operation<P, 'put'>>): Promise<Answer<Operation<P, 'put'>>>
}

type AnyInit = { path?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown; headers?: Record<string, string> }

/** A typed client of the node at `url`. `fetch` may be given (a browser's, a test's). */
export function createApiClient(url: string, options: { fetch?: typeof fetch; headers?: Record<string, string> } = {}): ApiClient {
  const base = url.replace(/\/$/, '')
  const send = async (method: string, path: string, init: AnyInit = {}): Promise<any> => {
    let target = base + path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(String(init.path?.[name])))
    const query = new URLSearchParams()
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined && v !== null) query.set(k, String(v))
    if (query.size > 0) target += `?${query}`
    const headers: Record<string, string> = { ...options.headers, ...init.headers }
    if (init.body !== undefined) headers['content-type'] = 'application/json'
    const response = await (options.fetch ?? fetch)(target, { method, headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) })
    const text = await response.text()
    if (!response.ok) throw errorFromResponse(response.status, text)
    return text ? JSON.parse(text) : undefined
  }
  return {
    get: (path, ...init) => send('GET', path, init[0] as AnyInit),
    post: (path, ...init) => send('POST', path, init[0] as AnyInit),
    put: (path, ...init) => send('PUT', path, init[0] as AnyInit),
  }
}
