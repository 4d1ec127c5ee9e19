/**
 * Follows the chain's committed txs in order, from genesis on, handing each to `onTx` exactly
 * once: the indexes built from the store's history (earnings, usage) share this one loop.
 * `update()` catches up with the store's head; calls made while a scan runs wait for it.
 */
import type { BlockRow, Store, TxRow } from '../store/index.ts'

export class TxTail {
  private scanned = 0n
  private scanning: Promise<void> | undefined

  constructor(
    private readonly store: Store,
    private readonly onTx: (row: TxRow, block: BlockRow) => void,
  ) {}

  /** Catches up with the store's head. */
  async update(): Promise<void> {
    while (this.scanning) await this.scanning
    this.scanning = this.scan().finally(() => (this.scanning = undefined))
    await this.scanning
  }

  private async scan(): Promise<void> {
    const head = await this.store.head()
    if (!head) return
    while (this.scanned < head.height) {
      const blocks = await this.store.listBlocks(this.scanned + 1n, 500)
      if (blocks.length === 0) break
      for (const b of blocks) {
        if (b.txCount > 0) for (const row of await this.store.getBlockTxs(b.height)) this.onTx(row, b)
        this.scanned = b.height
      }
    }
  }
}
