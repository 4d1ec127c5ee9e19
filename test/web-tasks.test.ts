/**
 * The web app's task board, agent profiles, account history and model picker in a real
 * browser (Debian's Chromium, playwright-core) against a real dev node. A poster posts a
 * task (reward escrowed, spec uploaded), an agent registers, claims, submits a result, the
 * poster accepts it, and the agent's profile shows the reward earned; an account's signed txs
 * page older by cursor; a long model name is cut in the playground's picker. The oracle is
 * the node's API (GET /v1/tasks/:id, /v1/agents/:address, /v1/accounts/:address/txs), never
 * the page. Every wait is on what the page shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { RunningNode } from '../src/server/index.ts'
import { dev, http, sendTx, signTransfer, startDevNode, tempDir } from './helpers.ts'
import { DESKTOP, launchBrowser, newPage, PHONE, screenshot, seriousViolations, useDevAccount } from './web-browser.ts'

const poster = dev[2]
const worker = dev[1]
const payer = dev[4]
const SIN = 10n ** 18n
const SPEC = 'Summarise the harbour logbook for 1901 in three sentences.'
const RESULT = 'Storms in March; the lighthouse was relit in June; a record catch in October.'

let tmp: ReturnType<typeof tempDir>
let node: RunningNode
let url: string
let browser: Browser
let taskId: string | undefined

beforeAll(async () => {
  tmp = tempDir('sinew-web-tasks-')
  ;[node, browser] = await Promise.all([startDevNode(tmp.dir), launchBrowser()])
  url = node.url
})

afterAll(async () => {
  await browser?.close()
  await node?.close()
  tmp?.cleanup()
})

const api = async (path: string): Promise<any> => {
  const r = await http(`${url}${path}`)
  expect(r.status).toBe(200)
  return r.json
}

/** Waits until the task page shows `status` (it reloads as blocks arrive). */
const statusShown = (page: Page, status: string) => page.getByTestId('task').getByTestId('task-status').filter({ hasText: status }).waitFor()

describe('the task board in the browser', () => {
  it('post (escrowed) → register as agent → claim → submit → accept: the page shows what the API says, the agent earned the reward', async () => {
    const { page, context, errors } = await newPage(browser, DESKTOP)

    // The poster posts a task: the escrow is said before signing; the page lands on the task.
    await useDevAccount(page, url, 2)
    await page.goto(`${url}/tasks`)
    await page.getByLabel('Title').fill('Summarise the 1901 logbook')
    await page.getByLabel(/^Spec/).fill(SPEC)
    await page.getByLabel(/^Reward/).fill('3')
    await page.getByLabel(/^Stake a claimer must lock/).fill('0.5')
    await expect(page.getByTestId('escrow-notice').locator('.amount').getAttribute('data-base-units')).resolves.toBe((3n * SIN).toString())
    await page.getByRole('button', { name: 'Sign and post' }).click()
    await page.getByRole('heading', { name: 'Summarise the 1901 logbook', level: 1 }).waitFor()
    taskId = new URL(page.url()).pathname.split('/').pop()!
    expect(taskId).toMatch(/^0x[0-9a-f]{64}$/)
    if (!taskId) throw new Error('no task id')
    let task = await api(`/v1/tasks/${taskId}`)
    expect(task).toMatchObject({ poster: poster.address, status: 'open', reward: (3n * SIN).toString(), escrow: (3n * SIN).toString() })
    expect(task.specBlob.stored).toBe(true)
    await expect(page.getByTestId('escrow').locator('.amount').getAttribute('data-base-units')).resolves.toBe(task.escrow)
    await page.getByTestId('spec').filter({ hasText: SPEC }).waitFor()
    await statusShown(page, 'open')

    // The worker registers as an agent from its profile page.
    await useDevAccount(page, url, 1)
    await page.goto(`${url}/agents/${worker.address}`)
    await page.getByLabel('Name').fill('logbook-bot')
    await page.getByLabel(/^Capabilities/).fill('summarize')
    await page.getByRole('button', { name: 'Sign and register' }).click()
    await page.getByRole('heading', { name: 'logbook-bot', level: 1 }).waitFor()
    expect((await api(`/v1/agents/${worker.address}`)).agent).toMatchObject({ name: 'logbook-bot', capabilities: ['summarize'] })

    // It claims (locking the stake) and submits a result.
    await page.goto(`${url}/tasks/${taskId}`)
    await page.getByRole('button', { name: /^Sign and claim/ }).click()
    await statusShown(page, 'claimed')
    task = await api(`/v1/tasks/${taskId}`)
    expect(task.claim.claimer).toBe(worker.address)
    expect(task.escrow).toBe((3n * SIN + SIN / 2n).toString())
    await expect(page.getByTestId('escrow').locator('.amount').getAttribute('data-base-units')).resolves.toBe(task.escrow)
    await page.getByLabel(/^Your result/).fill(RESULT)
    await page.getByRole('button', { name: 'Sign and submit the result' }).click()
    await statusShown(page, 'submitted')
    await page.getByTestId('result').filter({ hasText: RESULT }).waitFor()
    task = await api(`/v1/tasks/${taskId}`)
    expect(task.submission.claimer).toBe(worker.address)
    expect(task.resultBlob.stored).toBe(true)
    await screenshot(page, 'task-submitted-desktop')

    // The poster accepts; the board lists it as accepted.
    await useDevAccount(page, url, 2)
    await page.goto(`${url}/tasks/${taskId}`)
    await page.getByRole('button', { name: 'Accept the result' }).click()
    await statusShown(page, 'accepted')
    task = await api(`/v1/tasks/${taskId}`)
    expect(task.status).toBe('accepted')
    expect(task.escrow).toBe('0')
    await page.goto(`${url}/tasks`)
    await page.getByLabel('Status').selectOption('accepted')
    const row = page.locator(`[data-testid="task-row"][data-task="${taskId}"]`)
    await row.getByTestId('task-status').filter({ hasText: 'accepted' }).waitFor()
    await screenshot(page, 'tasks-accepted-desktop')

    // The agent's profile shows its reputation as the ledger counts it: the reward earned.
    const agent = await api(`/v1/agents/${worker.address}`)
    expect(agent.reputation).toMatchObject({ claims: 1, accepted: 1, earned: (3n * SIN).toString() })
    await page.goto(`${url}/agents/${worker.address}`)
    await expect.poll(() => page.getByTestId('earned').locator('.amount').getAttribute('data-base-units')).toBe(agent.reputation.earned)
    await expect(page.getByTestId('accepted').textContent()).resolves.toBe(String(agent.reputation.accepted))
    await expect(page.getByTestId('claims').textContent()).resolves.toBe(String(agent.reputation.claims))
    await screenshot(page, 'agent-desktop')

    // The worker's account page lists the txs it signed, as the API does (newest first).
    const history = await api(`/v1/accounts/${worker.address}/txs`)
    expect(history.txs.map((t: any) => t.type)).toEqual(['SubmitResult', 'ClaimTask', 'RegisterAgent'])
    await page.goto(`${url}/account/${worker.address}`)
    await expect
      .poll(() => page.getByTestId('account-tx').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-hash'))))
      .toEqual(history.txs.map((t: any) => t.hash))
    expect(errors).toEqual([])
    await context.close()
  }, 180_000)

  it("an account's signed txs: the first page follows the head, Older pages by cursor, each as the API pages it", async () => {
    // 23 transfers signed by one account, in one batch: two pages of 20 and 3.
    const txs = await Promise.all(
      Array.from({ length: 23 }, (_, i) => signTransfer(payer.privateKey, { to: poster.address, amount: BigInt(i + 1), nonce: BigInt(i) })),
    )
    const batch = await http(`${url}/v1/txs`, { method: 'POST', body: { txs } })
    expect(batch.status).toBe(200)
    const first = await api(`/v1/accounts/${payer.address}/txs?limit=20`)
    expect(first.total).toBe(23)
    expect(first.txs.map((t: any) => t.message.nonce)).toEqual(Array.from({ length: 20 }, (_, i) => String(22 - i)))
    const second = await api(`/v1/accounts/${payer.address}/txs?limit=20&before=${first.next}`)
    expect(second.txs.map((t: any) => t.message.nonce)).toEqual(['2', '1', '0'])
    expect(second.next).toBeNull()

    const { page, context, errors } = await newPage(browser, PHONE)
    const shown = () => page.getByTestId('account-tx').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-hash')))
    await page.goto(`${url}/account/${payer.address}`)
    await expect.poll(shown).toEqual(first.txs.map((t: any) => t.hash))
    await page.getByTestId('account-tx-count').filter({ hasText: '20 shown of 23 txs signed' }).waitFor()
    await page.getByRole('button', { name: 'Older' }).last().click()
    await expect.poll(shown).toEqual(second.txs.map((t: any) => t.hash))
    await expect(page.getByRole('button', { name: 'Older' }).last().isDisabled()).resolves.toBe(true)
    await page.getByRole('button', { name: 'Newer' }).last().click()
    await expect.poll(shown).toEqual(first.txs.map((t: any) => t.hash))

    // Live: a new tx of the account appears on the first page without a reload.
    const next = await sendTx(url, payer.privateKey, 'Transfer', { to: poster.address, amount: '99' })
    await expect.poll(shown).toContain(next.hash)
    expect((await shown())[0]).toBe(next.hash)
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)

  it('a long model name is cut with … in the playground picker, whole in its title, and the page stays within a phone screen', async () => {
    const name = `the-very-long-model-name-${'x'.repeat(30)}-v2`
    expect(name.length).toBeLessThanOrEqual(64)
    await sendTx(url, poster.privateKey, 'RegisterModel', {
      name,
      description: 'a model with a long name',
      backend: 'openai-compatible:http://127.0.0.1:9/v1',
      datanets: [],
      pricePerMillion: '1',
      contributorShareBps: '0',
    })
    const { page, context, errors } = await newPage(browser, PHONE)
    await useDevAccount(page, url, 3)
    await page.goto(`${url}/playground`)
    const option = page.locator(`#model option[value="${name}"]`)
    await option.waitFor({ state: 'attached' })
    await expect(option.getAttribute('title')).resolves.toBe(name)
    const text = (await option.textContent())!
    expect(text.startsWith(`${name.slice(0, 27)}…`)).toBe(true)
    expect(text).not.toContain(name)
    await page.getByLabel('Model').selectOption(name)
    await expect(page.getByLabel('Model').getAttribute('title')).resolves.toBe(name)
    const box = (await page.getByLabel('Model').boundingBox())!
    expect(box.x + box.width).toBeLessThanOrEqual(PHONE.width)
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBe(PHONE.width)
    await screenshot(page, 'playground-long-name-phone')
    expect(errors).toEqual([])
    await context.close()
  }, 60_000)
})

describe('task, agent and account pages: accessible (axe), at phone and desktop widths', () => {
  for (const [width, viewport] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ] as const) {
    it(`${width} (${viewport.width} px): no serious or critical violation`, async () => {
      // Run alone, this test posts its own task (its spec blob is then not on the node, which the page says).
      taskId ??= (
        await sendTx(url, poster.privateKey, 'PostTask', {
          title: 'A task to look at',
          specHash: `0x${'ab'.repeat(32)}`,
          reward: SIN.toString(),
          deadline: String(Date.now() + 3_600_000),
          leaseMs: '60000',
          claimStake: '0',
          verifiers: [],
          threshold: '0',
        })
      ).hash
      const pages = [
        ['/tasks', 'tasks'],
        [`/tasks/${taskId}`, 'task'],
        [`/agents/${worker.address}`, 'agent'],
        [`/account/${worker.address}`, 'account-history'],
      ]
      const { page, context, errors } = await newPage(browser, viewport)
      await useDevAccount(page, url, 1)
      for (const [path, name] of pages) {
        await page.goto(`${url}${path}`)
        await page.locator('main h1').first().waitFor()
        await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0)
        await screenshot(page, `${name}-${width}`)
        expect({ path, violations: await seriousViolations(page) }).toEqual({ path, violations: [] })
        if (viewport === PHONE) expect({ path, width: await page.evaluate('document.documentElement.scrollWidth') }).toEqual({ path, width: PHONE.width })
      }
      expect(errors).toEqual([])
      await context.close()
    }, 120_000)
  }
})
