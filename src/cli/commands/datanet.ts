/** `sinew datanet create|contribute|review|publish|show|search|list|curator`: Datanets from the command line. */
import { Command } from 'commander'
import cliProgress from 'cli-progress'
import { createReadStream } from 'node:fs'
import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import { Readable } from 'node:stream'
import { errorFromResponse, formatUnits, parseUnits, SinewError } from '../../core/index.ts'
import { ALL_MEDIA_TYPES, mediaTypeFromName, mediaTypeOfPath } from '../../datanets/index.ts'
import { parseAddress } from '../../ledger/index.ts'
import { NodeClient } from '../client.ts'
import { inputFileSize } from '../files.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'

type Common = { node?: string; json?: boolean }
const common = (c: Command): Command => c.option('--node <url>', 'node URL (default http://127.0.0.1:8545, or SINEW_NODE)').option('--json', 'print JSON')

const bar = (format: string, json?: boolean) =>
  process.stderr.isTTY && !json
    ? new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
    : undefined

async function resolveDatanet(client: NodeClient, ref: string): Promise<any> {
  return client.get(`/v1/datanets/${encodeURIComponent(ref)}`)
}

/** Streams a file to PUT /v1/blobs with a progress bar; answers {sha256, contentHash, size}. */
async function uploadFile(client: NodeClient, file: string, json?: boolean): Promise<{ sha256: string; contentHash: string; size: number }> {
  const size = inputFileSize(file, 'files')
  const hash = createHash('sha256')
  await new Promise<void>((resolve, reject) =>
    createReadStream(file)
      .on('data', (d) => hash.update(d))
      .on('end', () => resolve())
      .on('error', reject),
  )
  const sha256 = hash.digest('hex')
  const b = bar(`upload ${basename(file).slice(0, 30)} [{bar}] {percentage}% {value}/{total} bytes`, json)
  b?.start(size, 0)
  let sent = 0
  const stream = createReadStream(file).on('data', (d) => {
    sent += d.length
    b?.update(sent)
  })
  let response: Response
  try {
    response = await fetch(`${client.url}/v1/blobs?sha256=${sha256}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
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
  const cmd = new Command('datanet').description('Datanets: create, contribute files, review, publish versions, search')

  common(withSigner(cmd.command('create').description('create a Datanet owned by the signer')))
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
          const { ack } = await signAndSubmit(client, await signerKey(flags), 'CreateDatanet', {
            name: flags.name,
            description: flags.description,
            license: flags.license,
            mediaTypes,
            maxSize: flags.maxSize,
            stake: stake.toString(),
          })
          if (flags.json) return printJson(ack.receipt.result)
          printLines(`Created Datanet ${flags.name}`, `  id ${ack.receipt.result.datanet}`, `  in block ${ack.height} (committed)`)
        },
      ),
    )

  common(withSigner(cmd.command('contribute').description('upload files and sign one Contribute per file')))
    .argument('<files...>')
    .requiredOption('--datanet <id|name>', 'the Datanet')
    .option('--title <title>', 'title (default: the file name)')
    .option('--media-type <type>', 'media type (default: from the extension)')
    .action(
      action(async (files: string[], flags: SignerFlags & Common & { datanet: string; title?: string; mediaType?: string }) => {
        // Every file readable and of a known media type before the first upload or signature.
        const mediaTypes = files.map((file) => {
          inputFileSize(file, 'files')
          const mediaType = flags.mediaType ? mediaTypeFromName(flags.mediaType) : mediaTypeOfPath(file)
          if (!mediaType)
            throw new SinewError({
              code: 'unsupported_media_type',
              message: `Cannot tell the media type of ${file}`,
              details: { field: '--media-type', file, known: ALL_MEDIA_TYPES },
              hint: 'Pass --media-type.',
            })
          return mediaType
        })
        const client = new NodeClient(flags.node)
        const d = await resolveDatanet(client, flags.datanet)
        const key = await signerKey(flags)
        const results = []
        for (const [i, file] of files.entries()) {
          const mediaType = mediaTypes[i]
          const blob = await uploadFile(client, file, flags.json)
          const { privateKeyToAccount } = await import('viem/accounts')
          const from = privateKeyToAccount(key).address.toLowerCase()
          const [types, account] = await Promise.all([client.get('/v1/types'), client.get(`/v1/accounts/${from}`)])
          const { signEnvelope } = await import('../client.ts')
          const envelope = await signEnvelope(key, types, 'Contribute', {
            datanet: d.id,
            contentHash: blob.contentHash,
            title: flags.title ?? basename(file),
            mediaType,
            size: String(blob.size),
            nonce: account.nonce,
          })
          const ack = await client.post(`/v1/datanets/${d.id}/contributions`, envelope)
          results.push({ file, contribution: ack.contribution, contentHash: blob.contentHash, records: ack.records, height: ack.height })
          if (!flags.json)
            printLines(
              `Contributed ${file} to ${d.name}: ${ack.records} record(s), stake ${formatUnits(BigInt(d.rules.stake))} SIN locked`,
              `  contribution ${ack.contribution}  (block ${ack.height})`,
            )
        }
        if (flags.json) printJson(results)
      }),
    )

  common(withSigner(cmd.command('review').description('accept or reject a pending contribution (owner or curator)')))
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

  common(withSigner(cmd.command('publish').description('freeze the accepted contributions as the next version and wait for its index')))
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

  common(cmd.command('show').description('a Datanet, or one of its versions (with index build progress)'))
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
              `  ${c.status.padEnd(8)} ${c.id}  ${c.author}  ${c.records ?? '?'} rec  ${c.title}${c.blob === 'missing' ? '  (blob missing)' : ''}${flag}`,
            )
          }
        }
      }),
    )

  common(cmd.command('search').description("find a phrase in a version's index (default: the latest)"))
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

  common(cmd.command('list').description('Datanets, newest first'))
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

  common(withSigner(cmd.command('curator').description('add (or with --remove, remove) a curator (owner only)')))
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
