/**
 * The web app (web/, built into web/dist by `npm run web:build`) served at `/`: its files
 * with their content types, hashed assets (/assets/*) cached for a year as immutable, and
 * index.html (no-cache) for every other GET that is not the API's, so the app's own paths
 * (/datanets/0x…, /playground) load it and the app routes in the page. The API's prefixes
 * (/v1, /mcp, /a2a, /.well-known, /openapi.json) never fall back to the app: an unknown API path is still a
 * typed 404. Host and Origin checks (access.ts) run before this as for every route.
 */
import { readFile, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { maxParamLength, pathParamTooLong } from './errors.ts'

/** Where `npm run web:build` writes the app. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist', import.meta.url))

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

/** Paths that belong to the API: never answered with the app. */
const API_PREFIXES = ['/v1/', '/v1', '/mcp', '/a2a', '/.well-known/', '/openapi.json']

export const isApiPath = (path: string): boolean => API_PREFIXES.some((p) => path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`))

/**
 * The page may talk to its own node only (connect-src 'self'); wallets inject their
 * provider from the extension, which a page's CSP does not govern. No framing (clickjacking
 * a signing page).
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

export type WebAppOptions = { root?: string }

/** Serves the built app from `root` (default web/dist); without a build, `/` says how to make one. */
export async function webAppRoutes(app: FastifyInstance, options: WebAppOptions = {}): Promise<void> {
  const root = resolve(options.root ?? WEB_DIST)

  // Text files gzipped once each (the build is a few hundred KB, fixed while the node runs).
  const gzipped = new Map<string, Promise<Buffer>>()
  const send = async (request: FastifyRequest, reply: FastifyReply, file: string, cache: string) => {
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream'
    reply.header('content-type', type)
    reply.header('cache-control', cache)
    reply.header('vary', 'Origin, Accept-Encoding')
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v)
    const compressible = /^(text\/|application\/json|image\/svg)/.test(type)
    if (compressible && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
      let body = gzipped.get(file)
      if (!body) {
        body = readFile(file).then((b) => gzipSync(b, { level: 9 }))
        gzipped.set(file, body)
        body.catch(() => gzipped.delete(file))
      }
      reply.header('content-encoding', 'gzip')
      return reply.send(await body)
    }
    return reply.send(await readFile(file))
  }

  const index = async (request: FastifyRequest, reply: FastifyReply) => {
    const file = join(root, 'index.html')
    if (!(await isFile(file))) {
      return reply
        .code(503)
        .header('content-type', 'text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send('The Sinew web app is not built: run `npm run web:build` (npm install does it), then reload. The API is at /v1 (see /openapi.json).\n')
    }
    return send(request, reply, file, 'no-cache')
  }

  app.get('/', { schema: { hide: true } }, async (request, reply) => index(request, reply))
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const path = decodeURIComponent(request.url.split('?')[0])
    if (isApiPath(path)) {
      // An API route whose parameter is too long for the router lands here: the same 414 as the router's.
      if (path.split('/').some((segment) => segment.length > maxParamLength(request))) {
        const e = pathParamTooLong(request)
        return reply.code(e.status).send(e.toJSON())
      }
      return reply.callNotFound()
    }
    const file = resolve(root, `.${path}`)
    // Only files inside the build: `..` and absolute tricks resolve outside and fall back.
    if (file.startsWith(root + sep) && (await isFile(file))) {
      const immutable = path.startsWith('/assets/')
      return send(request, reply, file, immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    }
    // A missing asset is a 404 (a stale page asking for an old chunk must not get HTML as JS).
    if (path.startsWith('/assets/') || extname(path) !== '') return reply.callNotFound()
    return index(request, reply)
  })
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch {
    return false
  }
}
