import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/**
 * Shared steps of the console's browser tests (test/browser/console*.test.ts):
 * a page that reaches the gateway only and records its errors, and the login
 * a user does by hand.
 */
export interface ConsoleWatch {
  /** Console errors and uncaught exceptions of every page opened with `newConsolePage`. */
  problems: string[];
  /** Requests to any host but the gateway (blocked). */
  elsewhere: string[];
}

export function consoleWatch(): ConsoleWatch {
  return { problems: [], elsewhere: [] };
}

/**
 * A fresh browser context (its own sessionStorage) that reaches `origin` only,
 * and records the page's errors into `watch`; `expected` matches an error the
 * test provokes on purpose (Chromium logs every refused request).
 */
export async function newConsolePage(
  browser: Browser,
  origin: string,
  watch: ConsoleWatch,
  expected?: RegExp,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === origin || url.protocol === 'data:') return route.continue();
    watch.elsewhere.push(url.href);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' && !expected?.test(message.text())) watch.problems.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => watch.problems.push(`${page.url()}: ${error.message}`));
  return { context, page };
}

/** Opens the console at `hash` and logs in by pasting `key` into the form, as a user does. */
export async function logIn(page: Page, origin: string, key: string, hash = '#/overview'): Promise<void> {
  await page.goto(`${origin}/console/${hash}`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Screens' }).waitFor();
}

/** Saves a screenshot of the page to docs/console/<name>.png when RAPPORT_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (process.env.RAPPORT_SCREENSHOTS !== '1') return;
  const dir = path.join(__dirname, '..', '..', 'docs', 'console');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
