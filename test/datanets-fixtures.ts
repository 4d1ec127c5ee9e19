/**
 * Datanets over real HTTP, as a client does it: EIP-712 txs signed with viem against the
 * node's /v1/types, the Contribute signed first and sent as the upload's authorisation
 * (header `x-sinew-upload-tx`) with the bytes to PUT /v1/blobs, then submitted through
 * POST /v1/datanets/:id/contributions, and a version waited on until its index is built.
 * `publishDatanetVersion` does the whole path (create, contribute, accept, publish, ready).
 */
import { createHash } from 'node:crypto'
import { privateKeyToAccount } from 'viem/accounts'
import type { Hex } from '../src/core/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { http } from './helpers.ts'

export type HttpResult = { status: number; json: any }
export type SignedEnvelope = { type: string; message: Record<string, unknown>; signature: Hex }

/** The upload authorisation header: the signed tx that will reference the blob, base64 JSON. */
export const permitHeader = (tx: SignedEnvelope): Record<string, string> => ({ 'x-sinew-upload-tx': Buffer.from(JSON.stringify(tx)).toString('base64') })

export type DatanetsClient = {
  url: string
  /** A signed envelope of `type`, with the signer's current nonce (unless `message` has one). */
  sign(key: Hex, type: string, message: Record<string, unknown>): Promise<SignedEnvelope>
  /** Signs and posts to /v1/tx. */
  submit(key: Hex, type: string, message: Record<string, unknown>): Promise<HttpResult>
  /** PUT /v1/blobs, authorised by `permit` (a signed tx naming the blob) when given. */
  upload(bytes: Buffer | string, query?: string, permit?: SignedEnvelope): Promise<HttpResult>
  /** Signs Contribute, uploads the bytes with it as the permit, then posts it to /v1/datanets/:id/contributions. */
  contribute(key: Hex, datanet: string, content: Buffer | string, title: string, mediaType: string): Promise<HttpResult>
  /** The version view once its build is ready or failed (throws after `timeoutMs`). */
  waitReady(datanet: string, n: number, timeoutMs?: number): Promise<any>
}

/**
 * Hands a signed tx straight to a node's sequencer, past its admission checks: as a node
 * that does not check blobs would take it (the ledger itself cannot see blobs). Its hash.
 */
export async function submitPastAdmission(node: RunningNode, tx: SignedEnvelope): Promise<Hex> {
  const codec = node.node.chain.codec
  const outcome = await node.node.sequencer!.submit([codec.recover(codec.decode(tx))])[0]
  if (!outcome.ok) throw outcome.error
  return outcome.ack.hash
}

export async function datanetsClient(url: string): Promise<DatanetsClient> {
  const types = (await http(`${url}/v1/types`)).json
  const sign: DatanetsClient['sign'] = async (key, type, message) => {
    const account = privateKeyToAccount(key)
    const nonce = (await http(`${url}/v1/accounts/${account.address}`)).json.nonce as string
    const kind = types.kinds[type]
    const wire: Record<string, unknown> = { nonce, ...message }
    const typed: Record<string, unknown> = {}
    for (const f of kind.types[type]) typed[f.name] = /^u?int\d*$/.test(f.type) ? BigInt(wire[f.name] as string) : wire[f.name]
    const signature = await account.signTypedData({
      domain: { name: 'Sinew', version: '1', chainId: BigInt(types.domain.chainId) },
      types: kind.types,
      primaryType: type,
      message: typed,
    } as any)
    return { type, message: wire, signature }
  }
  const upload: DatanetsClient['upload'] = async (bytes, query = '', permit) => {
    const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
    const headers = { 'content-type': 'application/octet-stream', ...(permit ? permitHeader(permit) : {}) }
    const r = await fetch(`${url}/v1/blobs${query}`, { method: 'PUT', headers, body })
    return { status: r.status, json: (await r.json()) as any }
  }
  return {
    url,
    sign,
    submit: async (key, type, message) => http(`${url}/v1/tx`, { body: await sign(key, type, message) }),
    upload,
    async contribute(key, datanet, content, title, mediaType) {
      const bytes = typeof content === 'string' ? Buffer.from(content) : content
      const contentHash = `0x${createHash('sha256').update(bytes).digest('hex')}`
      const tx = await sign(key, 'Contribute', { datanet, contentHash, title, mediaType, size: String(bytes.length) })
      const up = await upload(bytes, '', tx)
      if (up.status !== 201 && up.status !== 200) return up
      return http(`${url}/v1/datanets/${datanet}/contributions`, { body: tx })
    },
    async waitReady(datanet, n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const v = await http(`${url}/v1/datanets/${datanet}/versions/${n}`)
        if (v.json.build.state === 'ready' || v.json.build.state === 'failed') return v.json
        if (Date.now() > deadline) throw new Error(`version not ready: ${JSON.stringify(v.json)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    },
  }
}

/**
 * Creates a Datanet (owner's signed CreateDatanet), has each doc contributed by its author
 * (stake locked), accepts them all (stakes back), publishes version 1 and waits until its
 * index is ready. Returns the Datanet id, the version ref `<id>@1`, and each doc key's
 * contribution id (the index's document id).
 */
export async function publishDatanetVersion(
  url: string,
  o: { owner: Hex; name: string; docs: { key: string; text: string; author: Hex }[]; stake?: bigint },
): Promise<{ datanet: Hex; ref: string; ids: Record<string, Hex> }> {
  const c = await datanetsClient(url)
  const ok = (r: HttpResult, what: string) => {
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`)
    return r.json
  }
  const created = ok(
    await c.submit(o.owner, 'CreateDatanet', {
      name: o.name,
      description: 'test Datanet',
      license: 'CC0-1.0',
      mediaTypes: ['text/plain'],
      maxSize: '1000000',
      stake: (o.stake ?? 0n).toString(),
    }),
    'CreateDatanet',
  )
  const datanet = created.receipt.result.datanet as Hex
  const ids: Record<string, Hex> = {}
  for (const d of o.docs) ids[d.key] = ok(await c.contribute(d.author, datanet, d.text, d.key, 'text/plain'), `Contribute ${d.key}`).contribution
  for (const d of o.docs) ok(await c.submit(o.owner, 'Review', { contribution: ids[d.key], accept: true, reason: '' }), `Review ${d.key}`)
  const published = ok(await c.submit(o.owner, 'PublishVersion', { datanet }), 'PublishVersion')
  const n = published.receipt.result.version as number
  const v = await c.waitReady(datanet, n)
  if (v.build.state !== 'ready') throw new Error(`index build failed: ${JSON.stringify(v.build)}`)
  return { datanet, ref: `${datanet}@${n}`, ids }
}
