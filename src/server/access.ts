/**
 * Who may talk to the node over HTTP, checked once for every route (one `onRequest` hook):
 *
 * - **Host** (DNS rebinding): a web page on `evil.example.com` whose name the attacker
 *   re-points at 127.0.0.1 reaches a local node with `Host: evil.example.com`. The node
 *   answers only a Host that is `localhost`, an IP address (an address cannot be rebound),
 *   the name it binds (`host`), or a name the operator listed in `allowedHosts`. The port
 *   does not matter: the attacker's URL carries the node's port anyway, and port-mapped
 *   setups (containers, SSH tunnels) reach the node on another one.
 * - **Origin**: a page on another origin calling the node directly carries its `Origin`.
 *   Only the node's own origin and those listed in `allowedOrigins` get through; requests
 *   without an Origin (curl, SDKs, servers) are not a browser's and pass.
 * - **CORS**: an allowed origin gets its preflight answered and may read the answers, with
 *   the headers a client needs exposed; never with credentials (the API has no cookies).
 *   The headers go on the raw response, so hijacked answers (MCP, SSE streams, the
 *   replica's pass-through) carry them too.
 *
 * `*` in either list turns that check off (any host, any origin).
 */
import { isIP } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { parseHost, SinewError, type Logger } from '../core/index.ts'

export type AccessPolicy = {
  /** The address the node binds (`host` setting): its name is always answered. */
  boundHost: string
  /** Extra names for the Host header, normalised (`name` or `name:port`), or `*`. */
  allowedHosts: readonly string[]
  /** Extra web origins (`scheme://host[:port]`), or `*`. */
  allowedOrigins: readonly string[]
}

/** Binding these listens on every interface: no single name to answer to. */
const WILDCARD_BINDS = new Set(['0.0.0.0', '::', '[::]'])

/** Response headers a browser client reads: the receipt id, when to retry, the MCP session. */
const EXPOSED_HEADERS = 'x-sinew-receipt, x-sinew-served-by, retry-after, mcp-session-id, mcp-protocol-version, payment-required, payment-response'
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS'
/** Seconds a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_S = '600'

export function isHostAllowed(host: string, policy: AccessPolicy): boolean {
  if (policy.allowedHosts.includes('*')) return true
  const url = parseHost(host)
  if (!url) return false
  const name = url.hostname
  if (name === 'localhost' || isIP(name.replace(/^\[|\]$/g, '')) !== 0) return true
  if (!WILDCARD_BINDS.has(policy.boundHost) && name === policy.boundHost.toLowerCase()) return true
  return policy.allowedHosts.includes(name) || policy.allowedHosts.includes(url.host)
}

/** `origin` may call the node reached under `host` (already allowed): it is listed, or it is the node's own. */
export function isOriginAllowed(origin: string, host: string, policy: AccessPolicy): boolean {
  if (policy.allowedOrigins.includes('*')) return true
  const url = URL.parse(origin)
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return false
  if (policy.allowedOrigins.includes(url.origin)) return true
  // Same origin: the page was served by this node under the name the request is for.
  return URL.parse(`${url.protocol}//${host}`)?.host === url.host
}

const hostNotAllowed = (host: string) =>
  new SinewError({
    code: 'host_not_allowed',
    message: `This node does not answer to the host "${host}" (not in allowedHosts)`,
    details: { host, setting: 'allowedHosts' },
    hint: 'If this is a name of the node, its operator adds it to allowedHosts (SINEW_ALLOWED_HOSTS, --allowed-hosts). Otherwise this may be a DNS-rebinding attempt.',
  })

const originNotAllowed = (origin: string) =>
  new SinewError({
    code: 'origin_not_allowed',
    message: `Pages on the origin "${origin}" may not call this node (not in allowedOrigins)`,
    details: { origin, setting: 'allowedOrigins' },
    hint: "The node's operator lists the web origins allowed to call it in allowedOrigins (SINEW_ALLOWED_ORIGINS, --allowed-origins).",
  })

export function installAccessControl(app: FastifyInstance, policy: AccessPolicy, log: Logger): void {
  if (WILDCARD_BINDS.has(policy.boundHost) && policy.allowedHosts.length === 0) {
    log.warn(
      { host: policy.boundHost },
      'listening on every interface with no allowedHosts: requests are answered for localhost and IP addresses only; list the names this node is reached by in allowedHosts',
    )
  }
  const anyOrigin = policy.allowedOrigins.includes('*')
  app.addHook('onRequest', async (request, reply) => {
    const res = reply.raw
    res.setHeader('vary', 'Origin')
    // No Host: not a browser (HTTP/1.1 requires one, and Node refuses such a request itself).
    const host = request.headers.host
    if (host !== undefined && !isHostAllowed(host, policy)) throw hostNotAllowed(host)
    const origin = request.headers.origin
    if (origin === undefined) return
    if (!isOriginAllowed(origin, host ?? '', policy)) throw originNotAllowed(origin)
    res.setHeader('access-control-allow-origin', anyOrigin ? '*' : origin)
    res.setHeader('access-control-expose-headers', EXPOSED_HEADERS)
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined
    if (!preflight) return
    res.setHeader('access-control-allow-methods', ALLOWED_METHODS)
    const asked = request.headers['access-control-request-headers']
    if (asked) res.setHeader('access-control-allow-headers', asked)
    res.setHeader('access-control-max-age', PREFLIGHT_MAX_AGE_S)
    return reply.code(204).send()
  })
}
