/**
 * Gas of the settlement contract on anvil (`npm run bench settlement-gas`): deposit (with an
 * approve before, and with an EIP-2612 permit), postCheckpoint, withdraw (a claim with a proof
 * from a Sinew state of 100 000 accounts: about 17 siblings) and escape. Gas is deterministic
 * for the same calldata and state, so each figure is one of several identical-shape runs
 * (all listed). Targets (issue 13): checkpoint ≤ 100k, claim ≤ 200k.
 */
import { keccak256, toHex, type Hex } from 'viem'
import { dev } from '../test/helpers.ts'
import {
  approveAndDeposit,
  ONE,
  rootOf,
  SEQUENCER_KEY,
  siblingsOf,
  signHeader,
  signPermit,
  sinewState,
  solHeader,
  startSettlementChain,
  withdrawalKey,
} from '../test/settlement-fixtures.ts'
import { median, writeResult } from './lib.ts'

const ACCOUNTS = 100_000
const RUNS = 5

const c = await startSettlementChain({ escapeDelaySeconds: 3600n })
try {
  const gas: Record<string, number[]> = { deposit: [], depositWithPermit: [], postCheckpoint: [], withdraw: [], escape: [] }
  const depositor = c.wallets[1]
  for (let i = 0; i < RUNS; i++) gas.deposit.push(Number((await approveAndDeposit(c, depositor, 10n * ONE, dev[5].address)).gasUsed))

  const bob = dev[2]
  for (let i = 0; i < RUNS; i++) {
    const { deadline, v, r, s } = await signPermit(c, bob.privateKey, 10n * ONE)
    gas.depositWithPermit.push(Number((await c.send(c.wallets[2], 'depositWithPermit', [10n * ONE, bob.address, deadline, v, r, s])).gasUsed))
  }

  // A Sinew state of ACCOUNTS accounts and RUNS withdrawals, built with the ledger's own tree.
  const accounts: Record<Hex, bigint> = {}
  for (let i = 0; i < ACCOUNTS; i++) accounts[toHex(BigInt(keccak256(toHex(i))) >> 96n, { size: 20 })] = 1n
  accounts[dev[3].address] = 5n * ONE
  const recipient = dev[4].address
  const withdrawals = Array.from({ length: RUNS }, (_, i) => ({ id: keccak256(toHex(`w${i}`)), account: dev[3].address, recipient, amount: ONE }))
  const state = sinewState({ accounts, withdrawals })
  const root = rootOf(state)

  let parent = `0x${'0'.repeat(64)}` as Hex
  for (let h = 1n; h <= BigInt(RUNS); h++) {
    const header = signHeader(SEQUENCER_KEY, { height: h, parentHash: parent, stateRoot: root, txCount: 100 })
    gas.postCheckpoint.push(Number((await c.send(c.wallets[0], 'postCheckpoint', [solHeader(header), header.signature])).gasUsed))
    parent = header.hash
  }
  let depth = 0
  for (const w of withdrawals) {
    const siblings = siblingsOf(state, withdrawalKey(w.id))
    depth = siblings.length
    gas.withdraw.push(Number((await c.send(c.wallets[3], 'withdraw', [BigInt(RUNS), w.id, w.account, w.recipient, w.amount, siblings])).gasUsed))
  }
  await c.increaseTime(3601)
  const escapers = Object.keys(accounts).slice(0, RUNS) as Hex[]
  let escapeDepth = 0
  for (const a of escapers) {
    const siblings = siblingsOf(state, `acct/${a}`)
    escapeDepth = siblings.length
    gas.escape.push(Number((await c.send(c.wallets[3], 'escape', [a, 1n, 1n, siblings])).gasUsed))
  }

  const summary = Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, { median: median(v), runs: v }]))
  for (const [k, v] of Object.entries(summary)) console.log(`${k.padEnd(18)} ${String(v.median).padStart(7)} gas  (runs: ${v.runs.join(', ')})`)
  writeResult('settlement-gas', {
    stateAccounts: ACCOUNTS,
    withdrawProofSiblings: depth,
    escapeProofSiblings: escapeDepth,
    gas: summary,
    targets: { postCheckpoint: 100_000, withdraw: 200_000 },
    withinTargets: median(gas.postCheckpoint) <= 100_000 && median(gas.withdraw) <= 200_000,
  })
} finally {
  await c.stop()
}
