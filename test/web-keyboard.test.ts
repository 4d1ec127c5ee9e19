/**
 * Every action of the web app works from the keyboard (issue #14), in a real browser (Debian's
 * Chromium, playwright-core) against a real dev node: after each page has loaded, the test
 * only presses keys and types. Each control is reached with Tab (`tabTo` presses Tab until
 * the control has focus, so a control Tab cannot reach fails the test), filled by typing and
 * operated with Enter (Space for a checkbox). Covered here: sign in; create a Datanet and
 * publish a version; make a playground key and chat, then Tab to a highlighted span and read
 * its contribution (shown on focus, not only on hover); make an API key and revoke it;
 * register a model; post a task, register as an agent, claim, submit and accept. The
 * oracle is the node's API, never the page. test/web-bad-input.test.ts covers contributing
 * through the drop zone and reviewing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { hashApiKey } from '../src/models/index.ts'
import type { RunningNode } from '../src/server/index.ts'
import { datanetsClient } from './datanets-fixtures.ts'
import { DOCS, registerFixtureInfinigram } from './gateway-fixtures.ts'
import { dev, http, startDevNode, tempDir } from './helpers.ts'
import {
  DESKTOP,
  launchBrowser,
  newPage,
  pressWithKeyboard,
  screenshot,
  seriousViolations,
  signInWithKeyboard,
  tabTo as tabToControl,
  typeWithKeyboard,
} from './web-browser.ts'

const SIN = 10n ** 18n
const owner = dev[2]

let tmp: ReturnType<typeof tempDir>
let node: RunningNode
let url: string
let browser: Browser

beforeAll(async () => {
  tmp = tempDir('sinew-web-keys-')
  ;[node, browser] = await Promise.all([startDevNode(tmp.dir), launchBrowser()])
  url = node.url
  // A model over a published Datanet (its docs by dev #6) for the playground.
  await registerFixtureInfinigram(url, { owner: owner.privateKey, name: 'kb-infinigram', datanet: 'Keyboard Tales', pricePerMillion: SIN })
}, 120_000)

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

const tabTo = tabToControl
const press = pressWithKeyboard
const typeInto = typeWithKeyboard
const signIn = (page: Page, index: number) => signInWithKeyboard(page, url, index)

describe('every action from the keyboard', () => {
  it('a header link navigates in the page (no reload) and moves focus to the new page: the next Tab lands in its content', async () => {
    const { page, context, errors } = await newPage(browser, DESKTOP)
    await page.goto(`${url}/`)
    // Marks this document: a full page load (not an in-app navigation) would bring a new one.
    await page.locator('html').evaluate((el) => el.setAttribute('data-loaded-once', 'yes'))
    await press(page, page.getByRole('banner').getByRole('link', { name: 'Datanets', exact: true }))
    await page.getByRole('heading', { name: 'Datanets', level: 1 }).waitFor()
    expect(await page.locator('html').getAttribute('data-loaded-once')).toBe('yes')
    const main = page.locator('main#main')
    expect(await main.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true)
    await page.keyboard.press('Tab')
    expect(await main.evaluate((el) => el !== el.ownerDocument.activeElement && el.contains(el.ownerDocument.activeElement))).toBe(true)
    expect(errors).toEqual([])
    await context.close()
  }, 60_000)

  it('create a Datanet (a format ticked with Space) and publish a version: the build reaches ready', async () => {
    const { page, context, errors } = await newPage(browser, DESKTOP)
    await signIn(page, 2)
    await page.goto(`${url}/datanets`)
    await typeInto(page, page.getByLabel('Name', { exact: true }), 'Keyed Notes')
    await typeInto(page, page.getByLabel('Description'), 'made from the keyboard')
    await tabTo(page, page.getByRole('checkbox', { name: /\.jsonl/ }))
    await page.keyboard.press('Space')
    await typeInto(page, page.getByLabel(/^Largest contribution/), '10000')
    await press(page, page.getByRole('button', { name: 'Sign and create' }))
    await page.getByRole('heading', { name: 'Keyed Notes', level: 1 }).waitFor()
    const datanet = new URL(page.url()).pathname.split('/').pop()!
    expect(datanet).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await api(`/v1/datanets/${datanet}`)).toMatchObject({
      name: 'Keyed Notes',
      description: 'made from the keyboard',
      owner: owner.address,
      rules: { maxSize: '10000', mediaTypes: ['text/plain', 'text/markdown', 'application/jsonl'] },
    })

    // One accepted contribution, through the API (contributing and reviewing by keyboard: test/web-bad-input.test.ts).
    const c = await datanetsClient(url)
    const contribution = (await c.contribute(dev[1].privateKey, datanet, DOCS[1].text, 'a note', 'text/plain')).json.contribution
    expect((await c.submit(owner.privateKey, 'Review', { contribution, accept: true, reason: '' })).status).toBe(200)

    await page.goto(`${url}/datanets/${datanet}`)
    await press(page, page.getByRole('button', { name: /^Publish a new version \(1 accepted/ }))
    await page.getByTestId('version-1').getByTestId('build-state').filter({ hasText: 'ready' }).waitFor({ timeout: 60_000 })
    const v = await api(`/v1/datanets/${datanet}/versions/1`)
    expect(v).toMatchObject({ version: 1, contributions: 1 })
    expect(v.build.state).toBe('ready')
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)

  it('playground: make a key, pick the model, ask; Tab to a highlighted span shows its contribution, Datanet and author', async () => {
    const { page, context, errors } = await newPage(browser, DESKTOP)
    await signIn(page, 3)
    await page.goto(`${url}/playground`)
    await press(page, page.getByRole('button', { name: 'Sign and make a playground key' }))
    const picker = page.getByLabel('Model')
    await tabTo(page, picker)
    // Type-ahead on a focused select picks the option whose text starts with what is typed.
    await page.keyboard.type('kb-inf')
    await expect.poll(() => picker.inputValue()).toBe('kb-infinigram')
    await typeInto(page, page.getByLabel('Prompt'), 'The lighthouse keeper counted')
    await press(page, page.getByRole('button', { name: 'Ask' }))
    await page.getByTestId('receipt').waitFor({ timeout: 60_000 })

    // The oracle: the receipt, read from the API through the link the page shows.
    const href = await page
      .getByTestId('receipt')
      .getByRole('link', { name: /^receipt / })
      .getAttribute('href')
    const receipt = await api(`/v1${href}`)
    expect(receipt.spans.length).toBeGreaterThan(0)
    const first = [...receipt.spans].sort((a: any, b: any) => a.start - b.start)[0]
    const contribution = await api(`/v1/contributions/${first.contribution}`)

    const span = page.locator(`.span[data-contribution="${first.contribution}"]`).first()
    const detail = page.locator('#span-detail')
    await expect(detail.textContent()).resolves.toContain('Hover, focus or tap')
    await tabTo(page, span)
    // Focus alone (no hover, no click) shows where the span comes from, and the span points to it.
    await expect.poll(() => detail.textContent()).toContain(contribution.title)
    const text = (await detail.textContent())!
    expect(text).toContain('Keyboard Tales')
    expect(text).toContain(await span.textContent())
    await expect(detail.getByRole('link', { name: contribution.author.slice(0, 6) }).count()).resolves.toBeGreaterThan(0)
    await expect(span.getAttribute('aria-describedby')).resolves.toBe('span-detail')
    await screenshot(page, 'playground-keyboard-span-desktop')
    expect(await seriousViolations(page)).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)

  it('make an API key (shown once) and revoke it', async () => {
    const { page, context, errors } = await newPage(browser, DESKTOP)
    const who = dev[4]
    await signIn(page, 4)
    await page.goto(`${url}/models`)
    await typeInto(page, page.getByLabel('Label'), 'typed-key')
    await typeInto(page, page.getByLabel(/^Spend limit/), '2.5')
    await press(page, page.getByRole('button', { name: 'Make a key and sign its hash' }))
    const secret = (await page.getByTestId('new-key').textContent())!.trim()
    expect(secret).toMatch(/^sk-sinew-/)
    const keyHash = hashApiKey(secret)
    expect(await api(`/v1/apikeys/${keyHash}`)).toMatchObject({
      owner: who.address,
      label: 'typed-key',
      spendLimit: ((25n * SIN) / 10n).toString(),
      revoked: false,
    })

    await press(page, page.getByRole('button', { name: 'Revoke' }))
    await page.getByRole('cell', { name: 'revoked', exact: true }).waitFor()
    expect((await api(`/v1/apikeys/${keyHash}`)).revoked).toBe(true)
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)

  it('register a model over a Datanet version', async () => {
    const ref = (await api('/v1/registry/models')).models.find((x: any) => x.name === 'kb-infinigram').datanets[0] as string
    const { page, context, errors } = await newPage(browser, DESKTOP)
    await signIn(page, 2)
    await page.goto(`${url}/models`)
    await typeInto(page, page.getByLabel('Name', { exact: true }), 'typed-llm')
    await typeInto(page, page.getByLabel('Description'), 'registered with keys')
    await typeInto(page, page.getByLabel(/^Datanet versions/), ref)
    await typeInto(page, page.getByLabel(/^Price per million/), '2')
    await typeInto(page, page.getByLabel(/^Contributor share/), '4000')
    await press(page, page.getByRole('button', { name: 'Sign and register' }))
    await page.getByText('Registered typed-llm.').waitFor()
    const m = (await api('/v1/registry/models')).models.find((x: any) => x.name === 'typed-llm')
    expect(m).toMatchObject({
      owner: owner.address,
      description: 'registered with keys',
      backend: 'builtin:infinigram',
      datanets: [ref],
      pricePerMillion: (2n * SIN).toString(),
      contributorShareBps: 4000,
    })
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)

  it('post a task (reward escrowed), register as an agent, claim, submit, accept', async () => {
    const { page, context, errors } = await newPage(browser, DESKTOP)
    await signIn(page, 2)
    await page.goto(`${url}/tasks`)
    await typeInto(page, page.getByLabel('Title'), 'Count the gulls')
    await typeInto(page, page.getByLabel(/^Spec/), 'How many gulls on the northern rail?')
    await typeInto(page, page.getByLabel(/^Reward/), '2')
    await typeInto(page, page.getByLabel(/^Stake a claimer must lock/), '0.5')
    await press(page, page.getByRole('button', { name: 'Sign and post' }))
    await page.getByRole('heading', { name: 'Count the gulls', level: 1 }).waitFor()
    const taskId = new URL(page.url()).pathname.split('/').pop()!
    expect(taskId).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await api(`/v1/tasks/${taskId}`)).toMatchObject({
      poster: owner.address,
      status: 'open',
      escrow: (2n * SIN).toString(),
      claimStake: (SIN / 2n).toString(),
    })

    // The claimer registers as an agent, claims, and submits a result.
    const worker = dev[1]
    await signIn(page, 1)
    await page.goto(`${url}/agents/${worker.address}`)
    await typeInto(page, page.getByLabel('Name'), 'gull-counter')
    await typeInto(page, page.getByLabel(/^Capabilities/), 'count, birds')
    await press(page, page.getByRole('button', { name: 'Sign and register' }))
    await page.getByRole('heading', { name: 'gull-counter', level: 1 }).waitFor()
    expect((await api(`/v1/agents/${worker.address}`)).agent).toMatchObject({ name: 'gull-counter', capabilities: ['count', 'birds'] })

    await page.goto(`${url}/tasks/${taskId}`)
    await press(page, page.getByRole('button', { name: /^Sign and claim/ }))
    const status = (s: string) => page.getByTestId('task').getByTestId('task-status').filter({ hasText: s }).waitFor()
    await status('claimed')
    let task = await api(`/v1/tasks/${taskId}`)
    expect(task.claim.claimer).toBe(worker.address)
    expect(task.escrow).toBe((2n * SIN + SIN / 2n).toString())
    await typeInto(page, page.getByLabel(/^Your result/), 'Seventeen gulls.')
    await press(page, page.getByRole('button', { name: 'Sign and submit the result' }))
    await status('submitted')
    expect((await api(`/v1/tasks/${taskId}`)).submission.claimer).toBe(worker.address)

    // The poster accepts it: the reward and the stake go to the claimer.
    await signIn(page, 2)
    await page.goto(`${url}/tasks/${taskId}`)
    await press(page, page.getByRole('button', { name: 'Accept the result' }))
    await status('accepted')
    task = await api(`/v1/tasks/${taskId}`)
    expect(task).toMatchObject({ status: 'accepted', escrow: '0' })
    expect((await api(`/v1/agents/${worker.address}`)).reputation).toMatchObject({ claims: 1, accepted: 1, earned: (2n * SIN).toString() })
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)
})
