import { readFileSync } from 'node:fs'
import { relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { artifactFiles } from '../../scripts/compile-contracts.ts'

describe('settlement artifacts', () => {
  it('are what a fresh solc-js compile of contracts/ gives (run `npm run contracts:build` after changing a contract)', () => {
    const files = artifactFiles()
    expect(files.size).toBeGreaterThanOrEqual(3)
    for (const [path, content] of files) {
      expect(readFileSync(path, 'utf8'), `${relative(process.cwd(), path)} is stale: run npm run contracts:build`).toBe(content)
    }
    const settlement = JSON.parse(files.values().next().value!)
    expect(settlement.solcVersion).toMatch(/^0\.8\.37\+/)
    expect(settlement.bytecode).toMatch(/^0x[0-9a-f]{1000,}$/)
  })
})
