/**
 * One node per data dir. Two processes appending blocks to one SQLite file would both
 * believe they are the sequencer; the second only finds out at its first commit
 * (`UNIQUE constraint failed: blocks.height`). So a node takes `<dataDir>/node.lock` (its
 * pid) before it opens the store, and refuses a dir whose lock names a live process.
 * A lock left by a process that died (kill -9, power loss) is taken over: the pid in it
 * is no longer running. Readers (`sinew verify`, `sinew proof`) take no lock.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ConflictError } from '../core/index.ts'

export type DataDirLock = { file: string; release(): void }

export const lockFile = (dataDir: string): string => join(dataDir, 'node.lock')

/** True if a process with this pid exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function holder(file: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true })
  const file = lockFile(dataDir)
  // Two tries: the second after clearing a stale lock (a racing starter may win it; then it is live).
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number
    try {
      fd = openSync(file, 'wx')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const pid = holder(file)
      // Our own pid: a node of this process holds it (two in-process nodes on one dir).
      if (pid !== null && (pid === process.pid || alive(pid))) {
        throw new ConflictError('data_dir_in_use', `${dataDir} is in use by another node (pid ${pid})`, {
          details: { dataDir, pid, lockFile: file },
          hint: `Stop that node first, or give this one another --data-dir. If no such node runs, delete ${file}.`,
        })
      }
      rmSync(file, { force: true })
      continue
    }
    writeSync(fd, `${process.pid}\n`)
    closeSync(fd)
    let released = false
    return {
      file,
      release() {
        if (released) return
        released = true
        // Only our own lock: never remove one a later node took over.
        if (holder(file) === process.pid) rmSync(file, { force: true })
      },
    }
  }
  throw new ConflictError('data_dir_in_use', `${dataDir} is being taken by another node`, { details: { dataDir, lockFile: file }, hint: 'Try again in a moment.' })
}
