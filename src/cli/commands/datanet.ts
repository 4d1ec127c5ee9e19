/** `sinew datanet create|contribute|queue|review|exclude|publish|show|search|list|curator`: Datanets from the command line. */
import { Command } from 'commander'
import cliProgress from 'cli-progress'
import { createReadStream } from 'node:fs'
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import {
  errorFromResponse,
  formatUnits,
  isSinewError,
  parseUint,
  parseUnits,
  sha256,
  RemoteError,
  SinewError,
  type ErrorCode,
  type Hex,
} from '../../core/index.ts'
import { ALL_MEDIA_TYPES, ingest, MEDIA_TYPES, mediaTypeFromName, mediaTypeOfPath, uploadPermitHeader, type MediaType } from '../../datanets/index.ts'
import { parseAddress } from '../../ledger/index.ts'
import { NodeClient } from '../../client/index.ts'
import { inputFileSize, readInputFile } from '../files.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, signTx, withSigner, type SignerFlags } from './tx.ts'
import { withNode } from '../options.ts'

type Common = { node?: string; json?: boolean }

const bar = (format: string, json?: boolean) =>
  process.stderr.isTTY && !json
    ? new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined

async function resolveDatanet(client: NodeClient, ref: string): Promise<any> {
  return client.get(`/v1/datanets/${encodeURIComponent(ref)}`)
}

/**
 * Streams a file to PUT /v1/blobs with a progress bar, authorised by `permit` (the signed
 * Contribute that names it); answers {sha256, contentHash, size}.
 */
async function uploadFile(
  client: NodeClient,
  file: { path: string; size: number; contentHash: Hex },
  permit: { type: string; message: Record<string, unknown>; signature: string },
  json?: boolean,
): Promise<{ sha256: string; contentHash: string; size: number }> {
  const size = file.size
  const sha256 = file.contentHash.slice(2)
  const b = bar(`upload ${basename(file.path).slice(0, 30)} [{bar}] {percentage}% {value}/{total} bytes`, json)
  b?.start(size, 0)
  let sent = 0
  const stream = createReadStream(file.path).on('data', (d) => {
    sent += d.length
    b?.update(sent)
  })
  let response: Response
  try {
    response = await fetch(`${client.url}/v1/blobs?sha256=${sha256}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size), ...uploadPermitHeader(permit) },
      body: Readable.toWeb(stream) as ReadableStream,
      duplex: 'half',
    } as RequestInit)
  } catch (e) {
    b?.stop()
    throw new SinewError({ code: 'node_unreachable', message: `Cannot reach the node at ${client.url}`, details: { reason: String((e as Error).message) } })
  }
  b?.stop()
  const text = await response.text()
  if (!response.ok) throw errorFromResponse(response.status, text)
  return JSON.parse(text)
}

async function waitForBuild(client: NodeClient, id: string, version: number, json?: boolean): Promise<any> {
  const b = bar(`index v${version} {phase} [{bar}] {value}/{total}`, json)
  let started = false
  for (;;) {
    const v = await client.get(`/v1/datanets/${id}/versions/${version}`)
    const s = v.build
    if (s.state === 'ready' || s.state === 'failed') {
      if (started) b?.update(s.index?.documents ?? 0)
      b?.stop()
      return v
    }
    if (b) {
      if (!started) b.start(Math.max(1, s.total ?? 1), 0, { phase: s.phase ?? s.state })
      started = true
      b.setTotal(Math.max(1, s.total ?? 1))
      b.update(s.done ?? 0, { phase: s.phase ?? s.state })
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}

const SHORT_TYPES = Object.values(MEDIA_TYPES)
  .map((exts) => exts[0].slice(1))
  .join(', ')

/** `--media-type`: a short name (txt, md, …) or a full media type the node knows. */
function mediaTypeOfFlag(value: string): MediaType {
  const mediaType = mediaTypeFromName(value.trim())
  if (!mediaType) {
    throw new SinewError({
      code: 'unsupported_media_type',
      message: `--media-type ${value} is not a media type Datanets take`,
      details: { field: '--media-type', got: value, known: ALL_MEDIA_TYPES },
      hint: `Use one of ${SHORT_TYPES} (or the full media types: ${ALL_MEDIA_TYPES.join(', ')}).`,
    })
  }
  return mediaType
}

function mediaTypeOfFile(path: string): MediaType {
  const mediaType = mediaTypeOfPath(path)
  if (!mediaType) {
    throw new SinewError({
      code: 'unsupported_media_type',
      message: `Cannot tell the media type of ${path} from its extension`,
      details: { field: 'files', file: path, known: ALL_MEDIA_TYPES },
      hint: `Name it with one of the extensions ${SHORT_TYPES}, or pass --media-type.`,
    })
  }
  return mediaType
}

type LocalFile = { path: string; size: number; mediaType: MediaType }
/** What the CLI reads of GET /v1/datanets/:id and GET /v1/blobs/policy. */
type DatanetRules = { id: Hex; name: string; rules: { mediaTypes: string[]; maxSize: string; stake: string } }
type UploadPolicyView = { maxBlobBytes: number; usage?: { usedBytes: number; limitBytes: number } }
/** A contribution as the node shows it (GET …/queue, …/contributions). */
type ContributionLine = {
  id: Hex
  title: string
  author: string
  mediaType: string
  size: string
  blob: 'present' | 'missing' | 'size_mismatch' | 'unparseable'
  blobSize: number | null
  records: number | null
  ingestError?: { message: string }
  nearDuplicate?: { flagged: boolean; coverageBps: number; overlaps: { contribution: string }[] }
}

/**
 * Everything about the files that can be known before uploading any: the Datanet takes
 * their media type and size, the node's blob limit and the signer's upload quota fit them,
 * no file repeats another, and each one ingests as its media type (the node's own rules,
 * run here). Answers each file with its sha256.
 */
async function checkFiles(files: LocalFile[], d: DatanetRules, policy: UploadPolicyView): Promise<(LocalFile & { contentHash: Hex })[]> {
  const fail = (file: string, code: ErrorCode, message: string, details: Record<string, unknown>, hint?: string) =>
    new SinewError({ code, message: `${file}: ${message}`, details: { field: 'files', file, ...details }, hint })
  for (const f of files) {
    if (!d.rules.mediaTypes.includes(f.mediaType))
      throw fail(f.path, 'media_type_not_accepted', `${d.name} does not accept ${f.mediaType}`, { mediaType: f.mediaType, accepted: d.rules.mediaTypes })
    if (f.size === 0) throw fail(f.path, 'empty_blob', 'the file is empty', {})
    if (BigInt(f.size) > BigInt(d.rules.maxSize))
      throw fail(f.path, 'too_large', `${f.size} bytes is over ${d.name}'s limit of ${d.rules.maxSize}`, { size: f.size, maxSize: d.rules.maxSize })
    if (f.size > policy.maxBlobBytes)
      throw fail(f.path, 'blob_too_large', `${f.size} bytes is over the node's blob limit of ${policy.maxBlobBytes}`, {
        size: f.size,
        limitBytes: policy.maxBlobBytes,
      })
  }
  const out: (LocalFile & { contentHash: Hex })[] = []
  const seen = new Map<string, string>()
  for (const f of files) {
    const bytes = readInputFile(f.path, 'files')
    const contentHash = sha256(bytes)
    const twin = seen.get(contentHash)
    if (twin) throw fail(f.path, 'duplicate_contribution', `the same content as ${twin}`, { contentHash, sameAs: twin })
    seen.set(contentHash, f.path)
    try {
      await ingest(bytes, f.mediaType)
    } catch (e) {
      if (isSinewError(e)) throw fail(f.path, e.code, e.shortMessage, { mediaType: f.mediaType, ...e.details, field: 'files' }, e.hint)
      throw e
    }
    out.push({ ...f, contentHash })
  }
  const total = files.reduce((sum, f) => sum + f.size, 0)
  const room = policy.usage ? policy.usage.limitBytes - policy.usage.usedBytes : Number.POSITIVE_INFINITY
  if (total > room) {
    throw new SinewError({
      code: 'blob_quota_exceeded',
      message: `These files hold ${total} bytes; the signer's upload quota has room for ${room} more`,
      details: { quota: 'account', field: 'files', wantedBytes: total, ...policy.usage },
      hint: 'Contribute fewer files now, or later as older uploads leave the quota window (files the node already has cost nothing).',
    })
  }
  return out
}

/** An error about one file, naming it (and saying which files went in before it); the node's answers keep their code and status. */
function fileError(e: unknown, file: string, done: { file: string }[]): unknown {
  if (!isSinewError(e)) return e
  const before = done.length > 0 ? ` (${done.map((r) => r.file).join(', ')} contributed before it)` : ''
  const named = { message: `${file}: ${e.shortMessage}${before}`, details: { ...e.details, file, contributed: done }, hint: e.hint }
  return e instanceof RemoteError ? new RemoteError({ status: e.status, code: e.code, ...named }) : new SinewError({ code: e.code, ...named, cause: e })
}

function blobWords(c: ContributionLine): string {
  if (c.blob === 'size_mismatch') return `size mismatch: ${c.blobSize} bytes, declared ${c.size}`
  if (c.blob === 'unparseable') return `unparseable: ${c.ingestError?.message ?? ''}`
  return c.blob
}

function queueLines(c: ContributionLine): string[] {
  const dup = c.nearDuplicate?.flagged
    ? `  NEAR-DUPLICATE ${Math.floor(c.nearDuplicate.coverageBps / 100)}% of ${c.nearDuplicate.overlaps[0]?.contribution}`
    : ''
  return [
    `${c.id}  "${c.title}"`,
    `  by ${c.author}  ${c.mediaType}  ${c.size} bytes declared  blob ${blobWords(c)}${c.records !== null ? `  ${c.records} record(s)` : ''}${dup}`,
  ]
}

function datanetLines(d: any): string[] {
  return [
    `${d.name}  ${d.id}`,
    `  owner ${d.owner}${d.curators.length ? `  curators ${d.curators.join(', ')}` : ''}`,
    `  license ${d.license}  accepts ${d.rules.mediaTypes.join(', ')}  max ${d.rules.maxSize} bytes  stake ${formatUnits(BigInt(d.rules.stake))} SIN`,
    `  contributions ${d.counts.contributions}: ${d.counts.accepted} accepted, ${d.counts.pending} pending, ${d.counts.rejected} rejected  (${d.contributors} contributors)`,
    `  versions ${d.versions}${d.latestVersion ? `  latest v${d.latestVersion.version}: ${d.latestVersion.contributions} contributions, index ${d.latestVersion.build}, root ${d.latestVersion.root}` : ''}`,
    ...(d.description ? [`  ${d.description}`] : []),
  ]
}

export function datanetCommand(): Command {
  const cmd = new Command('datanet').description('Datanets: create, contribute files, review the queue, exclude, publish versions, search')

  withNode(withSigner(cmd.command('create').description('create a Datanet owned by the signer')))
    .requiredOption('--name <name>', 'unique name')
    .option('--description <text>', 'what it collects', '')
    .option('--license <spdx>', 'license of the contributions', 'CC-BY-4.0')
    .option('--media-types <list>', `accepted types, comma-separated: txt,md,jsonl,csv,pdf,docx (or full media types)`, 'txt,md,jsonl,csv,pdf,docx')
    .option('--max-size <bytes>', 'largest contribution in bytes', String(16 * 1024 * 1024))
    .option('--stake <sin>', 'SIN locked by each contribution until its verdict', '1')
    .action(
      action(
        async (flags: SignerFlags & Common & { name: string; description: string; license: string; mediaTypes: string; maxSize: string; stake: string }) => {
          const mediaTypes = flags.mediaTypes.split(',').map((t) => {
            const mt = mediaTypeFromName(t.trim())
            if (!mt)
              throw new SinewError({
                code: 'unsupported_media_type',
                message: `Unknown media type ${t}`,
                details: { field: '--media-types', known: ALL_MEDIA_TYPES },
              })
            return mt
          })
          const client = new NodeClient(flags.node)
          const stake = parseUnits(flags.stake, 18, '--stake')
          const maxSize = parseUint(flags.maxSize, 64, '--max-size')
          const { maxBlobBytes } = await client.get('/v1/blobs/policy')
          if (maxSize > BigInt(maxBlobBytes)) {
            throw new SinewError({
              code: 'max_size_over_blob_limit',
              message: `--max-size ${maxSize} is over the node's blob limit of ${maxBlobBytes} bytes`,
              details: { field: '--max-size', maxSize: maxSize.toString(), maxBlobBytes },
              hint: `No contribution larger than ${maxBlobBytes} bytes can be uploaded to this node: pass --max-size ${maxBlobBytes} or less.`,
            })
          }
          const { ack } = await signAndSubmit(client, await signerKey(flags), 'CreateDatanet', {
            name: flags.name,
            description: flags.description,
            license: flags.license,
            mediaTypes,
            maxSize: maxSize.toString(),
            stake: stake.toString(),
          })
          if (flags.json) return printJson(ack.receipt.result)
          printLines(`Created Datanet ${flags.name}`, `  id ${ack.receipt.result.datanet}`, `  in block ${ack.height} (committed)`)
        },
      ),
    )

  withNode(withSigner(cmd.command('contribute').description('upload files and sign one Contribute per file; every file is checked before the first upload')))
    .argument('<files...>')
    .requiredOption('--datanet <id|name>', 'the Datanet')
    .option('--title <title>', 'title (default: the file name)')
    .option('--media-type <type>', `media type of every file: ${SHORT_TYPES} or a full media type (default: from each extension)`)
    .action(
      action(async (files: string[], flags: SignerFlags & Common & { datanet: string; title?: string; mediaType?: string }) => {
        // Every file exists, has a known media type, and its size and format pass the Datanet's
        // rules and the node's limits, before the first upload or signature.
        const forced = flags.mediaType === undefined ? undefined : mediaTypeOfFlag(flags.mediaType)
        const local = files.map((path) => ({ path, size: inputFileSize(path, 'files'), mediaType: forced ?? mediaTypeOfFile(path) }))
        const client = new NodeClient(flags.node)
        const key = await signerKey(flags)
        const { privateKeyToAccount } = await import('viem/accounts')
        const from = privateKeyToAccount(key).address.toLowerCase()
        const [d, policy] = await Promise.all([resolveDatanet(client, flags.datanet), client.get(`/v1/blobs/policy?account=${from}`)])
        const checked = await checkFiles(local, d, policy)
        const results = []
        for (const file of checked) {
          try {
            const envelope = await signTx(client, key, 'Contribute', {
              datanet: d.id,
              contentHash: file.contentHash,
              title: flags.title ?? basename(file.path),
              mediaType: file.mediaType,
              size: String(file.size),
            })
            await uploadFile(client, file, envelope, flags.json)
            const ack = await client.post(`/v1/datanets/${d.id}/contributions`, envelope)
            results.push({ file: file.path, contribution: ack.contribution, contentHash: file.contentHash, records: ack.records, height: ack.height })
            if (!flags.json)
              printLines(
                `Contributed ${file.path} to ${d.name}: ${ack.records} record(s), stake ${formatUnits(BigInt(d.rules.stake))} SIN locked`,
                `  contribution ${ack.contribution}  (block ${ack.height})`,
              )
          } catch (e) {
            throw fileError(e, file.path, results)
          }
        }
        if (flags.json) printJson(results)
      }),
    )

  withNode(cmd.command('queue').description('what awaits review: pending contributions, oldest first, with their blob state and near-duplicate flags'))
    .argument('<datanet>', 'id or name')
    .option('--limit <n>', 'at most this many', '100')
    .action(
      action(async (ref: string, flags: Common & { limit: string }) => {
        const client = new NodeClient(flags.node)
        const d = await resolveDatanet(client, ref)
        const limit = parseUint(flags.limit, 16, '--limit')
        const q = await client.get(`/v1/datanets/${d.id}/queue?limit=${limit}`)
        if (flags.json) return printJson({ datanet: d.id, name: d.name, ...q })
        if (q.total === 0) return printLines(`Nothing awaits review in ${d.name}.`)
        printLines(
          `${q.total} contribution(s) await review in ${d.name}${q.total > q.contributions.length ? ` (the oldest ${q.contributions.length} shown)` : ''}:`,
        )
        for (const c of q.contributions) printLines(...queueLines(c))
      }),
    )
  withNode(withSigner(cmd.command('review').description('accept or reject a pending contribution (owner or curator)')))
    .argument('<contribution>')
    .option('--accept', 'accept it (the stake goes back to the author)')
    .option('--reject', 'reject it (the stake goes to the Datanet owner)')
    .option('--reason <text>', 'why (required to reject)', '')
    .action(
      action(async (contribution: string, flags: SignerFlags & Common & { accept?: boolean; reject?: boolean; reason: string }) => {
        if (!flags.accept === !flags.reject)
          throw new SinewError({ code: 'missing_field', message: 'Give exactly one of --accept or --reject', details: { field: '--accept' } })
        const client = new NodeClient(flags.node)
        const { ack } = await signAndSubmit(client, await signerKey(flags), 'Review', { contribution, accept: flags.accept === true, reason: flags.reason })
        if (flags.json) return printJson(ack.receipt.result)
        const r = ack.receipt.result
        printLines(
          `${r.status === 'accepted' ? 'Accepted' : 'Rejected'} ${contribution}: stake ${formatUnits(BigInt(r.stake))} SIN to ${r.paidTo}`,
          `  in block ${ack.height} (committed)`,
        )
      }),
    )

  withNode(withSigner(cmd.command('exclude').description('leave an accepted contribution out of every later version (owner only)')))
    .argument('<contribution>')
    .requiredOption('--reason <text>', 'why (kept on the ledger)')
    .action(
      action(async (contribution: string, flags: SignerFlags & Common & { reason: string }) => {
        const client = new NodeClient(flags.node)
        const c = await client.get(`/v1/contributions/${encodeURIComponent(contribution)}`)
        const { ack } = await signAndSubmit(client, await signerKey(flags), 'ExcludeContribution', {
          datanet: c.datanet,
          contribution: c.id,
          reason: flags.reason,
        })
        if (flags.json) return printJson(ack.receipt.result)
        printLines(
          `Excluded ${c.id} ("${c.title}") from the next versions of its Datanet (block ${ack.height})`,
          `  published versions keep it; publish a new version to leave it out`,
        )
      }),
    )

  withNode(withSigner(cmd.command('publish').description('freeze the accepted contributions as the next version and wait for its index')))
    .argument('<datanet>', 'id or name')
    .option('--no-wait', 'return once the version is on the ledger')
    .action(
      action(async (ref: string, flags: SignerFlags & Common & { wait: boolean }) => {
        const client = new NodeClient(flags.node)
        const d = await resolveDatanet(client, ref)
        const { ack } = await signAndSubmit(client, await signerKey(flags), 'PublishVersion', { datanet: d.id })
        const r = ack.receipt.result
        if (!flags.json) printLines(`Published ${d.name} version ${r.version}: ${r.contributions} contributions, root ${r.root}`)
        const v = flags.wait ? await waitForBuild(client, d.id, r.version, flags.json) : await client.get(`/v1/datanets/${d.id}/versions/${r.version}`)
        if (flags.json) return printJson(v)
        if (v.build.state === 'failed') {
          process.exitCode = 1
          return printLines(
            `  index build failed: ${v.build.error?.message} (${v.build.error?.code}); retry with POST /v1/datanets/${d.id}/versions/${r.version}/build`,
          )
        }
        printLines(`  index ${v.build.state}${v.build.index ? `: ${v.build.index.documents} documents, ${v.build.index.tokens} tokens` : ''}`)
      }),
    )

  withNode(cmd.command('show').description('a Datanet, or one of its versions (with index build progress)'))
    .argument('<datanet>', 'id or name')
    .option('--ver <n>', 'show this version (number)')
    .option('--contributions', 'list its contributions')
    .option('--wait', 'with --ver: wait for the index build, with a progress bar')
    .action(
      action(async (ref: string, flags: Common & { ver?: string; contributions?: boolean; wait?: boolean }) => {
        const client = new NodeClient(flags.node)
        const d = await resolveDatanet(client, ref)
        if (flags.ver) {
          const v = flags.wait
            ? await waitForBuild(client, d.id, Number(flags.ver), flags.json)
            : await client.get(`/v1/datanets/${d.id}/versions/${encodeURIComponent(flags.ver)}`)
          if (flags.json) return printJson(v)
          const b = v.build
          return printLines(
            `${d.name} version ${v.version}  (${v.ref})`,
            `  ${v.contributions} contributions, ${v.bytes} bytes, root ${v.root}`,
            `  published by ${v.publisher} in block ${v.height}`,
            `  index ${b.state}${b.state === 'building' || b.phase ? ` (${b.phase} ${b.done ?? 0}/${b.total ?? '?'})` : ''}${b.index ? `: ${b.index.documents} documents, ${b.index.tokens} tokens` : ''}${b.error ? `: ${b.error.message}` : ''}`,
          )
        }
        const contributions = flags.contributions ? (await client.get(`/v1/datanets/${d.id}/contributions?limit=1000`)).contributions : undefined
        if (flags.json) return printJson(contributions ? { ...d, contributions } : d)
        printLines(...datanetLines(d))
        if (contributions) {
          for (const c of contributions) {
            const flag = c.nearDuplicate?.flagged
              ? `  NEAR-DUPLICATE ${(c.nearDuplicate.coverageBps / 100).toFixed(0)}% of ${c.nearDuplicate.overlaps[0]?.contribution}`
              : ''
            printLines(
              `  ${c.status.padEnd(8)} ${c.id}  ${c.author}  ${c.records ?? '?'} rec  ${c.title}${c.blob === 'present' ? '' : `  (blob ${blobWords(c)})`}${c.excluded ? '  EXCLUDED' : ''}${flag}`,
            )
          }
        }
      }),
    )

  withNode(cmd.command('search').description("find a phrase in a version's index (default: the latest)"))
    .argument('<datanet>', 'id or name')
    .argument('<query...>')
    .option('--ver <n>', 'version number (default: latest)')
    .option('--limit <n>', 'at most this many matches', '10')
    .action(
      action(async (ref: string, query: string[], flags: Common & { ver?: string; limit: string }) => {
        const client = new NodeClient(flags.node)
        const d = await resolveDatanet(client, ref)
        const version = flags.ver ?? String(d.versions)
        if (version === '0') throw new SinewError({ code: 'no_version', message: `${d.name} has no published version yet`, details: { field: '--version' } })
        const r = await client.get(
          `/v1/datanets/${d.id}/versions/${version}/search?q=${encodeURIComponent(query.join(' '))}&limit=${encodeURIComponent(flags.limit)}`,
        )
        if (flags.json) return printJson(r)
        printLines(`${r.count} occurrence(s) of "${r.query}" in ${d.name} v${version}`)
        for (const m of r.matches) printLines(`  ${m.contribution}  ${m.title ?? ''}  (${m.author})`, `    …${m.snippet.replace(/\s+/g, ' ')}…`)
      }),
    )

  withNode(cmd.command('list').description('Datanets, newest first'))
    .option('--q <text>', 'search names, descriptions and licenses')
    .option('--owner <address>', 'only this owner')
    .action(
      action(async (flags: Common & { q?: string; owner?: string }) => {
        const params = new URLSearchParams()
        if (flags.q) params.set('q', flags.q)
        if (flags.owner) params.set('owner', parseAddress(flags.owner, '--owner'))
        const r = await new NodeClient(flags.node).get(`/v1/datanets?${params}`)
        if (flags.json) return printJson(r)
        if (r.total === 0) return printLines('No Datanets yet. Create one with `sinew datanet create --name NAME --dev-account 0`.')
        for (const d of r.datanets)
          printLines(
            `${d.name.padEnd(28)} ${d.id}  ${d.counts.accepted}/${d.counts.contributions} accepted  v${d.versions}${d.latestVersion ? ` (${d.latestVersion.build})` : ''}`,
          )
      }),
    )

  withNode(withSigner(cmd.command('curator').description('add (or with --remove, remove) a curator (owner only)')))
    .argument('<datanet>', 'id or name')
    .argument('<address>')
    .option('--remove', 'remove instead of add')
    .action(
      action(async (ref: string, address: string, flags: SignerFlags & Common & { remove?: boolean }) => {
        const client = new NodeClient(flags.node)
        const d = await resolveDatanet(client, ref)
        const { ack } = await signAndSubmit(client, await signerKey(flags), flags.remove ? 'RemoveCurator' : 'AddCurator', {
          datanet: d.id,
          curator: parseAddress(address, 'address'),
        })
        if (flags.json) return printJson(ack.receipt.result)
        printLines(`${flags.remove ? 'Removed' : 'Added'} curator ${address} ${flags.remove ? 'from' : 'to'} ${d.name} (block ${ack.height})`)
      }),
    )
  return cmd
}
