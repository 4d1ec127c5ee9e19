/**
 * Real full and read-only disks for tests: test/storage-harness.ts in a private mount
 * namespace mounts them and runs the node on them (see its comment). As root it uses
 * `unshare --mount`, which also allows loop devices and ext4; otherwise
 * `unshare --user --map-root-user --mount` (tmpfs only). With neither, a test that needs a
 * disk fails and says why: CI runs as root, where everything is available.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { repoRoot } from './node-process.ts'

export type StorageMechanism = { kind: 'root' | 'userns'; prefix: string[] } | { kind: 'none'; reason: string }

/** How this process can mount file systems of its own (checked by trying), or why it cannot. */
export function storageMechanism(): StorageMechanism {
  const works = (args: string[]) => spawnSync('unshare', [...args, 'true'], { stdio: 'ignore' }).status === 0
  const root = ['--mount', '--propagation', 'private']
  const userns = ['--user', '--map-root-user', '--mount', '--propagation', 'private']
  if (process.getuid?.() === 0 && works(root)) return { kind: 'root', prefix: ['unshare', ...root] }
  if (works(userns)) return { kind: 'userns', prefix: ['unshare', ...userns] }
  return {
    kind: 'none',
    reason:
      'These tests mount small file systems to fill them and make them read-only: run them as root (as CI does), or where `unshare --user --map-root-user --mount true` works (unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1).',
  }
}

/** Fails with the reason when this process cannot mount file systems, or `need` more than it has (ext4 on a loop device needs root). */
export function requireMechanism(need: 'tmpfs' | 'ext4'): Extract<StorageMechanism, { prefix: string[] }> {
  const m = storageMechanism()
  if (m.kind === 'none') throw new Error(m.reason)
  if (need === 'ext4' && m.kind !== 'root')
    throw new Error('This test puts ext4 on a loop device and makes the kernel turn it read-only (errors=remount-ro): that needs root, as CI runs it.')
  return m
}

export type Harness = {
  call<T = any>(op: string, args?: Record<string, unknown>): Promise<T>
  close(): Promise<void>
}

/** Starts the harness in its own mount namespace; `close()` ends it, its node and its mounts. */
export async function startHarness(m: Extract<StorageMechanism, { prefix: string[] }>): Promise<Harness> {
  const child: ChildProcess = spawn(m.prefix[0], [...m.prefix.slice(1), process.execPath, '--import', 'tsx', join(repoRoot, 'test/storage-harness.ts')], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>()
  let nextId = 1
  let ready!: () => void
  const started = new Promise<void>((r) => (ready = r))
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const msg = JSON.parse(line)
    if (msg.ready) return ready()
    const w = waiting.get(msg.id)
    waiting.delete(msg.id)
    if (msg.ok) w?.resolve(msg.result)
    else w?.reject(new Error(msg.error))
  })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  void exited.then(() => {
    for (const w of waiting.values()) w.reject(new Error('the storage harness exited'))
  })
  await Promise.race([started, exited.then(() => Promise.reject(new Error('the storage harness exited before it was ready')))])
  return {
    call: (op, args = {}) =>
      new Promise((resolve, reject) => {
        const id = nextId++
        waiting.set(id, { resolve, reject })
        child.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n')
      }),
    close: async () => {
      child.stdin!.end()
      await exited
    },
  }
}
