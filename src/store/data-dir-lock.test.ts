import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { isSinewError, type SinewError } from '../core/index.ts'
import { lockDataDir, pidFile } from './data-dir-lock.ts'

const dirs: string[] = []
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'sinew-lock-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function refusal(fn: () => unknown): SinewError {
  try {
    fn()
  } catch (e) {
    if (isSinewError(e)) return e
    throw e
  }
  throw new Error('expected a refusal')
}

/** Another process that takes the lock, says so, and holds it until killed. */
async function holder(dir: string) {
  const code = `import('${join(import.meta.dirname, 'data-dir-lock.ts')}').then((m) => { m.lockDataDir(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000) })`
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('locked') && resolve())
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)))
  })
  return child
}

describe('lockDataDir', () => {
  it('takes the dir (pid file names this process), refuses a second taker while held, frees it on release', () => {
    const dir = fresh()
    const lock = lockDataDir(dir)
    expect(readFileSync(pidFile(dir), 'utf8')).toBe(`${process.pid}\n`)
    const e = refusal(() => lockDataDir(dir))
    expect(e.code).toBe('data_dir_in_use')
    expect(e.status).toBe(409)
    expect(e.details).toEqual({ dataDir: dir, pid: process.pid })
    lock.release()
    expect(existsSync(pidFile(dir))).toBe(false)
    lockDataDir(dir).release()
  })

  it('refuses a dir another process holds, naming it; once that process is killed with -9 the dir is free', async () => {
    const dir = fresh()
    const child = await holder(dir)
    try {
      expect(refusal(() => lockDataDir(dir)).shortMessage).toBe(`${dir} is in use by another node (pid ${child.pid})`)
    } finally {
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    }
    expect(readFileSync(pidFile(dir), 'utf8')).toBe(`${child.pid}\n`) // left behind, and harmless
    const lock = lockDataDir(dir)
    expect(readFileSync(pidFile(dir), 'utf8')).toBe(`${process.pid}\n`)
    lock.release()
  })
})
