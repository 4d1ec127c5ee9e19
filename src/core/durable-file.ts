/**
 * Files a node cannot do without (the genesis, the node key) are written so that a crash
 * or a power loss leaves either the old content or the new, never an empty or cut file: a
 * temp file, fsynced, renamed into place, then the directory fsynced. (A plain
 * writeFileSync sits in the page cache for seconds: a file system that goes read-only or
 * loses power meanwhile keeps an empty file, and the chain will not start.)
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

export function writeFileDurable(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`)
  const fd = openSync(tmp, 'w', mode)
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data)
    fsyncSync(fd)
  } catch (e) {
    closeSync(fd)
    rmSync(tmp, { force: true })
    throw e
  }
  closeSync(fd)
  renameSync(tmp, file)
  const dir = openSync(dirname(file), 'r')
  try {
    fsyncSync(dir)
  } finally {
    closeSync(dir)
  }
}
