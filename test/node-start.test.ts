/**
 * Starting a node the way users do, in child processes: a busy port is a clear error that
 * ends the process (and leaves the data dir free, and the demo still seeds on the next
 * start); a second node on a data dir in use is refused, naming the first; after a node
 * is killed with -9 the next start gets the dir (the lock is an OS file lock).
 */
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { http, runCli, spawnServer, tempDir, waitFor } from './helpers.ts'

const tmp = tempDir('sinew-start-')
let child: ChildProcess | undefined
let blocker: Server | undefined
let url = ''

afterAll(async () => {
  child?.kill('SIGKILL')
  await new Promise((r) => (blocker ? blocker.close(r) : r(undefined)))
  tmp.cleanup()
})

const models = async (url: string) => ((await http(`${url}/v1/models`)).json.data as { id: string }[]).map((m) => m.id)

/** `sinew dev` on the data dir, once, until its demo model is up (the first test's last step; the second needs it too). */
let seeded: Promise<void> | undefined
const seededDevNode = () =>
  (seeded ??= (async () => {
    ;({ child, url } = await spawnServer('dev', ['--data-dir', tmp.dir]))
    expect(
      await waitFor(
        () => models(url),
        (ids) => ids.includes('sotu-infinigram'),
        60_000,
      ),
    ).toContain('sotu-infinigram')
  })())

describe('starting a node', () => {
  it('a busy port: port_in_use, exit code 1, data dir left unlocked; the next start seeds the demo', async () => {
    blocker = createServer()
    await new Promise<void>((r) => blocker!.listen(0, '127.0.0.1', r))
    const busy = (blocker.address() as AddressInfo).port
    const failed = await runCli(['dev', '--data-dir', tmp.dir, '--port', String(busy), '--log-level', 'warn'])
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain(`error: Port ${busy} on 127.0.0.1 is already in use (port_in_use)`)
    expect(failed.stderr).toContain('--port')
    expect(existsSync(join(tmp.dir, 'node.pid'))).toBe(false) // the lock was released
    expect(existsSync(join(tmp.dir, 'genesis.json'))).toBe(true) // the failed start got that far

    await seededDevNode()
  }, 120_000)

  it('a second node on a data dir in use is refused and names the first; after kill -9 the next start takes over', async () => {
    await seededDevNode()
    const other = await runCli(['node', '--data-dir', tmp.dir, '--port', '0'])
    expect(other.code).toBe(1)
    expect(other.stderr).toContain(`error: ${tmp.dir} is in use by another node (pid ${child!.pid}) (data_dir_in_use)`)
    const height = (await http(`${url}/v1/status`)).json.height // the first node is untouched
    expect(Number(height)).toBeGreaterThan(0)

    child!.kill('SIGKILL')
    await new Promise((r) => child!.once('exit', r))
    expect(existsSync(join(tmp.dir, 'node.pid'))).toBe(true) // names a dead process; the OS dropped the lock itself
    ;({ child, url } = await spawnServer('dev', ['--data-dir', tmp.dir]))
    expect((await http(`${url}/v1/status`)).json.height).toBe(height)
    expect(await models(url)).toContain('sotu-infinigram')
    // seeded once, not again
    expect((await http(`${url}/v1/datanets?q=State%20of%20the%20Union`)).json.datanets).toHaveLength(1)
  }, 120_000)
})
