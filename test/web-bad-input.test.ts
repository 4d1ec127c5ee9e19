/**
 * Bad input in the web app, in a real browser: a refused signature, a wallet on the wrong
 * network, a file over the Datanet's limit, and a node that goes away each end in a clear
 * message in the page and nothing written on the ledger. Keyboard operation of the main
 * actions (sign in, contribute through the drop zone, review, span details) is checked here
 * too. The wallet is an EIP-1193 provider injected into the page (no wallet extension runs
 * here), answering the real JSON-RPC methods a wallet answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { RunningNode } from '../src/server/index.ts'
import { dev, startDevNode, tempDir } from './helpers.ts'
import { datanetsClient } from './datanets-fixtures.ts'
import { DESKTOP, launchBrowser, newPage, pressWithKeyboard, signInWithKeyboard, useDevAccount } from './web-browser.ts'

let tmp: ReturnType<typeof tempDir>
let node: RunningNode
let url: string
let browser: Browser
let small: string

beforeAll(async () => {
  tmp = tempDir('sinew-webbad-')
  ;[node, browser] = await Promise.all([startDevNode(tmp.dir), launchBrowser()])
  url = node.url
  const c = await datanetsClient(url)
  const created = await c.submit(dev[2].privateKey, 'CreateDatanet', {
    name: 'Tiny notes',
    description: 'at most 100 bytes each',
    license: 'CC0-1.0',
    mediaTypes: ['text/plain'],
    maxSize: '100',
    stake: '0',
  })
  small = created.json.receipt.result.datanet
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await node?.close()
  tmp?.cleanup()
})

/** Injects an EIP-1193 wallet holding `address` on `chainId` that refuses (code 4001) or signs nothing. */
async function fakeWallet(page: Page, o: { address: string; chainId: number }) {
  await page.addInitScript(
    ({ address, chainId }) => {
      ;(globalThis as any).ethereum = {
        async request({ method }: { method: string }) {
          if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [address]
          if (method === 'eth_chainId') return `0x${chainId.toString(16)}`
          if (method === 'eth_signTypedData_v4') throw Object.assign(new Error('User rejected the request.'), { code: 4001 })
          throw Object.assign(new Error(`unsupported ${method}`), { code: 4200 })
        },
        on() {},
        removeListener() {},
      }
    },
    { address: o.address, chainId: o.chainId },
  )
}

const read = async (path: string): Promise<any> => (await fetch(`${url}${path}`)).json()
const datanetCount = async () => (await read('/v1/datanets')).total as number
const nonceOf = async (a: string) => (await read(`/v1/accounts/${a}`)).nonce as string

describe('bad input ends in a clear message and nothing written', () => {
  it('a refused signature: "You refused to sign", no tx', async () => {
    const { page, context } = await newPage(browser, DESKTOP)
    await fakeWallet(page, { address: dev[5].address, chainId: 31415 })
    await page.goto(`${url}/signin`)
    await page.getByRole('button', { name: 'Connect wallet' }).click()
    await page.getByTestId('account').filter({ hasText: 'Wallet' }).waitFor()
    const before = [await datanetCount(), await nonceOf(dev[5].address)]
    await page.goto(`${url}/datanets`)
    await page.getByLabel('Name', { exact: true }).fill('Never made')
    await page.getByRole('button', { name: 'Sign and create' }).click()
    await page.getByRole('alert').filter({ hasText: 'You refused to sign: nothing was sent to the node.' }).waitFor()
    expect([await datanetCount(), await nonceOf(dev[5].address)]).toEqual(before)
    await context.close()
  })

  it('a wallet on the wrong network: names both chains, no tx', async () => {
    const { page, context } = await newPage(browser, DESKTOP)
    await fakeWallet(page, { address: dev[6].address, chainId: 1 })
    await page.goto(`${url}/signin`)
    await page.getByRole('button', { name: 'Connect wallet' }).click()
    await page.getByTestId('account').filter({ hasText: 'Wallet' }).waitFor()
    const before = await datanetCount()
    await page.goto(`${url}/datanets`)
    await page.getByLabel('Name', { exact: true }).fill('Wrong chain')
    await page.getByRole('button', { name: 'Sign and create' }).click()
    await page.getByRole('alert').filter({ hasText: 'Your wallet is on chain 1, but this Sinew network signs for chain 31415.' }).waitFor()
    expect(await datanetCount()).toBe(before)
    await context.close()
  })

  it('a file over the Datanet’s limit is refused before anything is signed or uploaded', async () => {
    const { page, context } = await newPage(browser, DESKTOP)
    await useDevAccount(page, url, 4)
    await page.goto(`${url}/datanets/${small}`)
    await page.getByTestId('file-input').setInputFiles({ name: 'long.txt', mimeType: 'text/plain', buffer: Buffer.from('x'.repeat(250)) })
    await page.getByRole('alert').filter({ hasText: "long.txt is 250 B, over this Datanet's limit of 100 B" }).waitFor()
    expect(await page.getByRole('button', { name: 'Sign and contribute' }).count()).toBe(0)
    expect((await read(`/v1/datanets/${small}`)).counts.contributions).toBe(0)
    expect(await nonceOf(dev[4].address)).toBe('0')
    await context.close()
  })
})

describe('keyboard', () => {
  it('signs in, contributes through the drop zone, and reviews with the keyboard alone (each control reached by Tab)', async () => {
    const { page, context } = await newPage(browser, DESKTOP)
    await signInWithKeyboard(page, url, 7)
    await page.goto(`${url}/datanets/${small}`)
    // Enter on the drop zone must open the file picker, i.e. click the hidden file input. The
    // page records that click and cancels the native picker, then the test sets the file on the
    // input. (Waiting for Playwright's 'filechooser' event instead raced: its interception is
    // switched on without an acknowledgement, so a key pressed right after could beat it.)
    const fileInput = page.getByTestId('file-input')
    await fileInput.evaluate((input) => {
      input.addEventListener('click', (e: { preventDefault(): void }) => {
        e.preventDefault()
        input.dataset.opened = 'yes'
      })
    })
    await pressWithKeyboard(page, page.locator('.drop'))
    await page.locator('[data-testid="file-input"][data-opened="yes"]').waitFor({ state: 'attached' })
    await fileInput.setInputFiles({ name: 'short.txt', mimeType: 'text/plain', buffer: Buffer.from('A short note typed with keys.') })
    await pressWithKeyboard(page, page.getByRole('button', { name: 'Sign and contribute' }))
    await page.getByText(/^Contributed: /).waitFor()

    // The owner accepts it from the queue with the keyboard.
    await signInWithKeyboard(page, url, 2)
    await page.goto(`${url}/datanets/${small}`)
    await pressWithKeyboard(page, page.getByTestId('queue-item').getByRole('button', { name: 'Accept' }))
    await page.getByText('Nothing waiting for review.').waitFor()
    expect((await read(`/v1/datanets/${small}`)).counts.accepted).toBe(1)
    await context.close()
  })
})

describe('a node that goes away', () => {
  it('the page says the node is not answering, and an action says it could not reach it', async () => {
    const t = tempDir('sinew-webgone-')
    const gone = await startDevNode(t.dir)
    const { page, context } = await newPage(browser, DESKTOP)
    try {
      await page.goto(`${gone.url}/`)
      await page.getByTestId('height').waitFor()
      await gone.close()
      await page
        .getByRole('alert')
        .filter({ hasText: `The Sinew node at ${gone.url} is not answering.` })
        .waitFor()
      await page.getByLabel(/^Search by/).fill(`0x${'ab'.repeat(32)}`)
      await page.getByRole('button', { name: 'Search' }).click()
      await page
        .locator('search')
        .getByRole('alert')
        .filter({ hasText: `Cannot reach the Sinew node at ${gone.url}` })
        .waitFor()
    } finally {
      await context.close()
      t.cleanup()
    }
  })
})
