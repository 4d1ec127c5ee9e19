/**
 * The Datanets tx kinds. Everything here runs inside ledger execution: deterministic, only
 * `ctx`, no blobs (the blob checks happen before submission, in POST
 * /v1/datanets/:id/contributions; see docs/datanets.md).
 *
 *   CreateDatanet  {name, description, license, mediaTypes[], maxSize, stake}
 *   UpdateDatanet  {datanet, description, license, mediaTypes[], maxSize, stake}     owner
 *   AddCurator     {datanet, curator}                                                owner
 *   RemoveCurator  {datanet, curator}                                                owner
 *   Contribute     {datanet, contentHash, title, mediaType, size}                    anyone; locks the stake
 *   Review         {contribution, accept, reason}                                    owner or curator; one verdict
 *   ExcludeContribution {datanet, contribution, reason}                              owner; accepted ones, from later versions
 *   PublishVersion {datanet}                                                         owner
 */
import { SinewError, type ErrorCode, type Hex } from '../core/index.ts'
import { credit, debit, defineTxKind, listLeaf, merkleRoot, type TxContext, type TxKind, type TxMessage } from '../ledger/index.ts'
import { fromHex, toHex } from '../core/index.ts'
import { ALL_MEDIA_TYPES, isMediaType } from './media.ts'
import {
  acceptedKey,
  authorKey,
  authorSeqKey,
  contributionKey,
  contributionSeqKey,
  COUNT_KEY,
  datanetCount,
  datanetIndexKey,
  datanetKey,
  emptyAuthorStats,
  excludedIds,
  excludedKey,
  getAuthorStats,
  getContribution,
  getDatanet,
  hashKey,
  nameKey,
  readJson,
  versionContributionIds,
  versionKey,
  type AuthorStats,
  type ContributionRecord,
  type DatanetRecord,
  type VersionRecord,
} from './state.ts'

export const MAX_NAME = 64
export const MAX_DESCRIPTION = 2000
export const MAX_LICENSE = 100
export const MAX_TITLE = 300
export const MAX_REASON = 1000
export const MAX_CURATORS = 32
/** The largest maxSize a Datanet may declare (1 TiB); the node's blob limit applies on top. */
export const MAX_RULE_SIZE = 1n << 40n

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._'&()-]*[A-Za-z0-9.)]$|^[A-Za-z0-9]$/

const bad = (field: string, message: string, code: ErrorCode = 'invalid_field', extra: Record<string, unknown> = {}): SinewError =>
  new SinewError({ code, message: `message.${field} ${message}`, details: { field: `message.${field}`, ...extra } })

// The message types, read off each kind's EIP-712 fields (declared below).
export type CreateDatanetMessage = TxMessage<typeof createDatanetKind>
export type UpdateDatanetMessage = TxMessage<typeof updateDatanetKind>
export type CuratorMessage = TxMessage<typeof addCuratorKind>
export type ContributeMessage = TxMessage<typeof contributeKind>
export type ReviewMessage = TxMessage<typeof reviewKind>
export type PublishVersionMessage = TxMessage<typeof publishVersionKind>
export type ExcludeContributionMessage = TxMessage<typeof excludeContributionKind>

function validateRules(m: { description: string; license: string; mediaTypes: string[]; maxSize: bigint }): void {
  if ([...m.description].length > MAX_DESCRIPTION) throw bad('description', `is longer than ${MAX_DESCRIPTION} characters`)
  if (m.license.length === 0 || [...m.license].length > MAX_LICENSE)
    throw bad('license', `must be 1-${MAX_LICENSE} characters (an SPDX id such as CC-BY-4.0, or "proprietary")`)
  if (m.mediaTypes.length === 0) throw bad('mediaTypes', 'must list at least one media type', 'invalid_field', { known: ALL_MEDIA_TYPES })
  m.mediaTypes.forEach((t, i) => {
    if (!isMediaType(t))
      throw bad(`mediaTypes[${i}]`, `is not a supported media type: ${JSON.stringify(t.slice(0, 100))}`, 'unsupported_media_type', { known: ALL_MEDIA_TYPES })
  })
  if (new Set(m.mediaTypes).size !== m.mediaTypes.length) throw bad('mediaTypes', 'lists a media type twice')
  if (m.maxSize === 0n || m.maxSize > MAX_RULE_SIZE) throw bad('maxSize', `must be 1 to ${MAX_RULE_SIZE} bytes`)
}

const RULE_FIELDS = [
  { name: 'description', type: 'string' },
  { name: 'license', type: 'string' },
  { name: 'mediaTypes', type: 'string[]' },
  { name: 'maxSize', type: 'uint64' },
  { name: 'stake', type: 'uint256' },
] as const

function requireDatanet(ctx: TxContext, id: Hex, field = 'message.datanet'): DatanetRecord {
  const d = getDatanet(ctx.state, id)
  if (!d) {
    throw new SinewError({
      code: 'datanet_not_found',
      message: `No Datanet ${id}`,
      details: { field, datanet: id },
      hint: 'A Datanet id is the hash of its CreateDatanet tx (GET /v1/datanets lists them).',
    })
  }
  return d
}

function requireOwner(ctx: TxContext, d: DatanetRecord, action: string): void {
  if (ctx.sender !== d.owner) {
    throw new SinewError({
      code: 'not_owner',
      message: `Only the owner of ${d.name} can ${action}`,
      details: { field: 'signature', sender: ctx.sender, owner: d.owner, datanet: d.id },
    })
  }
}

const add = (a: string, b: bigint): string => (BigInt(a) + b).toString()

function saveDatanet(ctx: TxContext, d: DatanetRecord): void {
  d.updatedAt = ctx.height.toString()
  ctx.state.setJson(datanetKey(d.id), d)
}

export const createDatanetKind = defineTxKind({
  type: 'CreateDatanet',
  description:
    'Create a Datanet owned by the signer: its name (unique), description, license and contribution rules (accepted media types, max size in bytes, stake per contribution in SIN base units). Its id is this tx hash.',
  fields: [{ name: 'name', type: 'string' }, ...RULE_FIELDS],
  validate(m) {
    if (m.name.length === 0 || [...m.name].length > MAX_NAME || !NAME.test(m.name) || /^0x/i.test(m.name)) {
      throw bad(
        'name',
        `must be 1-${MAX_NAME} characters of letters, digits, spaces and . _ ' & ( ) -, start and end with a letter or digit, and not start with 0x`,
      )
    }
    validateRules(m)
  },
  execute(ctx, m) {
    const existing = readJson<Hex>(ctx.state, nameKey(m.name))
    if (existing) {
      throw new SinewError({
        code: 'datanet_name_taken',
        message: `A Datanet named ${JSON.stringify(m.name)} exists already`,
        details: { field: 'message.name', datanet: existing },
        hint: 'Pick another name.',
      })
    }
    const id = ctx.txHash
    const n = datanetCount(ctx.state)
    const record: DatanetRecord = {
      id,
      name: m.name,
      description: m.description,
      license: m.license,
      owner: ctx.sender,
      curators: [],
      rules: { mediaTypes: m.mediaTypes, maxSize: m.maxSize.toString(), stake: m.stake.toString() },
      createdAt: { height: ctx.height.toString(), timestamp: ctx.timestamp.toString() },
      updatedAt: ctx.height.toString(),
      counts: { contributions: 0, pending: 0, accepted: 0, rejected: 0 },
      contributors: 0,
      stakeLocked: '0',
      stakeForfeited: '0',
      versions: 0,
    }
    ctx.state.setJson(datanetKey(id), record)
    ctx.state.setJson(nameKey(m.name), id)
    ctx.state.setJson(datanetIndexKey(n), id)
    ctx.state.setJson(COUNT_KEY, { count: n + 1 })
    return { datanet: id, name: m.name, owner: ctx.sender }
  },
})

export const updateDatanetKind = defineTxKind({
  type: 'UpdateDatanet',
  description: "Replace a Datanet's description, license and rules (owner only). Pending contributions keep the stake they locked.",
  fields: [{ name: 'datanet', type: 'bytes32' }, ...RULE_FIELDS],
  validate: validateRules,
  execute(ctx, m) {
    const d = requireDatanet(ctx, m.datanet)
    requireOwner(ctx, d, 'update it')
    d.description = m.description
    d.license = m.license
    d.rules = { mediaTypes: m.mediaTypes, maxSize: m.maxSize.toString(), stake: m.stake.toString() }
    saveDatanet(ctx, d)
    return { datanet: d.id }
  },
})

const curatorFields = [
  { name: 'datanet', type: 'bytes32' },
  { name: 'curator', type: 'address' },
] as const

export const addCuratorKind = defineTxKind({
  type: 'AddCurator',
  description: 'Let `curator` review contributions to a Datanet (owner only).',
  fields: curatorFields,
  execute(ctx, m) {
    const d = requireDatanet(ctx, m.datanet)
    requireOwner(ctx, d, 'add curators')
    if (d.curators.includes(m.curator) || m.curator === d.owner) {
      throw new SinewError({
        code: 'already_curator',
        message: `${m.curator} can already review ${d.name}`,
        details: { field: 'message.curator', curator: m.curator },
      })
    }
    if (d.curators.length >= MAX_CURATORS)
      throw new SinewError({ code: 'too_many_curators', message: `A Datanet has at most ${MAX_CURATORS} curators`, details: { field: 'message.curator' } })
    d.curators = [...d.curators, m.curator].sort()
    saveDatanet(ctx, d)
    return { datanet: d.id, curator: m.curator }
  },
})

export const removeCuratorKind = defineTxKind({
  type: 'RemoveCurator',
  description: 'Withdraw the review right of `curator` (owner only).',
  fields: curatorFields,
  execute(ctx, m) {
    const d = requireDatanet(ctx, m.datanet)
    requireOwner(ctx, d, 'remove curators')
    if (!d.curators.includes(m.curator))
      throw new SinewError({
        code: 'not_curator',
        message: `${m.curator} is not a curator of ${d.name}`,
        details: { field: 'message.curator', curator: m.curator },
      })
    d.curators = d.curators.filter((c) => c !== m.curator)
    saveDatanet(ctx, d)
    return { datanet: d.id, curator: m.curator }
  },
})

export const contributeKind = defineTxKind({
  type: 'Contribute',
  description:
    "Contribute content (uploaded first with PUT /v1/blobs; contentHash is its sha256) to a Datanet, locking the Datanet's stake until a curator's verdict. Its id is this tx hash.",
  fields: [
    { name: 'datanet', type: 'bytes32' },
    { name: 'contentHash', type: 'bytes32' },
    { name: 'title', type: 'string' },
    { name: 'mediaType', type: 'string' },
    { name: 'size', type: 'uint64' },
  ],
  validate(m) {
    if (m.title.trim().length === 0 || [...m.title].length > MAX_TITLE) throw bad('title', `must be 1-${MAX_TITLE} characters`)
    if (!isMediaType(m.mediaType))
      throw bad('mediaType', `is not a supported media type: ${JSON.stringify(m.mediaType.slice(0, 100))}`, 'unsupported_media_type', {
        known: ALL_MEDIA_TYPES,
      })
    if (m.size === 0n) throw bad('size', 'must be above zero (empty content has nothing to attribute)')
  },
  execute(ctx, m) {
    const d = requireDatanet(ctx, m.datanet)
    if (!d.rules.mediaTypes.includes(m.mediaType)) {
      throw new SinewError({
        code: 'media_type_not_accepted',
        message: `${d.name} does not accept ${m.mediaType}`,
        details: { field: 'message.mediaType', got: m.mediaType, accepted: d.rules.mediaTypes },
      })
    }
    if (m.size > BigInt(d.rules.maxSize)) {
      throw new SinewError({
        code: 'too_large',
        message: `${m.size} bytes is over ${d.name}'s limit of ${d.rules.maxSize}`,
        details: { field: 'message.size', got: m.size.toString(), maxSize: d.rules.maxSize },
      })
    }
    const earlierId = readJson<Hex>(ctx.state, hashKey(d.id, m.contentHash))
    if (earlierId) {
      const earlier = getContribution(ctx.state, earlierId)!
      throw new SinewError({
        code: 'duplicate_contribution',
        message: `${d.name} already has this content: contribution ${earlier.id} by ${earlier.author} (${earlier.status})`,
        details: {
          field: 'message.contentHash',
          contentHash: m.contentHash,
          contribution: earlier.id,
          author: earlier.author,
          status: earlier.status,
          title: earlier.title,
        },
        hint: 'An exact duplicate earns nothing: the earlier contribution is credited for this content.',
      })
    }
    const stake = BigInt(d.rules.stake)
    if (stake > 0n) debit(ctx.state, ctx.sender, stake, 'stake')
    const id = ctx.txHash
    const seq = d.counts.contributions
    const record: ContributionRecord = {
      id,
      datanet: d.id,
      seq,
      author: ctx.sender,
      contentHash: m.contentHash,
      title: m.title,
      mediaType: m.mediaType,
      size: m.size.toString(),
      stake: stake.toString(),
      status: 'pending',
      submittedAt: { height: ctx.height.toString(), timestamp: ctx.timestamp.toString() },
      acceptedIndex: null,
      review: null,
    }
    ctx.state.setJson(contributionKey(id), record)
    ctx.state.setJson(contributionSeqKey(d.id, seq), id)
    ctx.state.setJson(hashKey(d.id, m.contentHash), id)
    let stats = getAuthorStats(ctx.state, d.id, ctx.sender)
    if (!stats) {
      stats = emptyAuthorStats(ctx.sender)
      ctx.state.setJson(authorSeqKey(d.id, d.contributors), ctx.sender)
      d.contributors += 1
    }
    stats.contributions += 1
    stats.pending += 1
    stats.stakeLocked = add(stats.stakeLocked, stake)
    ctx.state.setJson(authorKey(d.id, ctx.sender), stats)
    d.counts = { ...d.counts, contributions: seq + 1, pending: d.counts.pending + 1 }
    d.stakeLocked = add(d.stakeLocked, stake)
    saveDatanet(ctx, d)
    return { contribution: id, datanet: d.id, seq, stake }
  },
})

export const reviewKind = defineTxKind({
  type: 'Review',
  description:
    'Accept or reject a pending contribution (Datanet owner or curator; one verdict per contribution). Accepted: its stake goes back to the author. Rejected: the stake is paid to the Datanet owner.',
  fields: [
    { name: 'contribution', type: 'bytes32' },
    { name: 'accept', type: 'bool' },
    { name: 'reason', type: 'string' },
  ],
  validate(m) {
    if ([...m.reason].length > MAX_REASON) throw bad('reason', `is longer than ${MAX_REASON} characters`)
    if (!m.accept && m.reason.trim().length === 0) throw bad('reason', 'must say why when rejecting')
  },
  execute(ctx, m) {
    const c = getContribution(ctx.state, m.contribution)
    if (!c)
      throw new SinewError({
        code: 'contribution_not_found',
        message: `No contribution ${m.contribution}`,
        details: { field: 'message.contribution', contribution: m.contribution },
      })
    const d = getDatanet(ctx.state, c.datanet)!
    if (ctx.sender !== d.owner && !d.curators.includes(ctx.sender)) {
      throw new SinewError({
        code: 'not_curator',
        message: `${ctx.sender} is neither the owner nor a curator of ${d.name}`,
        details: { field: 'signature', sender: ctx.sender, owner: d.owner, curators: d.curators },
        hint: 'The owner adds reviewers with AddCurator.',
      })
    }
    if (c.review) {
      throw new SinewError({
        code: 'already_reviewed',
        message: `Contribution ${c.id} already has a verdict: ${c.review.verdict} by ${c.review.by}`,
        details: { field: 'message.contribution', contribution: c.id, verdict: c.review.verdict, by: c.review.by, height: c.review.height },
        hint: 'One verdict per contribution; it cannot be changed.',
      })
    }
    const stake = BigInt(c.stake)
    const stats: AuthorStats = getAuthorStats(ctx.state, d.id, c.author)!
    stats.pending -= 1
    stats.stakeLocked = add(stats.stakeLocked, -stake)
    d.counts = { ...d.counts, pending: d.counts.pending - 1 }
    d.stakeLocked = add(d.stakeLocked, -stake)
    if (m.accept) {
      if (stake > 0n) credit(ctx.state, c.author, stake)
      c.status = 'accepted'
      c.acceptedIndex = d.counts.accepted
      ctx.state.setJson(acceptedKey(d.id, d.counts.accepted), c.id)
      d.counts = { ...d.counts, accepted: d.counts.accepted + 1 }
      stats.accepted += 1
      stats.stakeReturned = add(stats.stakeReturned, stake)
      stats.bytesAccepted = add(stats.bytesAccepted, BigInt(c.size))
    } else {
      if (stake > 0n) credit(ctx.state, d.owner, stake)
      c.status = 'rejected'
      // The hash is free again: the same content may be contributed anew (with a new stake).
      ctx.state.delete(hashKey(d.id, c.contentHash))
      d.counts = { ...d.counts, rejected: d.counts.rejected + 1 }
      d.stakeForfeited = add(d.stakeForfeited, stake)
      stats.rejected += 1
      stats.stakeForfeited = add(stats.stakeForfeited, stake)
    }
    c.review = { by: ctx.sender, verdict: m.accept ? 'accept' : 'reject', reason: m.reason, height: ctx.height.toString(), txHash: ctx.txHash }
    ctx.state.setJson(contributionKey(c.id), c)
    ctx.state.setJson(authorKey(d.id, c.author), stats)
    saveDatanet(ctx, d)
    return { contribution: c.id, datanet: d.id, status: c.status, stake, paidTo: m.accept ? c.author : d.owner }
  },
})

/**
 * The owner's way out of an accepted contribution that should not be in the data (its
 * bytes never arrived, cannot be read, or should not have been accepted): verdicts are
 * final, so it stays accepted (its stake stays returned, versions already published keep
 * it), but every version published after this tx leaves it out. Owner only, like
 * publishing: it changes what the owner's versions hold, which a curator's verdict does not.
 */
export const excludeContributionKind = defineTxKind({
  type: 'ExcludeContribution',
  description:
    'Leave an accepted contribution out of every version of the Datanet published after this tx (owner only; versions already published keep it). The verdict and the stake stay as they are.',
  fields: [
    { name: 'datanet', type: 'bytes32' },
    { name: 'contribution', type: 'bytes32' },
    { name: 'reason', type: 'string' },
  ],
  validate(m) {
    if (m.reason.trim().length === 0 || [...m.reason].length > MAX_REASON) throw bad('reason', `must say why, in 1-${MAX_REASON} characters`)
  },
  execute(ctx, m) {
    const d = requireDatanet(ctx, m.datanet)
    requireOwner(ctx, d, 'exclude contributions')
    const c = getContribution(ctx.state, m.contribution)
    if (!c || c.datanet !== d.id) {
      throw new SinewError({
        code: 'contribution_not_found',
        message: `${d.name} has no contribution ${m.contribution}`,
        details: { field: 'message.contribution', contribution: m.contribution, datanet: d.id, ...(c ? { inDatanet: c.datanet } : {}) },
      })
    }
    if (c.status !== 'accepted') {
      throw new SinewError({
        code: 'not_accepted',
        message: `Contribution ${c.id} is ${c.status}: only accepted contributions can be excluded`,
        details: { field: 'message.contribution', contribution: c.id, status: c.status },
        hint: c.status === 'pending' ? 'Reject it with Review instead.' : 'A rejected contribution is in no version already.',
      })
    }
    if (c.excluded) {
      throw new SinewError({
        code: 'already_excluded',
        message: `Contribution ${c.id} was excluded at height ${c.excluded.height}`,
        details: { field: 'message.contribution', contribution: c.id, by: c.excluded.by, height: c.excluded.height, reason: c.excluded.reason },
      })
    }
    const k = d.excluded ?? 0
    c.excluded = { by: ctx.sender, reason: m.reason, height: ctx.height.toString(), txHash: ctx.txHash }
    ctx.state.setJson(contributionKey(c.id), c)
    ctx.state.setJson(excludedKey(d.id, k), c.id)
    d.excluded = k + 1
    saveDatanet(ctx, d)
    return { datanet: d.id, contribution: c.id, excluded: k + 1 }
  },
})

/** The Merkle root of a version: list tree over listLeaf(i, contributionId) of its documents. */
export function versionRoot(ids: readonly Hex[]): Hex {
  return toHex(merkleRoot(ids.map((id, i) => listLeaf(i, fromHex(id)))))
}

export const publishVersionKind = defineTxKind({
  type: 'PublishVersion',
  description:
    'Freeze the accepted contributions of a Datanet, less those the owner excluded, as its next version, with a Merkle root over their ids (owner only). Nodes then build the attribution index of the version.',
  fields: [{ name: 'datanet', type: 'bytes32' }],
  execute(ctx, m) {
    const d = requireDatanet(ctx, m.datanet)
    requireOwner(ctx, d, 'publish versions')
    const count = d.counts.accepted
    if (count === 0) {
      throw new SinewError({
        code: 'no_accepted_contributions',
        message: `${d.name} has no accepted contribution to publish`,
        details: { field: 'message.datanet', datanet: d.id, pending: d.counts.pending },
        hint: 'Accept contributions with Review first.',
      })
    }
    // Every exclusion is of an accepted contribution, so all of them fall among the first `count`.
    const excludedSet = new Set(excludedIds(ctx.state, d))
    const all = versionContributionIds(ctx.state, d.id, count)
    const excluded = all.filter((id) => excludedSet.has(id))
    const ids = all.filter((id) => !excludedSet.has(id))
    if (d.versions > 0) {
      const last = readJson<VersionRecord>(ctx.state, versionKey(d.id, d.versions))!
      if (last.contributions === count && (last.excluded?.length ?? 0) === excluded.length) {
        throw new SinewError({
          code: 'version_unchanged',
          message: `Version ${d.versions} of ${d.name} already holds all ${count} accepted contributions`,
          details: { field: 'message.datanet', datanet: d.id, version: d.versions },
          hint: 'Accept more contributions (or exclude one) before publishing again.',
        })
      }
    }
    if (ids.length === 0) {
      throw new SinewError({
        code: 'no_accepted_contributions',
        message: `Every accepted contribution of ${d.name} is excluded: nothing to publish`,
        details: { field: 'message.datanet', datanet: d.id, excluded: excluded.length },
        hint: 'Accept contributions with Review first.',
      })
    }
    let bytes = 0n
    for (const id of ids) bytes += BigInt(getContribution(ctx.state, id)!.size)
    const version: VersionRecord = {
      datanet: d.id,
      version: d.versions + 1,
      contributions: count,
      ...(excluded.length > 0 ? { excluded } : {}),
      root: versionRoot(ids),
      bytes: bytes.toString(),
      publisher: ctx.sender,
      txHash: ctx.txHash,
      height: ctx.height.toString(),
      timestamp: ctx.timestamp.toString(),
    }
    ctx.state.setJson(versionKey(d.id, version.version), version)
    d.versions = version.version
    saveDatanet(ctx, d)
    return {
      datanet: d.id,
      version: version.version,
      root: version.root,
      contributions: count,
      ...(excluded.length > 0 ? { excluded: excluded.length } : {}),
    }
  },
})

export const datanetKinds: TxKind<any>[] = [
  createDatanetKind,
  updateDatanetKind,
  addCuratorKind,
  removeCuratorKind,
  contributeKind,
  reviewKind,
  excludeContributionKind,
  publishVersionKind,
]
