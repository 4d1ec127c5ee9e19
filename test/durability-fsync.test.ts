/**
 * Nothing acknowledged is lost on a power cut: a kill -9 cannot tell a missing fsync (the
 * page cache survives the process), so this test watches the system calls instead. The
 * node runs under strace; for every tx it acknowledges, the trace must show the WAL write
 * that holds the tx's receipt, then an fsync (or fdatasync) of the WAL file that started
 * after that write and returned, and only then the answer. The store commits with
 * synchronous=NORMAL and syncs the WAL itself on libuv's thread pool before the commit
 * resolves (src/store/sqlite.ts), so the sync may run on another thread than the answer:
 * strace -f writes every thread's calls into one file in the order they happen, which is
 * the order checked. This fails if the sync is dropped, started too early, or the node
 * answers before it returns.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from '../src/core/index.ts'
import { pidFile } from '../src/store/data-dir-lock.ts'
import { dev, http, runCli, signTransfer, spawnNode, tempDir, type SpawnedNode } from './helpers.ts'

/** strace must be installed (.ci/run installs it) and allowed to trace its children here. */
function straceWorks(): boolean {
  try {
    execFileSync('strace', ['-f', '-o', '/dev/null', 'true'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

const tmp = tempDir('sinew-fsync-')
const log = join(tmp.dir, 'strace.log')
let node: SpawnedNode | undefined

beforeAll(async () => {
  expect(straceWorks(), 'strace is needed (apt-get install strace; .ci/run installs it)').toBe(true)
  expect((await runCli(['init', '--dev', '--data-dir', tmp.dir])).code).toBe(0)
  node = await spawnNode(
    ['--data-dir', tmp.dir],
    {},
    {
      // -f: every thread; -y: file paths for fds; -s: enough bytes to see a receipt in a WAL page.
      prefix: ['strace', '-f', '-y', '-s', '65536', '-e', 'trace=pwrite64,pwritev,write,writev,fsync,fdatasync', '-o', log, '--'],
    },
  )
}, 120_000)

afterAll(async () => {
  // The traced node itself (strace would only detach on a signal): its pid is in the data dir.
  const pid = Number(readFileSync(pidFile(tmp.dir), 'utf8'))
  if (pid > 0) process.kill(pid, 'SIGKILL')
  if (node && node.child.exitCode === null) await new Promise((r) => node!.child.once('exit', r))
  tmp.cleanup()
})

type Call = { tid: string; line: number; text: string }

/** A WAL sync: the line it started on and the line it returned 0 on (the same line if strace did not split it). */
type Sync = { start: number; end: number }

/**
 * For each acknowledged hash: the line of the answer that carries it, the WAL write with its
 * receipt before that, and whether a WAL sync started after that write (and after any later
 * WAL write) and returned before the answer, on any thread.
 */
function checkTrace(hashes: Hex[]) {
  const calls: Call[] = readFileSync(log, 'utf8')
    .split('\n')
    .map((text, line) => ({ tid: text.split(' ', 1)[0], line, text }))
  const wal = (c: Call) => c.text.includes('sinew.db-wal>')
  const isWalWrite = (c: Call) => wal(c) && /^\d+ +pwrite/.test(c.text)
  // Whole lines "fsync(…wal>) = 0", or an unfinished call on the WAL and its resumed half on the same thread.
  const syncs: Sync[] = []
  const unfinished = new Map<string, number>()
  for (const c of calls) {
    if (wal(c) && /^\d+ +f(data)?sync\(.*\) += 0$/.test(c.text)) syncs.push({ start: c.line, end: c.line })
    else if (wal(c) && /^\d+ +f(data)?sync\(.*<unfinished \.\.\.>$/.test(c.text)) unfinished.set(c.tid, c.line)
    else if (/<\.\.\. f(data)?sync resumed>\) += 0$/.test(c.text) && unfinished.has(c.tid)) {
      syncs.push({ start: unfinished.get(c.tid)!, end: c.line })
      unfinished.delete(c.tid)
    }
  }
  return hashes.map((hash) => {
    const answer = calls.find((c) => /writev?\(\d+<(socket|TCP)/.test(c.text) && c.text.includes(`\\"hash\\":\\"${hash}\\"`))
    if (!answer) return { hash, answered: false }
    const before = calls.filter((c) => c.line < answer.line)
    const receiptWrite = before.findLast((c) => isWalWrite(c) && c.text.includes(hash))
    const lastWalWrite = before.findLast(isWalWrite)
    const synced = syncs.some((s) => s.end < answer.line && receiptWrite !== undefined && lastWalWrite !== undefined && s.start > lastWalWrite.line)
    return { hash, answered: true, receiptInWal: receiptWrite !== undefined, syncedAfterWrites: synced }
  })
}

describe('durability: the WAL is fsynced before a tx is acknowledged', () => {
  it('single txs and a batch: every acknowledgment comes after the fsync of the WAL write that holds it', async () => {
    const url = node!.url
    const hashes: Hex[] = []
    for (let i = 0; i < 3; i++) {
      const r = await http(`${url}/v1/tx`, { body: await signTransfer(dev[0].privateKey, { to: dev[1].address, amount: 1n, nonce: BigInt(i) }) })
      expect(r.status).toBe(200)
      hashes.push(r.json.hash)
    }
    const txs = await Promise.all(Array.from({ length: 4 }, (_, i) => signTransfer(dev[2].privateKey, { to: dev[3].address, amount: 1n, nonce: BigInt(i) })))
    const batch = await http(`${url}/v1/txs`, { body: { txs } })
    expect(batch.status).toBe(200)
    for (const x of batch.json.results) expect(x.ok).toBe(true)
    // A batch answer carries all its hashes; the first is the one looked for in the answer.
    const results = checkTrace([...hashes, batch.json.results[0].hash])
    for (const r of results) expect(r).toEqual({ hash: r.hash, answered: true, receiptInWal: true, syncedAfterWrites: true })
  })
})
