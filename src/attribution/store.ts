/**
 * Fixed-width little-endian integer arrays read from index files, either held in memory
 * (one read of the whole file) or paged in on demand with positioned reads and a bounded
 * page cache, so an index larger than memory still answers queries.
 */
import { closeSync, openSync, readSync } from 'node:fs'
import { corrupt } from './format.ts'

export interface IntArray {
  readonly length: number
  get(i: number): number
}

// Little-endian reads of 2, 3 and 4 bytes at byte offset j: the one place each width is
// decoded, for memory and paged arrays alike (small enough to be inlined where called).
function u16(b: Buffer, j: number): number {
  return b[j] | (b[j + 1] << 8)
}
function u24(b: Buffer, j: number): number {
  return b[j] | (b[j + 1] << 8) | (b[j + 2] << 16)
}
function u32(b: Buffer, j: number): number {
  return b.readUInt32LE(j)
}

// One class per width, so that a memory array's get() does no width test.
class Mem2 implements IntArray {
  constructor(
    private readonly b: Buffer,
    readonly length: number,
  ) {}
  get(i: number): number {
    return u16(this.b, i * 2)
  }
}

class Mem3 implements IntArray {
  constructor(
    private readonly b: Buffer,
    readonly length: number,
  ) {}
  get(i: number): number {
    return u24(this.b, i * 3)
  }
}

class Mem4 implements IntArray {
  constructor(
    private readonly b: Buffer,
    readonly length: number,
  ) {}
  get(i: number): number {
    return u32(this.b, i * 4)
  }
}

export function memoryArray(buf: Buffer, width: number, length: number): IntArray {
  if (width === 2) return new Mem2(buf, length)
  if (width === 3) return new Mem3(buf, length)
  return new Mem4(buf, length)
}

// 1024 elements per page: 2-4 KiB per read. Queries touch pages at random (binary search
// over the suffix array, then the tokens at each probed position), so a page should be
// about what one probe needs; larger pages mostly read bytes nobody looks at.
const PAGE_SHIFT = 10
const PAGE_ELEMS = 1 << PAGE_SHIFT

/** Every page lives in a fixed slot of this size (1 Ki elements of at most 4 bytes). */
const SLOT_BYTES = PAGE_ELEMS * 4
/** Slots are carved from slabs of this many slots (4 MiB), allocated as the cache fills. */
const SLAB_SLOTS = 1024

/**
 * The page cache of one index, shared by all its paged arrays: at most `maxBytes` of pages.
 * Pages live in fixed slots of slabs that are allocated once and reused, so reading
 * gigabytes through the cache does not churn the allocator and the process's memory stays
 * at about the cache size. Eviction is CLOCK (second chance): a page used since the hand
 * last passed it is kept, so the pages every binary search starts with (the top levels)
 * stay cached.
 */
export class PageBudget {
  private ringArr: PagedArray[] = []
  private ringPage: number[] = []
  private head = 0
  private readonly slabs: Buffer[] = []
  private readonly free: Buffer[] = []
  private readonly maxSlots: number
  private slots = 0
  /** Bytes of pages held now. */
  bytes = 0
  /** Bytes read from files so far (pages read again after eviction count again). */
  bytesRead = 0
  constructor(readonly maxBytes: number) {
    this.maxSlots = Math.max(2, Math.floor(maxBytes / SLOT_BYTES))
  }
  /** A slot for a new page: a free one, a new one while under budget, else an evicted one. */
  slot(): Buffer {
    const f = this.free.pop()
    if (f) return f
    if (this.slots < this.maxSlots) {
      const n = Math.min(SLAB_SLOTS, this.maxSlots - this.slots)
      const slab = Buffer.allocUnsafeSlow(n * SLOT_BYTES)
      this.slabs.push(slab)
      for (let i = n - 1; i > 0; i--) this.free.push(slab.subarray(i * SLOT_BYTES, (i + 1) * SLOT_BYTES))
      this.slots += n
      return slab.subarray(0, SLOT_BYTES)
    }
    for (;;) {
      const a = this.ringArr[this.head]
      const p = this.ringPage[this.head]
      this.head++
      if (this.head > 4096 && this.head * 2 > this.ringArr.length) {
        this.ringArr = this.ringArr.slice(this.head)
        this.ringPage = this.ringPage.slice(this.head)
        this.head = 0
      }
      if (a.referenced(p)) {
        this.ringArr.push(a) // second chance
        this.ringPage.push(p)
      } else {
        const [slot, size] = a.evict(p)
        this.bytes -= size
        return slot
      }
    }
  }
  admit(arr: PagedArray, page: number, size: number): void {
    this.bytes += size
    this.bytesRead += size
    this.ringArr.push(arr)
    this.ringPage.push(page)
  }
}

export class PagedArray implements IntArray {
  private readonly pages: (Buffer | undefined)[]
  /** CLOCK reference bits: set on every hit, cleared when the hand passes. */
  private readonly used: Uint8Array
  private fd: number
  constructor(
    private readonly path: string,
    private readonly width: number,
    readonly length: number,
    private readonly budget: PageBudget,
  ) {
    this.fd = openSync(path, 'r')
    this.pages = new Array(Math.ceil(length / PAGE_ELEMS))
    this.used = new Uint8Array(this.pages.length)
  }
  get(i: number): number {
    const p = i >>> PAGE_SHIFT
    let page = this.pages[p]
    if (page === undefined) page = this.load(p)
    else this.used[p] = 1
    const j = (i & (PAGE_ELEMS - 1)) * this.width
    if (this.width === 3) return u24(page, j)
    if (this.width === 2) return u16(page, j)
    return u32(page, j)
  }
  private load(p: number): Buffer {
    if (p >= this.pages.length) throw corrupt('read past the end of an array', { file: this.path })
    const elems = Math.min(PAGE_ELEMS, this.length - p * PAGE_ELEMS)
    const size = elems * this.width
    const buf = this.budget.slot()
    let got = 0
    while (got < size) {
      const r = readSync(this.fd, buf, got, size - got, p * PAGE_ELEMS * this.width + got)
      if (r === 0) throw corrupt('file is truncated', { file: this.path })
      got += r
    }
    this.pages[p] = buf
    this.used[p] = 0
    this.budget.admit(this, p, size)
    return buf
  }
  /** Whether page p was used since the last call (clears the bit). */
  referenced(p: number): boolean {
    const u = this.used[p] === 1
    this.used[p] = 0
    return u
  }
  /** Drops page p; returns its slot for reuse and its size in bytes. */
  evict(p: number): [Buffer, number] {
    const page = this.pages[p]!
    this.pages[p] = undefined
    const elems = Math.min(PAGE_ELEMS, this.length - p * PAGE_ELEMS)
    return [page, elems * this.width]
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}
