/**
 * The web app end to end in a real browser (Debian's Chromium, playwright-core) against a
 * real dev node: the whole story through the pages, as its actors would click it. A
 * contributor drops a file on a Datanet, the curator accepts it from the review queue, the
 * owner publishes and watches the index build reach `ready`, registers a model over that
 * version; a caller asks it in the playground and sees the contributor's span highlighted,
 * and the contributor's earnings page shows what the receipt paid them, to the base unit.
 * The oracle for amounts is the receipt read from the API, not the page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { RunningNode } from '../src/server/index.ts'
import { dev, startDevNode, tempDir } from './helpers.ts'
import { DESKTOP, launchBrowser, newPage, PHONE, screenshot, seriousViolations, useDevAccount } from './web-browser.ts'
import { DOCS } from './gateway-fixtures.ts'

const owner = dev[2]
const contributor = dev[1]
const caller = dev[3]
const DOC = DOCS[0].text

let tmp: ReturnType<typeof tempDir>
let node: RunningNode
let url: string
let browser: Browser

beforeAll(async () => {
  tmp = tempDir('sinew-web-')
  ;[node, browser] = await Promise.all([startDevNode(tmp.dir), launchBrowser()])
  url = node.url
})

afterAll(async () => {
  await browser?.close()
  await node?.close()
  tmp?.cleanup()
})

/** Drops `text` as a file named `name` on the page's drop zone, as a drag from the desktop does. */
async function dropFile(page: Page, name: string, text: string) {
  const transfer = await page.evaluateHandle(
    ([n, t]) => {
      const g = globalThis as any
      const dt = new g.DataTransfer()
      dt.items.add(new g.File([t], n, { type: 'text/plain' }))
      return dt
    },
    [name, text],
  )
  await page.locator('.drop').dispatchEvent('drop', { dataTransfer: transfer })
}

describe('the web app, end to end', () => {
  it('contributor uploads → curator accepts → owner publishes (ready) → model answers with the span highlighted → earnings show the receipt amount', async () => {
    const { page, context, errors } = await newPage(browser, DESKTOP)

    // The owner creates the Datanet (stake 1 SIN, 1000-byte limit).
    await useDevAccount(page, url, 2)
    await page.goto(`${url}/datanets`)
    await page.getByLabel('Name', { exact: true }).fill('Harbour Tales')
    await page.getByLabel('Description').fill('Stories of the harbour')
    await page.getByLabel(/^Largest contribution/).fill('1000')
    await page.getByLabel(/^Stake per contribution/).fill('1')
    await page.getByRole('button', { name: 'Sign and create' }).click()
    await page.getByRole('heading', { name: 'Harbour Tales', level: 1 }).waitFor()
    const datanet = new URL(page.url()).pathname.split('/').pop()!
    expect(datanet).toMatch(/^0x[0-9a-f]{64}$/)

    // The contributor drops a file; the stake is shown before signing; the upload shows progress.
    await useDevAccount(page, url, 1)
    await page.goto(`${url}/datanets/${datanet}`)
    await dropFile(page, 'lighthouse.txt', DOC)
    await expect.poll(() => page.getByTestId('stake-notice').textContent()).toContain('1 SIN')
    await page.getByRole('button', { name: 'Sign and contribute' }).click()
    await page.getByText(/^Contributed: /).waitFor()
    await expect(page.locator('progress#up').getAttribute('value')).resolves.toBe(String(Buffer.byteLength(DOC)))
    await screenshot(page, 'datanet-contributed-desktop')

    // The curator (the owner) reviews: text preview, blob state, accept; then publishes and the build reaches ready.
    await useDevAccount(page, url, 2)
    await page.goto(`${url}/datanets/${datanet}`)
    const item = page.getByTestId('queue-item')
    await item.getByText(DOC.slice(0, 40)).waitFor()
    await expect(item.getByText('blob present').count()).resolves.toBe(1)
    await screenshot(page, 'datanet-review-desktop')
    await item.getByRole('button', { name: 'Accept' }).click()
    await page.getByText('Nothing waiting for review.').waitFor()
    await page.getByRole('button', { name: /^Publish a new version \(1 accepted/ }).click()
    await page.getByTestId('version-1').getByTestId('build-state').filter({ hasText: 'ready' }).waitFor({ timeout: 60_000 })
    await screenshot(page, 'datanet-published-desktop')

    // The owner registers a model over that version.
    await page.goto(`${url}/models`)
    await page.getByLabel('Name', { exact: true }).fill('harbour-llm')
    await page.getByLabel(/^Datanet versions/).fill(`${datanet}@1`)
    await page.getByLabel(/^Price per million/).fill('1000')
    await page.getByRole('button', { name: 'Sign and register' }).click()
    await page.getByText('Registered harbour-llm.').waitFor()

    // Its lineage, drawn as a graph: model → Harbour Tales v1 → its accepted contributions, as the API lists them.
    await page.getByRole('row').filter({ hasText: 'harbour-llm' }).getByRole('button', { name: 'Lineage / edit' }).click()
    const graph = page.getByTestId('lineage-graph')
    await graph.getByTestId('lineage-version').filter({ hasText: 'Harbour Tales v1' }).waitFor()
    await expect(graph.getByTestId('lineage-model').textContent()).resolves.toContain('harbour-llm')
    const accepted: any = await (await fetch(`${url}/v1/datanets/${datanet}/contributions?status=accepted`)).json()
    expect(accepted.contributions.length).toBe(1)
    await expect(graph.getByTestId('lineage-contribution').evaluateAll((links) => links.map((a) => a.getAttribute('aria-label')))).resolves.toEqual(
      accepted.contributions.map((c: any) => `${c.title}, by ${c.author}`),
    )
    expect(accepted.contributions[0].author).toBe(contributor.address)
    await screenshot(page, 'models-lineage-desktop')

    // A caller makes a key in the browser and asks the model: the contributor's span is highlighted.
    await useDevAccount(page, url, 3)
    await page.goto(`${url}/playground`)
    await page.getByRole('button', { name: 'Sign and make a playground key' }).click()
    await page.getByLabel('Model').selectOption('harbour-llm')
    await page.getByLabel('Prompt').fill('The lighthouse keeper counted')
    await page.getByRole('button', { name: 'Ask' }).click()
    await page.getByTestId('receipt').waitFor({ timeout: 60_000 })
    const span = page.locator(`.span[data-author="${contributor.address}"]`).first()
    await span.waitFor()
    await span.hover()
    await expect.poll(() => page.locator('#span-detail').textContent()).toContain('lighthouse')
    await expect(page.locator('#span-detail').textContent()).resolves.toContain('Harbour Tales')
    await screenshot(page, 'playground-desktop')

    // The oracle: the receipt on the ledger, read from the API.
    const receiptLink = await page
      .getByTestId('receipt')
      .getByRole('link', { name: /^receipt / })
      .getAttribute('href')
    const receipt: any = await (await fetch(`${url}/v1${receiptLink}`)).json()
    const paid = receipt.split.contributors.filter((c: any) => c.author === contributor.address).reduce((a: bigint, c: any) => a + BigInt(c.amount), 0n)
    expect(paid).toBeGreaterThan(0n)
    const spanText = await span.textContent()
    expect(receipt.spans.length).toBeGreaterThan(0)
    expect(DOC).toContain(spanText!.trim())

    // The contributor's earnings page shows that receipt with that exact amount, and opens it with their span highlighted.
    await page.goto(`${url}/earnings/${contributor.address}`)
    const row = page.getByTestId('paying-receipt').filter({ has: page.locator(`a[href^="/receipts/${receipt.id}"]`) })
    await row.waitFor()
    await expect(row.locator('.amount').getAttribute('data-base-units')).resolves.toBe(paid.toString())
    await expect(page.getByTestId('earned-total').textContent()).resolves.toMatch(/ SIN$/)
    await screenshot(page, 'earnings-desktop')
    await row.getByRole('link').click()
    await page.locator(`.span.own[data-author="${contributor.address}"]`).first().waitFor()
    await screenshot(page, 'receipt-desktop')
    expect(errors).toEqual([])
    await context.close()
  }, 180_000)
})

describe('every page: accessible (axe), at phone and desktop widths', () => {
  const pages = ['/', '/datanets', '/playground', '/earnings', '/models', '/tasks', '/signin', '/blocks/1', `/account/${owner.address}`]
  for (const [width, viewport] of [
    ['phone', PHONE],
    ['desktop', DESKTOP],
  ] as const) {
    it(`${width} (${viewport.width} px): axe finds no serious or critical violation; a screenshot of each page`, async () => {
      const { page, context, errors } = await newPage(browser, viewport)
      await useDevAccount(page, url, 2)
      for (const path of pages) {
        await page.goto(`${url}${path}`)
        await page.locator('main h1').first().waitFor()
        expect(await page.locator('main h1').first().textContent()).not.toBe('Not found')
        await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0)
        await screenshot(
          page,
          `${
            path === '/'
              ? 'explorer'
              : path
                  .slice(1)
                  .replace(/\/0x[0-9a-f]+/, '')
                  .replaceAll('/', '-')
          }-${width}`,
        )
        expect({ path, violations: await seriousViolations(page) }).toEqual({ path, violations: [] })
        // Nothing wider than the screen at phone width (tables scroll inside their own box).
        if (viewport === PHONE) expect({ path, width: await page.evaluate('document.documentElement.scrollWidth') }).toEqual({ path, width: PHONE.width })
      }
      expect(errors).toEqual([])
      await context.close()
    }, 300_000)
  }
})
