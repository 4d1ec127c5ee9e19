/**
 * Builds the web app (web/ → web/dist) that the node serves at `/`. `--if-stale` builds only
 * when web/dist is missing or older than a source (web/src, web/index.html, the Vite config,
 * or the shared modules it bundles): `npm start` runs it that way, so the app is there right
 * after `npm install` (which builds it in postinstall) and stays current after edits.
 */
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const web = join(repo, 'web')
const built = join(web, 'dist', 'index.html')
const SOURCES = [join(web, 'src'), join(web, 'index.html'), join(web, 'vite.config.ts'), join(repo, 'src', 'client'), join(repo, 'src', 'core', 'errors.ts')]

function newest(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false })
  if (!s) return 0
  if (!s.isDirectory()) return s.mtimeMs
  return Math.max(0, ...readdirSync(path).map((n) => newest(join(path, n))))
}

/** Builds web/dist (only when stale, with `ifStale`); true when it built. */
export async function buildWebApp(o: { ifStale?: boolean } = {}): Promise<boolean> {
  const builtAt = statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0
  if (o.ifStale && builtAt > 0 && builtAt >= Math.max(...SOURCES.map(newest))) return false
  console.log('building the web app (web/ → web/dist) …')
  // Vite is loaded only when there is something to build (it takes seconds to import).
  const { build } = await import('vite')
  await build({ configFile: join(web, 'vite.config.ts'), logLevel: 'warn' })
  return true
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await buildWebApp({ ifStale: process.argv.includes('--if-stale') })
