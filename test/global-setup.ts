/** Once before any test file: the web app is built (only if its sources changed), so browser tests in parallel files never race to build it. */
import { buildWebApp } from '../scripts/web-build.ts'

export default async function setup(): Promise<void> {
  await buildWebApp({ ifStale: true })
}
