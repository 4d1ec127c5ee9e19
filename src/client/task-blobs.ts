/**
 * Task specs and results as blobs in the node's blob store. A task on the ledger carries
 * only the sha256 of its spec and result; the bytes travel through `PUT /v1/blobs` and
 * `GET /v1/blobs/:sha256`, by way of `NodeApi`, so the MCP tools (both transports) and the
 * CLI share this code. Everything read is checked against the hash the ledger holds.
 */
import { isSinewError, sha256, utf8, SinewError, type Hex, type TxEnvelope } from '../core/index.ts'
import type { NodeApi } from './node-client.ts'

/** Where a task's spec or result bytes are: `stored` on this node or not, and the blob route that serves them. */
export type BlobRef = { hash: Hex; stored: boolean; size: number | null; url: string }

/** get_task: texts up to this size come inline; bigger ones only as a URL. */
export const INLINE_TEXT_BYTES = 64 * 1024

export type StoredBlob = { hash: Hex; size: number; created: boolean; url: string }

/**
 * Stores bytes in the node's blob store with their sha256 declared, so bytes changed on
 * the way are refused (`hash_mismatch`) rather than stored under another hash. `permit` is
 * the signed tx that names them (PostTask, SubmitResult): the node stores bytes only for
 * such a tx (docs/datanets.md#uploads).
 */
export async function storeBlob(api: NodeApi, bytes: Uint8Array, permit: TxEnvelope): Promise<StoredBlob> {
  const sha = sha256(bytes).slice(2)
  // Loaded here, not at the top: every CLI command imports this module, only uploads need Datanets' wire form of the permit.
  const { uploadPermitHeader } = await import('../datanets/index.ts')
  const r = await api.putBytes(`/v1/blobs?sha256=${sha}`, bytes, uploadPermitHeader(permit))
  return { hash: r.contentHash, size: r.size, created: r.created, url: `/v1/blobs/${r.sha256}` }
}

/**
 * The text a caller passed next to a tx it signed must be what it signed: otherwise the
 * task would point at bytes nobody has (`invalid_field`, raised before anything is written).
 */
export function checkSignedHash(text: string, signed: unknown, field: string, signedField: string): Hex {
  const actual = sha256(text)
  if (typeof signed !== 'string' || signed.toLowerCase() !== actual) {
    throw new SinewError({
      code: 'invalid_field',
      message: `${field} hashes to ${actual}, not to the signed ${signedField}`,
      details: { field, sha256: actual, signed: typeof signed === 'string' ? signed : null, signedField },
      hint: `Sign the sha256 of exactly these UTF-8 bytes as ${signedField.split('.').pop()}, or pass the text you signed.`,
    })
  }
  return actual
}

/** A blob reference with what became of its text: `note` says why there is none, or that it was cut. */
export type BlobText = BlobRef & { truncated?: boolean; note?: string }

/**
 * The text of a blob, if this node has it and it is UTF-8. Up to `maxBytes` it is fetched
 * whole and its hash checked; a bigger one gives no text, or with `preview` its first
 * `maxBytes` (cut at a character boundary, `truncated: true`).
 */
export async function readBlobText(
  api: NodeApi,
  ref: BlobRef,
  opts: { maxBytes: number; preview?: boolean },
): Promise<{ blob: BlobText; text: string | null }> {
  if (!ref.stored || ref.size === null) return { blob: { ...ref, note: 'not stored on this node' }, text: null }
  const whole = ref.size <= opts.maxBytes
  if (!whole && !opts.preview) {
    return { blob: { ...ref, note: `${ref.size} bytes, over the ${opts.maxBytes}-byte inline limit: GET ${ref.url}` }, text: null }
  }
  let bytes: Uint8Array
  try {
    bytes = await api.getBytes(ref.url, whole ? {} : { range: `bytes=0-${opts.maxBytes - 1}` })
  } catch (e) {
    if (!isSinewError(e)) throw e
    return { blob: { ...ref, note: `could not be read: ${e.shortMessage} (${e.code})` }, text: null }
  }
  // The node re-hashes every read; checking again here covers a node at the other end of a network.
  if (whole && sha256(bytes) !== ref.hash.toLowerCase()) {
    return { blob: { ...ref, note: `the node served ${bytes.length} bytes that do not hash to ${ref.hash}` }, text: null }
  }
  let text: string
  try {
    // stream: a prefix may end inside a character; that tail is left out, not an error.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes, { stream: !whole })
  } catch {
    return { blob: { ...ref, note: `not UTF-8 text (${ref.size} bytes): GET ${ref.url}` }, text: null }
  }
  if (whole) return { blob: ref, text }
  return { blob: { ...ref, truncated: true, note: `the first ${utf8(text).length} of ${ref.size} bytes: GET ${ref.url} for all of it` }, text }
}

/**
 * A task view (`GET /v1/tasks/:id`) with the text of its spec and of its result (the one
 * waiting for verdicts, or the accepted one), where this node has them.
 */
export async function withTaskTexts<T extends { specBlob: BlobRef; resultBlob: BlobRef | null }>(
  api: NodeApi,
  view: T,
  opts: { maxBytes: number; preview?: boolean },
): Promise<Omit<T, 'specBlob' | 'resultBlob'> & { specBlob: BlobText; resultBlob: BlobText | null; specText: string | null; resultText: string | null }> {
  const [spec, result] = await Promise.all([readBlobText(api, view.specBlob, opts), view.resultBlob ? readBlobText(api, view.resultBlob, opts) : undefined])
  return { ...view, specBlob: spec.blob, resultBlob: result?.blob ?? null, specText: spec.text, resultText: result?.text ?? null }
}
