/**
 * A real PostgreSQL server for the tests that run on PostgreSQL (vitest globalSetup of the
 * `postgres` project, vitest.config.ts). With SINEW_TEST_PG set (a URL of a user that may
 * create databases, e.g. postgres://postgres:pw@127.0.0.1:5432/postgres) it uses that server;
 * otherwise it runs Debian's `initdb` into a temp dir and `pg_ctl start` on a free loopback
 * port, and stops it after the last test file. Each test file takes its own fresh database
 * (test/pg.ts `freshPgDatabase`).
 *
 * As root, initdb refuses to run: the server then runs as the `postgres` user (Debian's
 * package creates it), in a temp dir that user owns.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  interface ProvidedContext {
    /** A URL of a user that may create databases on the test server. */
    pgAdminUrl: string
  }
}

/** The newest installed PostgreSQL's bin directory, or a clear error naming the package. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : []
  if (versions.length === 0) {
    throw new Error(
      'The PostgreSQL tests need the PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin): install them with `apt-get install -y postgresql`, or point SINEW_TEST_PG at a server (postgres://user:password@host:port/postgres).',
    )
  }
  return join(root, versions[0], 'bin')
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export type TestPgServer = {
  adminUrl: string
  /** Stops the server (fast shutdown: sessions are cut, as in an outage), keeping its data. */
  pause(): void
  /** Starts it again on the same port. */
  resume(): void
  /** Stops it and removes its files. */
  stop(): void
}

/** initdb into a temp dir and pg_ctl start on a free loopback port. */
export async function startTestPgServer(): Promise<TestPgServer> {
  const bin = postgresBin()
  const dir = mkdtempSync(join(tmpdir(), 'sinew-pg-'))
  const asRoot = userInfo().uid === 0
  const run = (cmd: string, args: string[], check = true) => {
    const r = asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { encoding: 'utf8' })
      : spawnSync(join(bin, cmd), args, { encoding: 'utf8' })
    if (check && r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout || r.error}`)
  }
  if (asRoot)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
      Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
    )
  const data = join(dir, 'data')
  // --no-sync: a throwaway cluster; the server itself runs with fsync on, as in production.
  run('initdb', ['-D', data, '-U', 'sinew', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'])
  const port = await freePort()
  const start = () =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300`, 'start'])
  const server: TestPgServer = {
    adminUrl: `postgres://sinew@127.0.0.1:${port}/postgres`,
    pause: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    resume: start,
    stop: () => {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'], false)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  try {
    start()
  } catch (e) {
    server.stop()
    throw e
  }
  return server
}

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.SINEW_TEST_PG) {
    project.provide('pgAdminUrl', process.env.SINEW_TEST_PG)
    return () => {}
  }
  const server = await startTestPgServer()
  project.provide('pgAdminUrl', server.adminUrl)
  return () => server.stop()
}
