/**
 * Debian's Chromium driven by playwright-core for the web app's tests: launched headless with
 * a fresh profile and its background services off (this machine's network refuses them), a
 * page at a set width, screenshots saved under test/screenshots/ (gitignored), and an axe-core
 * scan that returns its serious and critical violations.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { AxeBuilder } from '@axe-core/playwright'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { repoRoot } from './helpers.ts'

export const CHROMIUM = process.env.SINEW_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = join(repoRoot, 'test', 'screenshots')

export const PHONE = { width: 375, height: 812 }
export const DESKTOP = { width: 1280, height: 900 }

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  })
}

/** A new context (its own storage: a separate visitor) and page at `viewport`; page errors fail loudly. */
export async function newPage(browser: Browser, viewport = DESKTOP): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  return { context, page, errors }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const path = join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  return path
}

/** axe-core's serious and critical violations on the page as it is now: [rule id, impact, first target][]. */
export async function seriousViolations(page: Page): Promise<[string, string, string][]> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze()
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => [v.id, v.impact!, String(v.nodes[0]?.target ?? '')] as [string, string, string])
}

/** Presses Tab until `target` has focus: a control that Tab never reaches (in `max` presses) fails the test. */
export async function tabTo(page: Page, target: Locator, max = 150): Promise<void> {
  await target.waitFor()
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    if (await target.evaluate((el) => el === el.ownerDocument.activeElement)) return
  }
  throw new Error(`Tab did not reach ${target} in ${max} presses`)
}

/** Tabs to a button and presses Enter on it (a keyboard user's click). */
export async function pressWithKeyboard(page: Page, button: Locator): Promise<void> {
  await tabTo(page, button)
  await page.keyboard.press('Enter')
}

/** Tabs to a text field and replaces what it holds with `text`, typed key by key. */
export async function typeWithKeyboard(page: Page, field: Locator, text: string): Promise<void> {
  await tabTo(page, field)
  await page.keyboard.press('ControlOrMeta+A')
  await page.keyboard.type(text)
  if ((await field.inputValue()) !== text) throw new Error(`${field} holds ${JSON.stringify(await field.inputValue())}, not the typed ${JSON.stringify(text)}`)
}

/** Signs in as dev account `index` from the sign-in page with the keyboard alone (Tab to its button, Enter). */
export async function signInWithKeyboard(page: Page, url: string, index: number): Promise<void> {
  await page.goto(`${url}/signin`)
  await pressWithKeyboard(page, page.getByRole('button', { name: new RegExp(`^Use dev account #${index} `) }))
  await page
    .getByTestId('account')
    .filter({ hasText: `Dev account #${index}` })
    .waitFor()
}

/** Signs in on the app as dev account `index` (INSECURE dev network) through the sign-in page. */
export async function useDevAccount(page: Page, url: string, index: number): Promise<void> {
  await page.goto(`${url}/signin`)
  await page.getByRole('button', { name: new RegExp(`^Use dev account #${index} `) }).click()
  await page
    .getByTestId('account')
    .filter({ hasText: `Dev account #${index}` })
    .waitFor()
}
