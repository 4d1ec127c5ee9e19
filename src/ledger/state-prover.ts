/**
 * State proofs at any height the store's state history covers (docs/state-proofs.md §3.6):
 * a claim on the settlement contract proves against a checkpointed stateRoot, which is
 * usually behind the head. The tree at height H is the head's tree (cloned: a few memcpys)
 * with the keys written after H put back to their values at H: O(changed keys × log n), not
 * a rebuild. Rebuilt trees are cached (the latest checkpoint is asked for again and again)
 * and rebuilt one at a time, so strangers asking for many heights cost one tree's memory.
 */
import { SinewError, toHex, type Hex } from '../core/index.ts'
import { parseAddress } from './address.ts'
import type { Chain } from './chain.ts'
import type { SignedHeader } from './header.ts'
import type { SparseMerkleTree, StateProof } from './merkle/index.ts'
import { stateKeyHash, stateValueHash } from './state.ts'

export type KeyProof = { key: string; value: Hex | null; proof: StateProof; header: SignedHeader }

/**
 * The one spelling of a state key. `acct/` keys hold a lower-case address: a mixed-case (or
 * upper-case) address is put in lower case after its EIP-55 check, so it gets the proof of
 * the account (never an absence proof of a key no one writes); `acct/` and anything but an
 * address is refused.
 */
export function canonicalStateKey(key: string): string {
  if (!key.startsWith('acct/')) return key
  return `acct/${parseAddress(key.slice('acct/'.length), 'key')}`
}

export class StateProver {
  private readonly trees = new Map<bigint, SparseMerkleTree>()
  private rebuilding: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly chain: Chain,
    private readonly cacheSize = 2,
  ) {}

  /** A proof of `key` against block `height`'s stateRoot (default: the head). */
  async prove(rawKey: string, height?: bigint): Promise<KeyProof> {
    const key = canonicalStateKey(rawKey)
    const head = this.chain.head
    if (height === undefined || height === head.height) return { ...this.chain.state.prove(key), header: head }
    const store = this.chain.store
    const from = store ? BigInt((await store.getMeta('state_history_from')) ?? '0') : head.height
    if (height > head.height || height < from || !store) {
      throw new SinewError({
        code: 'proof_height_unavailable',
        message: height > head.height ? `Block ${height} is above the head (${head.height})` : `This node keeps no state history at block ${height}`,
        details: { height: height.toString(), head: head.height.toString(), historyFrom: from.toString() },
        hint: `Ask for a height from ${from} to ${head.height}.`,
      })
    }
    const header = await store.getBlock(height)
    if (!header) throw new SinewError({ code: 'not_found', message: `No block ${height}`, details: { height: height.toString() } })
    const tree = await this.treeAt(header)
    const value = await store.getStateAt(key, height)
    const valueHex = value ? (`0x${Buffer.from(value).toString('hex')}` as Hex) : null
    return { key, value: valueHex, proof: tree.prove(stateKeyHash(key)), header }
  }

  private async treeAt(header: SignedHeader): Promise<SparseMerkleTree> {
    const cached = this.trees.get(header.height)
    if (cached) return cached
    const run = this.rebuilding.then(async () => {
      const again = this.trees.get(header.height)
      if (again) return again
      const { tree, head } = await this.headSnapshot()
      const store = this.chain.store!
      const updates: [Uint8Array, Uint8Array | null][] = []
      for (const key of await store.keysWrittenBetween(header.height, head.height)) {
        const value = await store.getStateAt(key, header.height)
        updates.push([stateKeyHash(key), value ? stateValueHash(value) : null])
      }
      tree.update(updates)
      if (toHex(tree.root()) !== header.stateRoot) {
        throw new SinewError({
          code: 'integrity',
          message: `The state history does not rebuild block ${header.height}'s stateRoot`,
          details: { height: header.height.toString(), stateRoot: header.stateRoot, computed: toHex(tree.root()), head: head.height.toString() },
        })
      }
      this.trees.set(header.height, tree)
      while (this.trees.size > this.cacheSize) this.trees.delete(this.trees.keys().next().value!)
      return tree
    })
    this.rebuilding = run.catch(() => undefined)
    return run
  }

  /**
   * A copy of the head's tree. While a block is being committed the in-memory state is
   * already past the head (or being rolled back): then wait for the commit to settle.
   */
  private async headSnapshot(): Promise<{ tree: SparseMerkleTree; head: SignedHeader }> {
    for (;;) {
      const head = this.chain.head
      if (toHex(this.chain.state.root()) === head.stateRoot) return { tree: this.chain.state.treeSnapshot(), head }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  }
}
