/** `sinew task post|list|show|claim|submit|verify|cancel|expire`: the task board. */
import { Command } from 'commander'
import { formatUnits, isHex, parseUint, parseUnits, printable, sha256, utf8, SinewError, type Hex, type TxEnvelope } from '../../core/index.ts'
import { parseAddress } from '../../ledger/index.ts'
import { NodeClient, storeBlob, withTaskTexts, type BlobText, type StoredBlob } from '../../client/index.ts'
import { readInputFile } from '../files.ts'
import { action, printJson, printLines } from '../output.ts'
import { signAndSubmit, signerKey, withSigner, type SignerFlags } from './tx.ts'
import { withNode } from '../options.ts'

const collect = (value: string, previous: string[]): string[] => [...previous, value]
type NodeFlags = { node?: string; json?: boolean }

function taskId(id: string): Hex {
  if (!isHex(id, 32))
    throw new SinewError({
      code: 'invalid_field',
      message: 'The task id must be 0x and 64 hex digits (the PostTask tx hash)',
      details: { field: 'task', got: id.slice(0, 80) },
    })
  return id.toLowerCase() as Hex
}

/**
 * Content from exactly one of: a file, inline text (both: bytes to upload to the node), or
 * a hash alone (bring your own bytes: nothing is uploaded).
 */
function content(flags: { file?: string; text?: string; hash?: string }, names: [string, string, string]): { hash: Hex; bytes?: Uint8Array } {
  const given = [flags.file, flags.text, flags.hash].filter((x) => x !== undefined)
  if (given.length !== 1) throw new SinewError({ code: 'missing_field', message: `Give exactly one of ${names.join(', ')}`, details: { field: names[0] } })
  if (flags.hash !== undefined) {
    if (!isHex(flags.hash, 32))
      throw new SinewError({ code: 'invalid_field', message: `${names[2]} must be 0x and 64 hex digits`, details: { field: names[2] } })
    return { hash: flags.hash.toLowerCase() as Hex }
  }
  const field = flags.file !== undefined ? names[0] : names[1]
  const bytes = flags.file !== undefined ? new Uint8Array(readInputFile(flags.file, names[0])) : utf8(flags.text!)
  // The blob store keeps no empty blobs, and an empty spec or result says nothing.
  if (bytes.length === 0) throw new SinewError({ code: 'invalid_field', message: `${field} is empty`, details: { field } })
  return { hash: sha256(bytes), bytes }
}

/**
 * Uploads the bytes (if any) to the node's blob store, where the other side of the task
 * reads them; `permit` is the signed tx that names them (the node's upload authorisation).
 */
const upload = async (client: NodeClient, c: { bytes?: Uint8Array }, permit: TxEnvelope): Promise<StoredBlob | null> =>
  c.bytes ? storeBlob(client, c.bytes, permit) : null

const uploadedLine = (what: string, b: StoredBlob | null): string[] => (b ? [`  ${what} stored on the node: ${b.size} bytes at ${b.url}`] : [])

/** `task show` prints texts up to this size; the rest is one GET of the blob URL away. */
const SHOW_TEXT_BYTES = 16 * 1024

function textLines(what: string, blob: BlobText | null, text: string | null, nodeUrl: string): string[] {
  if (!blob) return []
  if (text === null) return [``, `${what}: ${blob.stored ? blob.note : `not stored on this node (${nodeUrl})`}`]
  return [
    ``,
    `${what} (${blob.size} bytes${blob.truncated ? ', truncated' : ''}):`,
    printable(text.replace(/\n$/, ''), { multiline: true }), // printLines ends the line
    ...(blob.truncated ? [`… (${blob.note})`] : []),
  ]
}

const inSin = (units: unknown): string => `${formatUnits(BigInt(String(units)))} SIN`

/** What a task tx did, in words (the JSON result is what `--json` prints). */
function outcomeLines(kind: string, id: string, r: Record<string, any>): string[] {
  const lapsed = r.lapsedClaim
    ? [`  an earlier claim by ${r.lapsedClaim.claimer} had lapsed: its stake of ${inSin(r.lapsedClaim.stakeForfeited)} went to the poster`]
    : []
  switch (kind) {
    case 'ClaimTask':
      return [`Claimed task ${id}: stake ${inSin(r.stake)} locked; lease until ${new Date(Number(r.leaseUntil)).toISOString()}`, ...lapsed]
    case 'SubmitResult':
      return [`Submitted result ${r.resultHash} for task ${id}`, `  waiting for ${r.threshold} verdict(s) from ${r.verifiers.join(', ')}`]
    case 'VerifyResult':
      if (r.outcome === 'accepted')
        return [`Accepted the result of task ${id}: ${inSin(r.paid)} paid to ${r.claimer}, stake ${inSin(r.stakeReturned)} returned`]
      if (r.outcome === 'rejected') {
        return [
          `Rejected the result of task ${id}: ${r.claimer}'s stake of ${inSin(r.stakeForfeited)} went to the poster; the task is ${r.reopened ? 'open again' : 'past its deadline'}`,
        ]
      }
      return [`Verdict recorded on task ${id}; waiting for more verdicts`]
    case 'CancelTask':
      return [`Cancelled task ${id}: the reward of ${inSin(r.refunded)} went back to the poster`, ...lapsed]
    case 'ExpireTask':
      return [
        `Expired task ${id}: the reward of ${inSin(r.refunded)} went back to the poster`,
        ...(r.unverifiedResult
          ? [`  the unverified result of ${r.unverifiedResult.claimer} was left; its stake of ${inSin(r.unverifiedResult.stakeReturned)} went back to it`]
          : []),
        ...lapsed,
      ]
    default:
      return [`${kind} ${id}: ${JSON.stringify(r)}`]
  }
}

const amount = (sin: string | undefined, units: string | undefined, field: string, fallback?: bigint): bigint => {
  if (sin !== undefined && units !== undefined)
    throw new SinewError({ code: 'invalid_field', message: `Give one of --${field} or --${field}-units`, details: { field: `--${field}` } })
  if (sin !== undefined) return parseUnits(sin, 18, `--${field}`)
  if (units !== undefined) return parseUint(units, 256, `--${field}-units`)
  if (fallback !== undefined) return fallback
  throw new SinewError({ code: 'missing_field', message: `--${field} (SIN) or --${field}-units is required`, details: { field: `--${field}` } })
}

function taskLines(t: any): string[] {
  return [
    `${t.id}  ${t.effectiveStatus}${t.title ? `  "${printable(t.title)}"` : ''}`,
    `  poster ${t.poster}  reward ${formatUnits(BigInt(t.reward))} SIN  escrow ${formatUnits(BigInt(t.escrow))} SIN`,
    `  spec   ${t.specHash}`,
    `  deadline ${new Date(Number(t.deadline)).toISOString()}  lease ${Number(t.leaseMs) / 1000} s  claim stake ${formatUnits(BigInt(t.claimStake))} SIN`,
    `  verifiers ${t.policy === 'poster' ? 'the poster' : `${t.threshold} of ${t.verifiers.join(', ')}`}`,
    ...(t.claim ? [`  claimed by ${t.claim.claimer} until ${new Date(Number(t.claim.leaseUntil)).toISOString()}${t.leaseLapsed ? ' (lapsed)' : ''}`] : []),
    ...(t.submission
      ? [
          `  result ${t.submission.resultHash} by ${t.submission.claimer}  accepts ${t.submission.accepts.length}/${t.threshold}  rejects ${t.submission.rejects.length}`,
        ]
      : []),
    ...(t.result ? [`  accepted result ${t.result.resultHash} by ${t.result.claimer}`] : []),
  ]
}

type PostFlags = SignerFlags &
  NodeFlags & {
    title: string
    specFile?: string
    spec?: string
    specHash?: string
    reward?: string
    rewardUnits?: string
    deadline?: string
    deadlineIn?: string
    lease: string
    claimStake?: string
    claimStakeUnits?: string
    verifier: string[]
    threshold?: string
    force?: boolean
  }

export function taskCommand(): Command {
  const task = new Command('task').description('the task board: post tasks with escrowed rewards, claim, submit, verify')

  task.addCommand(
    withNode(
      withSigner(new Command('post').description('post a task; the reward is locked until the result is accepted, or returned on cancel/expiry'))
        .option('--title <text>', 'short title', '')
        .option('--spec-file <file>', "the task spec; its sha256 is the spec hash; uploaded to the node's blob store")
        .option('--spec <text>', 'the task spec as text (uploaded likewise)')
        .option('--spec-hash <hash>', 'the spec hash itself (bring your own bytes: nothing is uploaded)')
        .option('--reward <sin>', 'reward in SIN, e.g. 5')
        .option('--reward-units <n>', 'reward in base units')
        .option('--deadline-in <seconds>', 'deadline, seconds from now')
        .option('--deadline <ms>', 'deadline, ms since the epoch')
        .option('--lease <seconds>', 'how long one claim lasts', '600')
        .option('--claim-stake <sin>', 'least stake a claimer locks, in SIN (default 0)')
        .option('--claim-stake-units <n>', 'the same in base units')
        .option('--verifier <address>', 'a verifier (repeatable); none = the poster verifies', collect, [])
        .option('--threshold <k>', 'how many verifiers must accept (default: all of them, or 1)')
        .option('--force', 'post even if this spec already has an accepted result'),
    ).action(
      action(async (flags: PostFlags) => {
        const client = new NodeClient(flags.node)
        const spec = content({ file: flags.specFile, text: flags.spec, hash: flags.specHash }, ['--spec-file', '--spec', '--spec-hash'])
        const specHash = spec.hash
        if (!flags.force) {
          const earlier = await client.get(`/v1/tasks?spec=${specHash}&limit=5`)
          if (earlier.acceptedResults.length > 0) {
            const out = {
              posted: false,
              warning: `This spec already has ${earlier.acceptedTotal} accepted result(s); reuse one, or pass --force to post anyway`,
              specHash,
              acceptedResults: earlier.acceptedResults,
            }
            if (flags.json) return printJson(out)
            return printLines(`warning: ${out.warning}`, ...out.acceptedResults.map((r: any) => `  task ${r.task}  result ${r.resultHash}  by ${r.claimer}`))
          }
        }
        const reward = amount(flags.reward, flags.rewardUnits, 'reward')
        const claimStake = amount(flags.claimStake, flags.claimStakeUnits, 'claim-stake', 0n)
        if ((flags.deadline === undefined) === (flags.deadlineIn === undefined)) {
          throw new SinewError({
            code: 'missing_field',
            message: 'Give exactly one of --deadline-in (seconds from now) or --deadline (ms since the epoch)',
            details: { field: '--deadline-in' },
          })
        }
        const deadline =
          flags.deadline !== undefined
            ? parseUint(flags.deadline, 64, '--deadline')
            : BigInt(Date.now()) + parseUint(flags.deadlineIn, 32, '--deadline-in') * 1000n
        const verifiers = flags.verifier.map((v) => parseAddress(v, '--verifier'))
        const threshold = flags.threshold !== undefined ? parseUint(flags.threshold, 16, '--threshold') : BigInt(verifiers.length === 0 ? 1 : verifiers.length)
        // Uploaded once signed (the signed PostTask is the upload's permit), before it is
        // submitted: a task on the board points at a spec its claimers can read.
        let specBlob: StoredBlob | null = null
        const message = {
          title: flags.title,
          specHash,
          reward: reward.toString(),
          deadline: deadline.toString(),
          leaseMs: (parseUint(flags.lease, 32, '--lease') * 1000n).toString(),
          claimStake: claimStake.toString(),
          verifiers,
          threshold: threshold.toString(),
        }
        const { envelope, ack } = await signAndSubmit(client, await signerKey(flags), 'PostTask', message, async (signed) => {
          specBlob = await upload(client, spec, signed)
        })
        const result = ack.receipt.result
        if (flags.json) return printJson({ posted: true, task: result.task, from: envelope.from, specBlob, ...ack })
        printLines(
          `Posted task ${result.task}`,
          `  reward ${formatUnits(reward)} SIN locked in escrow; deadline ${new Date(Number(deadline)).toISOString()}`,
          ...uploadedLine('spec', specBlob),
          `  tx ${ack.hash} in block ${ack.height}`,
          ...(result.warning ? [`warning: ${result.warning}`] : []),
        )
      }),
    ),
  )

  task.addCommand(
    withNode(
      new Command('list')
        .description('tasks on the board, newest first')
        .option('--spec <hash>', 'tasks with this spec hash, and its accepted results')
        .option('--status <s>', 'open | claimed | submitted | accepted | cancelled | expired | past_deadline')
        .option('--poster <address>')
        .option('--worker <address>', 'claimer, submitter or paid worker')
        .option('--limit <n>', 'at most this many', '100'),
    ).action(
      action(async (flags: NodeFlags & { spec?: string; status?: string; poster?: string; worker?: string; limit: string }) => {
        const q = new URLSearchParams({ limit: flags.limit })
        for (const k of ['spec', 'status', 'poster', 'worker'] as const) if (flags[k]) q.set(k, flags[k]!)
        const r = await new NodeClient(flags.node).get(`/v1/tasks?${q}`)
        if (flags.json) return printJson(r)
        printLines(
          ...(r.acceptedResults?.length
            ? [
                'Accepted results for this spec (reuse them):',
                ...r.acceptedResults.map((a: any) => `  task ${a.task}  result ${a.resultHash}  by ${a.claimer}`),
                '',
              ]
            : []),
          ...(r.tasks.length === 0 ? ['No tasks.'] : r.tasks.flatMap(taskLines)),
          `(${r.total} task${r.total === 1 ? '' : 's'})`,
        )
      }),
    ),
  )

  task.addCommand(
    withNode(new Command('show').description('one task, with its spec and result text when the node stores them').argument('<id>')).action(
      action(async (id: string, flags: NodeFlags) => {
        const client = new NodeClient(flags.node)
        const t = await withTaskTexts(client, await client.get(`/v1/tasks/${taskId(id)}`), { maxBytes: SHOW_TEXT_BYTES, preview: true })
        if (flags.json) return printJson(t)
        printLines(...taskLines(t), ...textLines('spec', t.specBlob, t.specText, client.url), ...textLines('result', t.resultBlob, t.resultText, client.url))
      }),
    ),
  )

  /**
   * A command that signs one tx; `build` may name bytes to upload once the tx is signed (the
   * signed tx is the upload's permit), before it is submitted: `upload.as` names what was
   * stored in the JSON output, `upload.what` in the printed lines.
   */
  type Built = { message: Record<string, unknown>; upload?: { bytes?: Uint8Array; as: string; what: string } }
  const simple = (
    name: string,
    kind: string,
    description: string,
    configure: (c: Command) => Command,
    build: (id: Hex, flags: any, client: NodeClient) => Promise<Built>,
  ) =>
    task.addCommand(
      withNode(configure(withSigner(new Command(name).description(description).argument('<id>', 'task id')))).action(
        action(async (id: string, flags: SignerFlags & NodeFlags) => {
          const client = new NodeClient(flags.node)
          const { message, upload: bytes } = await build(taskId(id), flags, client)
          let stored: StoredBlob | null = null
          const { envelope, ack } = await signAndSubmit(client, await signerKey(flags), kind, message, async (signed) => {
            if (bytes) stored = await upload(client, bytes, signed)
          })
          const extra = bytes ? { [bytes.as]: stored } : {}
          if (flags.json) return printJson({ ...ack, from: envelope.from, ...extra })
          const lines = bytes ? uploadedLine(bytes.what, stored) : []
          printLines(...outcomeLines(kind, id, ack.receipt.result), `  tx ${ack.hash} in block ${ack.height}`, ...lines)
        }),
      ),
    )

  simple(
    'claim',
    'ClaimTask',
    "claim a task for its lease, locking a stake (default: the task's claim stake)",
    (c) => c.option('--stake <sin>', 'stake in SIN').option('--stake-units <n>', 'stake in base units'),
    async (id, flags, client) => {
      const fallback = flags.stake === undefined && flags.stakeUnits === undefined ? BigInt((await client.get(`/v1/tasks/${id}`)).claimStake) : undefined
      return { message: { task: id, stake: amount(flags.stake, flags.stakeUnits, 'stake', fallback).toString() } }
    },
  )
  simple(
    'submit',
    'SubmitResult',
    'submit the result of a task you hold the claim on',
    (c) =>
      c
        .option('--result-file <file>', "the result; its sha256 is the result hash; uploaded to the node's blob store")
        .option('--result <text>', 'the result as text (uploaded likewise)')
        .option('--result-hash <hash>', 'the result hash itself (bring your own bytes: nothing is uploaded)'),
    async (id, flags) => {
      const result = content({ file: flags.resultFile, text: flags.result, hash: flags.resultHash }, ['--result-file', '--result', '--result-hash'])
      // Uploaded before the tx is submitted: the verifiers read the result from the node.
      return { message: { task: id, resultHash: result.hash }, upload: { bytes: result.bytes, as: 'resultBlob', what: 'result' } }
    },
  )
  simple(
    'verify',
    'VerifyResult',
    'accept or reject the submitted result (as a verifier)',
    (c) => c.option('--accept', 'accept the result').option('--reject', 'reject the result'),
    async (id, flags) => {
      if (flags.accept === flags.reject)
        throw new SinewError({ code: 'missing_field', message: 'Give exactly one of --accept or --reject', details: { field: '--accept' } })
      return { message: { task: id, accept: flags.accept === true } }
    },
  )
  simple(
    'cancel',
    'CancelTask',
    'withdraw your task (no live claim, no pending result); the reward returns',
    (c) => c,
    async (id) => ({ message: { task: id } }),
  )
  simple(
    'expire',
    'ExpireTask',
    'close a task past its deadline (anyone); the reward returns to the poster',
    (c) => c,
    async (id) => ({ message: { task: id } }),
  )
  return task
}
