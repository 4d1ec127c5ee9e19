import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isSinewError } from '../core/index.ts'
import { lockDataDir, lockFile } from './data-dir-lock.ts'

const dirs: string[] = []
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'sinew-lock-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** The pid of a process that has exited: no process runs under it now. */
const deadPid = (): number => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout)

function refusal(fn: () => unknown) {
  try {
    fn()
  } catch (e) {
    if (isSinewError(e)) return e
    throw e
  }
  throw new Error('expected a refusal')
}

describe('lockDataDir', () => {
  it('takes the dir with its pid, refuses a second taker while held, and frees it on release', () => {
    const dir = fresh()
    const lock = lockDataDir(dir)
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.pid}\n`)
    const e = refusal(() => lockDataDir(dir))
    expect(e.code).toBe('data_dir_in_use')
    expect(e.status).toBe(409)
    expect(e.details).toEqual({ dataDir: dir, pid: process.pid, lockFile: lockFile(dir) })
    lock.release()
    expect(existsSync(lockFile(dir))).toBe(false)
    lockDataDir(dir).release()
  })

  it('refuses a dir held by another live process', () => {
    const dir = fresh()
    writeFileSync(lockFile(dir), `${process.ppid}\n`) // the test runner's parent: alive
    expect(refusal(() => lockDataDir(dir)).details.pid).toBe(process.ppid)
  })

  it('takes over a lock left by a process that died (kill -9) or an unreadable one', () => {
    const dir = fresh()
    const dead = deadPid()
    expect(dead).toBeGreaterThan(0)
    writeFileSync(lockFile(dir), `${dead}\n`)
    const lock = lockDataDir(dir)
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.pid}\n`)
    lock.release()
    writeFileSync(lockFile(dir), 'garbage')
    lockDataDir(dir).release()
  })

  it('release leaves alone a lock another node took over meanwhile', () => {
    const dir = fresh()
    const lock = lockDataDir(dir)
    writeFileSync(lockFile(dir), `${process.ppid}\n`)
    lock.release()
    expect(readFileSync(lockFile(dir), 'utf8')).toBe(`${process.ppid}\n`)
  })
})
