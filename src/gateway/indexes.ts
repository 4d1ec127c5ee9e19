/**
 * Where the gateway finds the attribution index of a Datanet version. The Datanets module
 * provides the real one; until it is wired, a directory provider serves prebuilt indexes:
 * `<root>/<encodeURIComponent(ref)>/` holds the index files (`sinew index build`) and an
 * optional `authors.json` mapping document (contribution) ids to author addresses.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openIndex, type AttributionIndex } from '../attribution/index.ts'
import { SinewError } from '../core/index.ts'
import { parseAddress, type Address } from '../ledger/index.ts'
import type { IndexProvider, IndexSource } from './gateway.ts'

export const indexDirFor = (root: string, ref: string): string => join(root, encodeURIComponent(ref))

export function dirIndexProvider(root: string): IndexProvider {
  const cache = new Map<string, IndexSource>()
  return (ref) => {
    const hit = cache.get(ref)
    if (hit) return hit
    const dir = indexDirFor(root, ref)
    if (!existsSync(dir)) throw new SinewError({ code: 'not_found', message: `Datanet index not found: ${ref}`, details: { datanet_index: ref, dir } })
    const index: AttributionIndex = openIndex(dir)
    const authorsFile = join(dir, 'authors.json')
    const authors = new Map<string, Address>()
    if (existsSync(authorsFile)) {
      const raw = JSON.parse(readFileSync(authorsFile, 'utf8')) as Record<string, string>
      for (const [doc, a] of Object.entries(raw)) authors.set(doc, parseAddress(a, `authors.json ${doc}`))
    }
    const source: IndexSource = { index, authorOf: (doc) => authors.get(doc) }
    cache.set(ref, source)
    return source
  }
}
