/**
 * A block the sequencer cannot commit ends `sinew node` with exit code 70 and the fatal
 * log line, after refusing that block's txs (503 commit_failed): nothing unacknowledged
 * counts, and a restart carries on from what is on disk. The fault: another process holds
 * SQLite's write lock for longer than the node waits for it.
 */
import Database from 'better-sqlite3'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { dev, http, runCli, signTransfer, spawnNode, tempDir } from './helpers.ts'

const tmp = tempDir('sinew-fatal-')
let child: ChildProcess | undefined
let holder: Database.Database | undefined

afterAll(() => {
  child?.kill('SIGKILL')
  holder?.close()
  tmp.cleanup()
})

describe('a block commit that fails', () => {
  it('refuses the block, logs it, exits 70; the restarted node has every acknowledged tx', async () => {
    expect((await runCli(['init', '--dev', '--data-dir', tmp.dir])).code).toBe(0)
    const started = await spawnNode(['--data-dir', tmp.dir])
    child = started.child
    let url = started.url
    let output = ''
    started.child.stdout!.on('data', (d) => (output += d))
    started.child.stderr!.on('data', (d) => (output += d))
    const exited = new Promise<number | null>((r) => started.child.once('exit', (code) => r(code)))

    const first = await http(`${url}/v1/tx`, { body: await signTransfer(dev[0].privateKey, { to: dev[1].address, amount: 5n, nonce: 0n }) })
    expect(first.status).toBe(200)

    holder = new Database(join(tmp.dir, 'sinew.db'))
    holder.exec('BEGIN EXCLUSIVE') // the node's next commit waits for this lock, then gives up
    const second = await http(`${url}/v1/tx`, { body: await signTransfer(dev[0].privateKey, { to: dev[1].address, amount: 7n, nonce: 1n }) })
    expect(second.status).toBe(503)
    expect(second.json.error.code).toBe('commit_failed')
    expect(await exited).toBe(70)
    expect(output).toContain('block commit failed')
    holder.exec('ROLLBACK')
    holder.close()
    holder = undefined

    const restarted = await spawnNode(['--data-dir', tmp.dir])
    child = restarted.child
    url = restarted.url
    expect((await http(`${url}/v1/tx/${first.json.hash}`)).status).toBe(200)
    expect((await http(`${url}/v1/accounts/${dev[0].address}`)).json.nonce).toBe('1')
  }, 120_000)
})
