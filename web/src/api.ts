/**
 * The node's HTTP API as the page uses it: the typed client of src/client (same origin: the
 * node serves this app), with a node that cannot be reached said plainly, plus the two calls
 * the typed client does not cover: an upload with progress, and a streamed chat.
 */
import { createApiClient } from '../../src/client/api.ts'
import { errorFromResponse, RemoteError } from '../../src/core/errors.ts'

export type { components } from '../../src/client/api.ts'
export type Schemas = import('../../src/client/api.ts').components['schemas']

/** A node that did not answer at all (stopped, restarted, network gone). */
export const unreachable = (cause: unknown) =>
  new RemoteError({
    status: 0,
    code: 'node_unreachable',
    message: `Cannot reach the Sinew node at ${location.origin}`,
    hint: 'The node may have stopped or restarted: check that it is running, then try again. Nothing was sent.',
    details: { cause: String(cause) },
  })

const guardedFetch: typeof fetch = async (input, init) => {
  try {
    return await fetch(input, init)
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    throw unreachable(e)
  }
}

export const api = createApiClient(location.origin, { fetch: guardedFetch })

/** A short human sentence of any error: the node's message and hint, or the wallet's. */
export function describeError(e: unknown): { message: string; hint?: string; code?: string } {
  if (e instanceof RemoteError) return { message: e.message, hint: e.hint, code: e.code }
  const any = e as { shortMessage?: string; message?: string; hint?: string; code?: string }
  return { message: any?.shortMessage ?? any?.message ?? String(e), hint: any?.hint, code: typeof any?.code === 'string' ? any.code : undefined }
}

/** PUT /v1/blobs with the signed tx as the upload permit, reporting progress (fetch has no upload progress). */
export function uploadBlob(bytes: Blob, permit: unknown, onProgress: (sent: number, total: number) => void): Promise<Schemas['StoredBlob']> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('PUT', '/v1/blobs')
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    xhr.setRequestHeader('x-sinew-upload-tx', btoa(JSON.stringify(permit)))
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : bytes.size)
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(JSON.parse(xhr.responseText))
      else reject(errorFromResponse(xhr.status, xhr.responseText))
    }
    xhr.onerror = () => reject(unreachable('upload failed'))
    xhr.send(bytes)
  })
}

export type ChatResult = { text: string; receipt?: string; sinew?: Record<string, unknown> }

/** POST /v1/chat/completions with stream: true; `onText` gets the text so far after each chunk. */
export async function streamChat(
  o: { apiKey: string; model: string; prompt: string; maxTokens?: number; signal?: AbortSignal },
  onText: (text: string) => void,
): Promise<ChatResult> {
  const response = await guardedFetch('/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey}` },
    body: JSON.stringify({ model: o.model, stream: true, max_tokens: o.maxTokens ?? 64, messages: [{ role: 'user', content: o.prompt }] }),
    signal: o.signal,
  })
  if (!response.ok || !response.body) throw errorFromResponse(response.status, await response.text())
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  const result: ChatResult = { text: '', receipt: response.headers.get('x-sinew-receipt') ?? undefined }
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += value
    let end = buffer.indexOf('\n\n')
    while (end >= 0) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      end = buffer.indexOf('\n\n')
      const data = frame
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trimStart())
        .join('\n')
      if (!data || data === '[DONE]') continue
      const chunk = JSON.parse(data)
      if (chunk.error) throw errorFromResponse(502, JSON.stringify({ error: chunk.error }))
      const delta = chunk.choices?.[0]?.delta?.content
      if (typeof delta === 'string' && delta) {
        result.text += delta
        onText(result.text)
      }
      if (chunk.sinew) {
        result.sinew = chunk.sinew
        result.receipt = chunk.sinew.receipt ?? result.receipt
      }
    }
  }
  return result
}
