/**
 * x402 `exact` on the settlement token when things go wrong between the chain and the ledger,
 * end to end: a real anvil with the settlement contract and the dev token, and a real `sinew
 * node` process (on an initialised dev data dir) as its own facilitator, paid by the
 * unmodified `@x402/evm` scheme from an account with tokens on anvil and nothing on Sinew.
 *
 * - The chain does not mine for a while (anvil's automine off): the call waits for the
 *   transfer and is served once it is mined.
 * - kill -9 of the node between the mined transfer and its credit on Sinew (the test-only crash
 *   point SINEW_TEST_CRASH_AT=x402-transfer-mined makes the node SIGKILL itself right after
 *   the receipt): after a restart the deposit watcher credits the payer exactly once, at the
 *   configured confirmations, nothing charged, and the backing invariant has no surplus.
 * - The same crash, then a reorganisation removes the block with the transfer: never credited,
 *   and the authorisation (unused on the new chain) pays for a call once.
 * - A transfer that can no longer be mined (dropped from the pool, the chain past the
 *   authorisation's validBefore): payment_settlement_failed, no token moved, nothing charged.
 * - Tokens sent into the contract any other way are not taken for the node's payments.
 *
 * Oracles: token balances and the authorisation's state read from anvil, the payer's Sinew
 * balance and the node's invariant over HTTP against the test's own sums, `sinew verify`.
 */
import { ExactEvmScheme } from '@x402/evm/exact/client'
import { decodePaymentResponseHeader } from '@x402/fetch'
import { createTestClient, keccak256, parseSignature, toHex, http as viemHttp, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeDevGenesis } from '../src/cli/data-dir.ts'
import {
  connectEvm,
  deployDevSettlement,
  evmWallet,
  genesisMint,
  sinewDevTokenAbi,
  startAnvil,
  type Anvil,
  type DevSettlement,
  type EvmClients,
} from '../src/settlement/index.ts'
import { startFakeOpenAI, type FakeBackend } from './gateway-fixtures.ts'
import { dev, http, runCli, sendTx, tempDir, waitFor } from './helpers.ts'
import { startNodeProcess, type NodeProcess } from './node-process.ts'
import { anvilControls, DEPLOYER, SIN } from './settlement-node-fixtures.ts'

const transferWithAuthorizationTypes = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const

const PRICE = 1000n * SIN
const MODEL = 'evm-llm'
const CONFIRMATIONS = 2
const payer = privateKeyToAccount(generatePrivateKey())
const PAYER = payer.address.toLowerCase() as Hex
const BACKING = genesisMint(makeDevGenesis())
/** Someone else with tokens and gas on anvil (not the node). */
const STRANGER = dev[5]

const tmp = tempDir('sinew-x402-recovery-')
let anvil: Anvil
let evm: EvmClients
let deployment: DevSettlement
let backend: FakeBackend
let node: NodeProcess | undefined
let control: ReturnType<typeof anvilControls>
let pool: ReturnType<typeof createTestClient>
/** What the test moved into the contract and had credited: the invariant's oracle. */
let deposited = 0n
/** The payer's Sinew balance as the test computes it. */
let sin = 0n

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64')
const unb64 = (s: string | null) => JSON.parse(Buffer.from(s ?? '', 'base64').toString('utf8'))

async function start(env: Record<string, string> = {}): Promise<NodeProcess> {
  node = await startNodeProcess({
    dataDir: tmp.dir,
    env: {
      SINEW_SETTLEMENT_RPC_URL: anvil.rpcUrl,
      SINEW_SETTLEMENT_CONTRACT: deployment.settlement,
      SINEW_SETTLEMENT_START_BLOCK: deployment.deployBlock.toString(),
      SINEW_SETTLEMENT_CONFIRMATIONS: String(CONFIRMATIONS),
      // No checkpoints: the node's only EVM txs are the payments' transfers.
      SINEW_SETTLEMENT_CHECKPOINT_BLOCKS: '1000000000',
      SINEW_SETTLEMENT_CHECKPOINT_MS: String(30 * 24 * 3600_000),
      SINEW_SETTLEMENT_POLL_MS: '50',
      ...env,
    },
  })
  // The node offers `exact` once connected to the chain.
  await waitFor(
    () => status(),
    (s) => s.settlement?.chainId !== null && s.settlement?.invariant !== null,
  )
  return node
}

const url = () => node!.url
const status = async () => (await http(`${url()}/v1/status`)).json
const sinewBalance = async () => BigInt((await http(`${url()}/v1/accounts/${PAYER}`)).json.balance)
const tokenBalance = (address: Hex) => evm.client.readContract({ address: deployment.token, abi: sinewDevTokenAbi, functionName: 'balanceOf', args: [address] })
const authorizationUsed = (nonce: Hex) =>
  evm.client.readContract({ address: deployment.token, abi: sinewDevTokenAbi, functionName: 'authorizationState', args: [payer.address, nonce] })

function call(headers: Record<string, string> = {}) {
  return fetch(`${url()}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: 8 }),
  }).then(async (res) => ({ status: res.status, headers: res.headers, json: (await res.json()) as any }))
}

/** A fresh payment for the model's `exact` requirement, made by the unmodified @x402/evm scheme. */
async function payment() {
  const r = await call()
  expect(r.status).toBe(402)
  const exact = unb64(r.headers.get('payment-required')).accepts.find((a: any) => a.scheme === 'exact')
  const { payload } = await new ExactEvmScheme(payer).createPaymentPayload(2, exact)
  return { x402Version: 2, accepted: exact, payload } as { x402Version: 2; accepted: any; payload: any }
}

/** The node's EVM txs waiting in anvil's pool (the node's account is the sequencer's). */
async function pending(): Promise<Hex[]> {
  const content = await pool.getTxpoolContent()
  const sequencer = makeDevGenesis().sequencer.toLowerCase()
  return Object.entries(content.pending)
    .filter(([from]) => from.toLowerCase() === sequencer)
    .flatMap(([, txs]) => Object.values(txs).map((tx) => tx.hash))
}

/** The node's invariant once it has read the contract holding `held`: what it reports. */
const invariantAt = (held: bigint) =>
  waitFor(
    () => status(),
    (s) => s.settlement.invariant?.contractBalance === held.toString(),
  ).then((s) => s.settlement.invariant)

beforeAll(async () => {
  anvil = await startAnvil()
  evm = await connectEvm(anvil.rpcUrl, { pollingIntervalMs: 50 })
  control = anvilControls(anvil.rpcUrl)
  pool = createTestClient({ mode: 'anvil', transport: viemHttp(anvil.rpcUrl) })
  expect((await runCli(['init', '--dev', '--data-dir', tmp.dir])).code).toBe(0)
  deployment = await deployDevSettlement({
    rpcUrl: anvil.rpcUrl,
    deployer: DEPLOYER.privateKey,
    genesis: makeDevGenesis(),
    escapeDelaySeconds: 3600n,
    mint: [
      { to: PAYER, amount: 10n * SIN },
      { to: STRANGER.address, amount: 10n * SIN },
    ],
  })
  backend = await startFakeOpenAI()
  await start()
  await sendTx(url(), dev[3].privateKey, 'RegisterModel', {
    name: MODEL,
    description: 'test',
    backend: `openai-compatible:${backend.url}#fixed`,
    datanets: [],
    pricePerMillion: PRICE.toString(),
    contributorShareBps: '0',
  })
}, 180_000)

afterAll(async () => {
  await pool?.setAutomine(true).catch(() => {})
  await node?.stop()
  await backend?.close()
  await anvil?.stop()
  tmp.cleanup()
})

describe('x402 exact: a slow chain, a crash after the transfer, a transfer that can no longer be mined', () => {
  it('with the chain not mining, the call waits for the transfer and is served once it is mined', async () => {
    const paid = await payment()
    const tokens = await tokenBalance(PAYER)
    await control.setAutomine(false)
    let answered = false
    const answer = call({ 'payment-signature': b64(paid) }).finally(() => (answered = true))
    try {
      // The node has sent the transfer; nothing mines it.
      const [evmTx] = await waitFor(pending, (p) => p.length === 1)
      expect(await authorizationUsed(paid.payload.authorization.nonce)).toBe(false)
      // It is still waiting for it (a few RPC round trips later, still no answer).
      await evm.client.getBlockNumber({ cacheTime: 0 })
      expect(answered).toBe(false)
      await control.mine(1)
      const r = await answer
      expect(r.status).toBe(200)
      const settled = decodePaymentResponseHeader(r.headers.get('payment-response')!)
      expect(settled).toMatchObject({ success: true, payer: PAYER, transaction: evmTx })
      const amount = BigInt(paid.accepted.amount)
      const fee = BigInt(settled.extra!.charged as string)
      expect(fee).toBeGreaterThan(0n)
      deposited += amount
      sin += amount - fee
      expect(await tokenBalance(PAYER)).toBe(tokens - amount)
      expect(await sinewBalance()).toBe(sin)
    } finally {
      await control.setAutomine(true)
      await answer.catch(() => {})
    }
  })

  it('kill -9 right after the transfer is mined: after a restart the payer is credited exactly once, nothing charged, the invariant has no surplus', async () => {
    const paid = await payment()
    const amount = BigInt(paid.accepted.amount)
    const before = { tokens: await tokenBalance(PAYER), held: await tokenBalance(deployment.settlement) }
    await node!.stop('SIGTERM')
    await start({ SINEW_TEST_CRASH_AT: 'x402-transfer-mined' })
    const lost = await call({ 'payment-signature': b64(paid) }).then(
      (r) => r,
      (e: Error) => e,
    )
    expect(lost).toBeInstanceOf(Error) // the connection died with the node
    expect(await node!.exited).toEqual({ code: null, signal: 'SIGKILL' })

    // On anvil the payer's tokens are in the contract; on Sinew nothing was credited.
    expect(await authorizationUsed(paid.payload.authorization.nonce)).toBe(true)
    expect(await tokenBalance(PAYER)).toBe(before.tokens - amount)
    expect(await tokenBalance(deployment.settlement)).toBe(before.held + amount)
    deposited += amount

    // Restarted (without the crash point): until the transfer has its confirmations it is not
    // credited, and the contract holds exactly that much more than Sinew owes.
    await start()
    const early = await invariantAt(BACKING + deposited)
    expect(early).toMatchObject({ holds: true, deposited: (deposited - amount).toString(), surplus: amount.toString() })
    expect(await sinewBalance()).toBe(sin)

    await control.mine(CONFIRMATIONS)
    await waitFor(sinewBalance, (b) => b === sin + amount)
    sin += amount
    const s = await waitFor(
      () => status(),
      (st) => st.settlement.invariant?.deposited === deposited.toString(),
    )
    expect(s.settlement.invariant).toMatchObject({ holds: true, contractBalance: (BACKING + deposited).toString(), surplus: '0' })
    expect(s.settlement.watcher.recovered).toBe(1)

    // The same payment sent again is a replay: refused, nothing charged.
    const replay = await call({ 'payment-signature': b64(paid) })
    expect(replay.status).toBe(402)
    expect(replay.json.error.code).toBe('payment_nonce_used')

    // Another restart, more blocks: the watcher reads the range again and credits nothing twice.
    await node!.stop('SIGKILL')
    await start()
    const head = await evm.client.getBlockNumber({ cacheTime: 0 })
    await control.mine(CONFIRMATIONS + 1)
    const again = await waitFor(
      () => status(),
      (st) => st.settlement.scannedTo !== null && BigInt(st.settlement.scannedTo) >= head,
    )
    expect(again.settlement.watcher.recovered).toBe(0)
    expect(again.settlement.invariant).toMatchObject({ deposited: deposited.toString(), surplus: '0' })
    expect(await sinewBalance()).toBe(sin)
  }, 180_000)

  it("a crashed payment's transfer that a reorganisation removes is never credited; the authorisation, unused on the new chain, then pays once", async () => {
    const paid = await payment()
    const nonce = paid.payload.authorization.nonce as Hex
    const amount = BigInt(paid.accepted.amount)
    const before = { tokens: await tokenBalance(PAYER), held: await tokenBalance(deployment.settlement) }
    await node!.stop('SIGTERM')
    const snapshot = await control.snapshot()
    await start({ SINEW_TEST_CRASH_AT: 'x402-transfer-mined' })
    expect(await call({ 'payment-signature': b64(paid) }).catch((e: Error) => e)).toBeInstanceOf(Error)
    expect(await node!.exited).toEqual({ code: null, signal: 'SIGKILL' })
    const minedAt = await evm.client.getBlockNumber({ cacheTime: 0 })
    expect(await authorizationUsed(nonce)).toBe(true)
    // The block with the transfer leaves the chain; other blocks take its height and more.
    await control.revert(snapshot)
    expect(await authorizationUsed(nonce)).toBe(false)
    await start()
    await control.mine(CONFIRMATIONS + 2)
    const s = await waitFor(
      () => status(),
      (st) => st.settlement.scannedTo !== null && BigInt(st.settlement.scannedTo) >= minedAt,
    )
    expect(s.settlement.watcher.recovered).toBe(0)
    expect(await sinewBalance()).toBe(sin)
    expect(await tokenBalance(PAYER)).toBe(before.tokens)
    expect(await invariantAt(before.held)).toMatchObject({ holds: true, deposited: deposited.toString(), surplus: '0' })

    // On this chain the authorisation was never used: it pays for the call, once.
    const r = await call({ 'payment-signature': b64(paid) })
    expect(r.status).toBe(200)
    const fee = BigInt(decodePaymentResponseHeader(r.headers.get('payment-response')!).extra!.charged as string)
    deposited += amount
    sin += amount - fee
    expect(await sinewBalance()).toBe(sin)
    expect(await tokenBalance(PAYER)).toBe(before.tokens - amount)
    expect(await invariantAt(before.held + amount)).toMatchObject({ holds: true, deposited: deposited.toString(), surplus: '0' })
  }, 180_000)

  it('a transfer that can no longer be mined is reported payment_settlement_failed: no token moved, nothing charged', async () => {
    const paid = await payment()
    const before = { tokens: await tokenBalance(PAYER), held: await tokenBalance(deployment.settlement) }
    await control.setAutomine(false)
    try {
      const answer = call({ 'payment-signature': b64(paid) })
      const [evmTx] = await waitFor(pending, (p) => p.length === 1)
      // The transfer leaves the pool, and the chain moves past the authorisation's validBefore.
      await pool.dropTransaction({ hash: evmTx })
      const validBefore = BigInt(paid.payload.authorization.validBefore)
      const latest = await evm.client.getBlock({ blockTag: 'latest' })
      await control.increaseTime(Number(validBefore - latest.timestamp) + 1)
      await control.mine(1)
      const r = await answer
      expect(r.status).toBe(402)
      expect(r.json.error.code).toBe('payment_settlement_failed')
      expect(r.json.error.message).toContain(`The transfer ${evmTx} was sent but not seen mined`)
      expect(r.json.error.message).toMatch(/past the authorisation's validBefore/)
    } finally {
      await control.setAutomine(true)
    }
    expect(await authorizationUsed(paid.payload.authorization.nonce)).toBe(false)
    expect(await tokenBalance(PAYER)).toBe(before.tokens)
    expect(await tokenBalance(deployment.settlement)).toBe(before.held)
    expect(await sinewBalance()).toBe(sin)
    expect(await invariantAt(BACKING + deposited)).toMatchObject({ holds: true, deposited: deposited.toString(), surplus: '0' })
  })

  it("the payer's authorisation submitted by someone else (front-running the node) is still the payer's: credited to it once; a plain transfer into the contract is credited to nobody", async () => {
    const wallet = evmWallet(evm, STRANGER.privateKey)
    const recoveredBefore = (await status()).settlement.watcher.recovered as number
    const strangerSin = BigInt((await http(`${url()}/v1/accounts/${STRANGER.address}`)).json.balance)
    const held = await tokenBalance(deployment.settlement)
    const mined = async (hash: Hex) => (await evm.client.waitForTransactionReceipt({ hash })).blockNumber
    const plain = await mined(
      await wallet.writeContract({ address: deployment.token, abi: sinewDevTokenAbi, functionName: 'transfer', args: [deployment.settlement, SIN] }),
    )
    // The payer signs a transfer to the contract; the stranger, not the node, submits it.
    const chain = await evm.client.getBlock({ blockTag: 'latest' })
    const auth = {
      from: payer.address,
      to: deployment.settlement,
      value: 2n * SIN,
      validAfter: 0n,
      validBefore: chain.timestamp + 3600n,
      nonce: keccak256(toHex('not the node')),
    }
    const signature = await payer.signTypedData({
      domain: { name: 'Sinew Dev Token', version: '1', chainId: Number(evm.chainId), verifyingContract: deployment.token },
      types: transferWithAuthorizationTypes,
      primaryType: 'TransferWithAuthorization',
      message: auth,
    })
    const { v, r, s } = parseSignature(signature)
    const authorised = await mined(
      await wallet.writeContract({
        address: deployment.token,
        abi: sinewDevTokenAbi,
        functionName: 'transferWithAuthorization',
        args: [auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, Number(v), r, s],
      }),
    )
    expect(await tokenBalance(deployment.settlement)).toBe(held + 3n * SIN)
    await control.mine(CONFIRMATIONS)
    expect(authorised).toBeGreaterThan(plain)
    const last = authorised
    const st = await waitFor(
      () => status(),
      (x) => x.settlement.scannedTo !== null && BigInt(x.settlement.scannedTo) >= last,
    )
    // The payer signed those 2 SIN over to the contract: they are its on Sinew, whoever sent the tx.
    await waitFor(sinewBalance, (b) => b === sin + 2n * SIN)
    sin += 2n * SIN
    deposited += 2n * SIN
    expect(st.settlement.watcher.recovered).toBe(recoveredBefore + 1)
    expect(BigInt((await http(`${url()}/v1/accounts/${STRANGER.address}`)).json.balance)).toBe(strangerSin)
    // The plain transfer names no Sinew account: a surplus of the backing invariant, for an operator to handle.
    expect(await invariantAt(held + 3n * SIN)).toMatchObject({ holds: true, deposited: deposited.toString(), surplus: SIN.toString() })
  })

  it('sinew verify replays the chain, the recovered credit included', async () => {
    await node!.stop('SIGTERM')
    const r = await runCli(['verify', '--data-dir', tmp.dir, '--json'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true })
  }, 120_000)
})
