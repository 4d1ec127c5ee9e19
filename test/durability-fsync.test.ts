/**
 * Nothing acknowledged is lost on a power cut: a kill -9 cannot tell a missing fsync (the
 * page cache survives the process), so this test watches the system calls instead. The
 * node runs under strace; for every tx it acknowledges, the trace must show, on the thread
 * that writes the HTTP answer: the WAL write that holds the tx's receipt, then an fsync (or
 * fdatasync) of the WAL file that returned, and only then the answer. SQLite does that at
 * each commit only with synchronous=FULL in WAL mode (src/store/sqlite.ts; NORMAL syncs at
 * checkpoints only), so this fails if the setting is lost or the node answers early.
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

type Call = { pid: string; line: number; text: string }

/**
 * For each acknowledged hash: the line of the answer that carries it, the last WAL write
 * with its receipt before that, and whether a WAL sync returned between that write (and any
 * later WAL write) and the answer, on the answering thread.
 */
function checkTrace(hashes: Hex[]) {
  const calls: Call[] = readFileSync(log, 'utf8')
    .split('\n')
    .map((text, line) => ({ pid: text.split(' ', 1)[0], line, text }))
  const wal = (c: Call) => c.text.includes('sinew.db-wal>')
  const isWalWrite = (c: Call) => wal(c) && /^\d+ +pwrite/.test(c.text)
  // A sync that returned: a whole line "fsync(…wal>) = 0", or the resumed half of an unfinished one.
  const isWalSync = (c: Call, i: number, mine: Call[]) =>
    (wal(c) && /^\d+ +f(data)?sync\(.*\) += 0$/.test(c.text)) ||
    (/<\.\.\. f(data)?sync resumed>\) += 0$/.test(c.text) && i > 0 && wal(mine[i - 1]) && /f(data)?sync\(.*<unfinished \.\.\.>$/.test(mine[i - 1].text))
  return hashes.map((hash) => {
    const answer = calls.find((c) => /writev?\(\d+<(socket|TCP)/.test(c.text) && c.text.includes(`\\"hash\\":\\"${hash}\\"`))
    if (!answer) return { hash, answered: false }
    const mine = calls.filter((c) => c.pid === answer.pid && c.line < answer.line)
    const receiptWrite = mine.findLastIndex((c) => isWalWrite(c) && c.text.includes(hash))
    const lastWalWrite = mine.findLastIndex(isWalWrite)
    const lastSync = mine.findLastIndex((c, i) => isWalSync(c, i, mine))
    return { hash, answered: true, receiptInWal: receiptWrite >= 0, syncedAfterWrites: lastSync > lastWalWrite && lastSync > receiptWrite }
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
