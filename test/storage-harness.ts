/**
 * The process that owns the disks of test/storage-faults.test.ts. It runs in a private
 * mount namespace (`unshare --mount`, as root; or `unshare --user --map-root-user --mount`),
 * so the file systems it mounts are seen only by it and its children and vanish with it,
 * whatever happens to the test. It mounts small tmpfs and ext4 file systems, fills and
 * frees them, turns them read-only, and runs the sinew CLI and a node on them, on
 * commands read from stdin: one JSON object a line `{id, op, ...args}`, answered on stdout
 * `{id, ok, result}` or `{id, ok: false, error}`. Its stdin closing ends everything.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { basename, join } from 'node:path'
import { createInterface } from 'node:readline'
import { runCli } from './helpers.ts'
import { startNodeProcess, NodeStartError, type NodeProcess } from './node-process.ts'

type Command = { id: number; op: string; [arg: string]: any }

const mounts: string[] = []
let node: NodeProcess | undefined

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** Writes a filler file until the file system says ENOSPC; its size. */
function fill(dir: string): number {
  const fd = openSync(join(dir, '.filler'), 'a')
  let written = 0
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const chunk = Buffer.alloc(size, 0x78)
      for (;;) {
        try {
          written += writeSync(fd, chunk)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
          break
        }
      }
    }
  } finally {
    closeSync(fd)
  }
  return written
}

const ops: Record<string, (c: Command) => unknown> = {
  mountTmpfs: ({ dir, bytes }) => {
    mkdirSync(dir, { recursive: true })
    run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir])
    mounts.push(dir)
    return { dir }
  },
  /** ext4 on a loop device that goes read-only on its first error (as a disk with I/O errors does). */
  mountExt4: ({ dir, image, bytes }) => {
    mkdirSync(dir, { recursive: true })
    run('truncate', ['-s', String(bytes), image])
    run('mkfs.ext4', ['-q', '-F', image])
    run('mount', ['-o', 'loop,errors=remount-ro', image, dir])
    mounts.push(dir)
    return { dir, device: run('findmnt', ['-n', '-o', 'SOURCE', dir]).trim() }
  },
  /** Makes the ext4 at `dir` report an error: with errors=remount-ro the kernel turns it read-only under whoever writes to it. */
  ext4Error: ({ dir }) => {
    const device = basename(run('findmnt', ['-n', '-o', 'SOURCE', dir]).trim())
    run('sh', ['-c', `echo sinew-storage-test > /sys/fs/ext4/${device}/trigger_fs_error`])
    return { options: run('findmnt', ['-n', '-o', 'OPTIONS', dir]).trim() }
  },
  fsck: ({ image }) => {
    try {
      return { output: run('e2fsck', ['-f', '-y', image]) }
    } catch (e) {
      // e2fsck exits 1 when it fixed something: the file system is usable.
      const status = (e as { status?: number }).status
      if (status === 1) return { output: String((e as { stdout?: string }).stdout ?? '') }
      throw e
    }
  },
  remount: ({ dir, options }) => {
    run('mount', ['-o', `remount,${options}`, dir])
    return { options: run('findmnt', ['-n', '-o', 'OPTIONS', dir]).trim() }
  },
  mountImage: ({ dir, image }) => {
    run('mount', ['-o', 'loop,errors=remount-ro', image, dir])
    mounts.push(dir)
    return { dir }
  },
  umount: ({ dir }) => {
    run('umount', [dir])
    mounts.splice(mounts.indexOf(dir), 1)
    return {}
  },
  fill: ({ dir }) => ({ bytes: fill(dir) }),
  free: ({ dir }) => {
    rmSync(join(dir, '.filler'), { force: true })
    return {}
  },
  cli: ({ args, env }) => runCli(args, env),
  start: async ({ dataDir, args, env }) => {
    try {
      node = await startNodeProcess({ dataDir, args, env })
      return { url: node.url, pid: node.pid }
    } catch (e) {
      if (e instanceof NodeStartError) return { exited: true, code: e.code, output: e.output }
      throw e
    }
  },
  alive: () => ({ alive: node !== undefined && node.child.exitCode === null && node.child.signalCode === null, output: node?.output() ?? '' }),
  stop: async ({ signal }) => {
    if (!node) return {}
    const exit = await node.stop(signal ?? 'SIGKILL')
    const output = node.output()
    node = undefined
    return { ...exit, output }
  },
}

async function shutdown(): Promise<never> {
  await node?.stop('SIGKILL')
  for (const dir of mounts.reverse()) {
    try {
      run('umount', ['-l', dir])
    } catch {
      // the namespace goes with this process anyway
    }
  }
  process.exit(0)
}

const lines = createInterface({ input: process.stdin })
lines.on('line', async (line) => {
  let c: Command
  try {
    c = JSON.parse(line)
  } catch {
    return
  }
  try {
    const op = ops[c.op]
    if (!op) throw new Error(`unknown op ${c.op}`)
    const result = await op(c)
    process.stdout.write(JSON.stringify({ id: c.id, ok: true, result }) + '\n')
  } catch (e) {
    const err = e as { message?: string; stderr?: unknown }
    process.stdout.write(JSON.stringify({ id: c.id, ok: false, error: `${err.message ?? e}${err.stderr ? ` ${String(err.stderr)}` : ''}` }) + '\n')
  }
})
lines.on('close', () => void shutdown())
process.on('SIGTERM', () => void shutdown())
process.stdout.write(JSON.stringify({ ready: true }) + '\n')
