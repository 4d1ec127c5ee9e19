/**
 * How other modules name Datanet versions and find their contributions: a version ref is
 * `<datanet id or name>@<n>` (e.g. `0xab…@1` or `State of the Union@1`).
 * `datanetsResolver` has the shape of the models module's ContributionResolver (ledger
 * state only, so replays agree); `datanetIndexProvider` the gateway's IndexProvider.
 */
import { join } from 'node:path'
import type { AttributionIndex } from '../attribution/index.ts'
import { isHex, SinewError } from '../core/index.ts'
import type { Address, StateReader } from '../ledger/index.ts'
import type { Datanets } from './service.ts'
import { datanetIdByName, getContribution, getDatanet, getVersion } from './state.ts'

export function parseVersionRef(ref: string): { datanet: string; version: number } | undefined {
  const at = ref.lastIndexOf('@')
  if (at <= 0) return undefined
  const version = Number(ref.slice(at + 1))
  if (!Number.isSafeInteger(version) || version < 1 || String(version) !== ref.slice(at + 1)) return undefined
  return { datanet: ref.slice(0, at), version }
}

function resolveId(state: StateReader, datanet: string): string | undefined {
  if (isHex(datanet, 32)) return getDatanet(state, datanet.toLowerCase()) ? datanet.toLowerCase() : undefined
  return datanetIdByName(state, datanet)
}

export const datanetsResolver = {
  authorOf(state: StateReader, contribution: string): Address | undefined {
    const c = isHex(contribution, 32) ? getContribution(state, contribution.toLowerCase()) : undefined
    return c && c.status === 'accepted' ? c.author : undefined
  },
  versionExists(state: StateReader, ref: string): boolean {
    const p = parseVersionRef(ref)
    if (!p) return false
    const id = resolveId(state, p.datanet)
    return id !== undefined && getVersion(state, id, p.version) !== undefined
  },
  strict: true,
} as const

export function datanetIndexProvider(
  datanets: Datanets,
): (ref: string) => { index: AttributionIndex; authorOf: (contribution: string) => Address | undefined } {
  return (ref) => {
    const p = parseVersionRef(ref)
    if (!p)
      throw new SinewError({
        code: 'invalid_version_ref',
        message: `Not a Datanet version ref: ${ref}`,
        details: { ref },
        hint: 'Write <datanet id or name>@<version>, e.g. 0xab…@1.',
      })
    const d = datanets.resolve(p.datanet)
    return { index: datanets.index(d, p.version), authorOf: (c) => datanetsResolver.authorOf(datanets.state, c) }
  }
}

/**
 * Where a node keeps the attribution index of Datanet version `n` (the IndexBuilder's
 * layout): `<indexRoot>/<datanet id>/<n>/index`, `indexRoot` being `<dataDir>/indexes`.
 */
export const versionIndexDir = (indexRoot: string, datanet: string, version: number): string => join(indexRoot, datanet.toLowerCase(), String(version), 'index')
