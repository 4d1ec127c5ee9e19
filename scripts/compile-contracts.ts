/**
 * `npm run contracts:build`: compiles the Solidity in contracts/ with the pinned solc-js
 * (package.json) against @openzeppelin/contracts from node_modules, and writes
 * src/settlement/artifacts/<Name>.json ({contractName, abi, bytecode, deployedBytecode,
 * solcVersion, sourceHash}) and src/settlement/contracts.ts (the same ABIs and bytecode as
 * typed `as const` values for viem). The settings are fixed and source names are relative,
 * so the output is byte-identical on every machine; src/settlement/artifacts.test.ts fails
 * while the committed files differ from a fresh compile.
 */
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { pathToFileURL } from 'node:url'

const ROOT = join(import.meta.dirname, '..')
const CONTRACTS_DIR = join(ROOT, 'contracts')
export const ARTIFACTS_DIR = join(ROOT, 'src', 'settlement', 'artifacts')
export const CONTRACTS_TS = join(ROOT, 'src', 'settlement', 'contracts.ts')
/** The contracts that get artifacts (libraries are inlined into them). */
export const DEPLOYABLE = ['SinewSettlement', 'SinewDevToken'] as const

const require = createRequire(import.meta.url)

export type Artifact = {
  contractName: string
  abi: unknown[]
  bytecode: `0x${string}`
  deployedBytecode: `0x${string}`
  solcVersion: string
  sourceHash: string
}

type SolcError = { severity: 'error' | 'warning' | 'info'; formattedMessage: string }
type SolcOutput = {
  errors?: SolcError[]
  sources?: Record<string, unknown>
  contracts?: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>>
}

function solFiles(dir: string, withTests: boolean): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'test' || withTests) out.push(...solFiles(path, withTests))
    } else if (entry.name.endsWith('.sol')) out.push(path)
  }
  return out
}

/** Resolves `@openzeppelin/...` (and any other package path) from node_modules, `contracts/...` from the repo. */
function readImport(path: string): { contents: string } | { error: string } {
  const candidates = [join(ROOT, path), join(ROOT, 'node_modules', path)]
  for (const file of candidates) {
    if (file.startsWith(ROOT) && !relative(ROOT, file).startsWith('..') && existsSync(file)) return { contents: readFileSync(file, 'utf8') }
  }
  return { error: `not found: ${path}` }
}

/**
 * Compiles contracts/ (with `withTests`, also contracts/test/, the test-only harnesses).
 * Throws with solc's messages on any error.
 */
export function compileContracts(options: { withTests?: boolean } = {}): { artifacts: Record<string, Artifact>; solcVersion: string } {
  const solc = require('solc') as { compile(input: string, callbacks: { import(path: string): unknown }): string; version(): string }
  const sources: Record<string, { content: string }> = {}
  for (const file of solFiles(CONTRACTS_DIR, options.withTests ?? false)) sources[relative(ROOT, file)] = { content: readFileSync(file, 'utf8') }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      // Cancun: the newest fork every mainstream EVM chain has; nothing here needs later opcodes.
      evmVersion: 'cancun',
      metadata: { bytecodeHash: 'none' },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  }
  const resolved: Record<string, string> = {}
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), {
      import: (path: string) => {
        const r = readImport(path)
        if ('contents' in r) resolved[path] = r.contents
        return r
      },
    }),
  ) as SolcOutput
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  // The hash of every source that went in (ours and the imported ones), in name order.
  const hash = createHash('sha256')
  const all = { ...Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, v.content])), ...resolved }
  for (const name of Object.keys(all).sort()) hash.update(`${name}\0${all[name]}\0`)
  const sourceHash = `0x${hash.digest('hex')}`
  const solcVersion = solc.version()
  const artifacts: Record<string, Artifact> = {}
  for (const [file, contracts] of Object.entries(output.contracts ?? {})) {
    for (const [name, c] of Object.entries(contracts)) {
      if (!c.evm.bytecode.object) continue // interfaces, abstract contracts, libraries with only internal functions
      if (!file.startsWith('contracts/')) continue
      artifacts[name] = {
        contractName: name,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        solcVersion,
        sourceHash,
      }
    }
  }
  return { artifacts, solcVersion }
}

/** The files `contracts:build` writes, path → content. */
export function artifactFiles(): Map<string, string> {
  const { artifacts, solcVersion } = compileContracts()
  const files = new Map<string, string>()
  let ts = `/**
 * Generated by \`npm run contracts:build\` (scripts/compile-contracts.ts) from contracts/ with
 * solc ${solcVersion}: do not edit. ABIs and creation bytecode as typed values for viem.
 */
`
  for (const name of DEPLOYABLE) {
    const a = artifacts[name]
    if (!a) throw new Error(`contracts/ has no contract ${name}`)
    files.set(join(ARTIFACTS_DIR, `${name}.json`), `${JSON.stringify(a, null, 2)}\n`)
    const camel = name[0].toLowerCase() + name.slice(1)
    ts += `\nexport const ${camel}Abi = ${JSON.stringify(a.abi, null, 2)} as const\n`
    ts += `\nexport const ${camel}Bytecode = '${a.bytecode}' as const\n`
  }
  files.set(CONTRACTS_TS, ts)
  return files
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [path, content] of artifactFiles()) {
    writeFileSync(path, content)
    console.log(`wrote ${relative(ROOT, path)}`)
  }
}
