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

class Mem2 implements IntArray {
  constructor(private readonly b: Buffer, readonly length: number) {}
  get(i: number): number {
    const j = i * 2
    return this.b[j] | (this.b[j + 1] << 8)
  }
}

class Mem3 implements IntArray {
  constructor(private readonly b: Buffer, readonly length: number) {}
  get(i: number): number {
    const b = this.b
    const j = i * 3
    return b[j] | (b[j + 1] << 8) | (b[j + 2] << 16)
  }
}

class Mem4 implements IntArray {
  constructor(private readonly b: Buffer, readonly length: number) {}
  get(i: number): number {
    return this.b.readUInt32LE(i * 4)
  }
}

export function memoryArray(buf: Buffer, width: number, length: number): IntArray {
  if (width === 2) return new Mem2(buf, length)
  if (width === 3) return new Mem3(buf, length)
  return new Mem4(buf, length)
}

const PAGE_SHIFT = 14 // 16384 elements per page: 32-64 KiB per read
const PAGE_ELEMS = 1 << PAGE_SHIFT

/** Shared budget so that all paged arrays of one index stay under a total cache size. */
export class PageBudget {
  private readonly ring: { arr: PagedArray; page: number }[] = []
  private head = 0
  bytes = 0
  constructor(readonly maxBytes: number) {}
  admit(arr: PagedArray, page: number, size: number): void {
    this.bytes += size
    this.ring.push({ arr, page })
    // FIFO eviction: cheap, and binary-search top levels are re-read quickly when evicted.
    while (this.bytes > this.maxBytes && this.head < this.ring.length - 1) {
      const victim = this.ring[this.head++]
      this.bytes -= victim.arr.evict(victim.page)
    }
    if (this.head > 4096 && this.head * 2 > this.ring.length) {
      this.ring.splice(0, this.head)
      this.head = 0
    }
  }
}

export class PagedArray implements IntArray {
  private readonly pages: (Buffer | undefined)[]
  private fd: number
  constructor(
    private readonly path: string,
    private readonly width: number,
    readonly length: number,
    private readonly budget: PageBudget,
  ) {
    this.fd = openSync(path, 'r')
    this.pages = new Array(Math.ceil(length / PAGE_ELEMS))
  }
  get(i: number): number {
    const p = i >>> PAGE_SHIFT
    const page = this.pages[p] ?? this.load(p)
    const j = (i & (PAGE_ELEMS - 1)) * this.width
    if (this.width === 3) return page[j] | (page[j + 1] << 8) | (page[j + 2] << 16)
    if (this.width === 2) return page[j] | (page[j + 1] << 8)
    return page.readUInt32LE(j)
  }
  private load(p: number): Buffer {
    if (p >= this.pages.length) throw corrupt('read past the end of an array', { file: this.path })
    const elems = Math.min(PAGE_ELEMS, this.length - p * PAGE_ELEMS)
    const size = elems * this.width
    const buf = Buffer.allocUnsafe(size)
    let got = 0
    while (got < size) {
      const r = readSync(this.fd, buf, got, size - got, p * PAGE_ELEMS * this.width + got)
      if (r === 0) throw corrupt('file is truncated', { file: this.path })
      got += r
    }
    this.pages[p] = buf
    this.budget.admit(this, p, size)
    return buf
  }
  evict(p: number): number {
    const page = this.pages[p]
    this.pages[p] = undefined
    return page ? page.length : 0
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}
