/**
 * The example's user journey, shared by the SQLite and the PostgreSQL + Redis runs: sign up,
 * sign in, a web instance crashes, a URL is digested while the worker restarts, a CSV is
 * uploaded, and "sign out everywhere" ends another browser's session.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { openDatabase } from '../../examples/digest/src/db.js';
import { waitFor } from '../helpers/ports.js';
import { ARTIFACTS, type FileServer, type Formation } from './harness.js';

async function shot(page: Page, label: string, step: string): Promise<void> {
  mkdirSync(join(ARTIFACTS, 'screenshots'), { recursive: true });
  await page.screenshot({
    path: join(ARTIFACTS, 'screenshots', `${label}-${step}.png`),
    fullPage: true,
  });
}

async function signedInAs(page: Page): Promise<string | null> {
  return page
    .locator('#email')
    .textContent({ timeout: 5000 })
    .catch(() => null);
}

export async function userJourney(
  browser: Browser,
  formation: Formation,
  files: FileServer,
  label: string,
): Promise<void> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const email = `ada-${randomBytes(4).toString('hex')}@example.com`;
  const password = 'correct horse battery';

  // Sign up, sign out, sign in.
  await page.goto(formation.url);
  await page.fill('#signup input[name=email]', email);
  await page.fill('#signup input[name=password]', password);
  await page.click('#signup button');
  expect(await signedInAs(page)).toBe(email);
  await page.click('#signout');
  await page.waitForSelector('#signin');
  await page.fill('#signin input[name=email]', email);
  await page.fill('#signin input[name=password]', 'wrong password!');
  await page.click('#signin button');
  await expect
    .poll(() => page.locator('.flash').textContent())
    .toContain('Wrong email or password');
  await page.fill('#signin input[name=email]', email);
  await page.fill('#signin input[name=password]', password);
  await page.click('#signin button');
  expect(await signedInAs(page)).toBe(email);
  await shot(page, label, '1-signed-in');

  // A web instance crashes: the user stays signed in, whichever process answers.
  await formation.crash('web.1');
  const servedBy = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const response = await page.goto(formation.url);
    expect(response?.status()).toBe(200);
    expect(await signedInAs(page)).toBe(email);
    servedBy.add((await response!.headerValue('x-served-by')) ?? '');
  }
  // web.2 stayed up the whole time, so round robin must have sent it some of these.
  expect(servedBy.has('web.2')).toBe(true);
  for (const name of servedBy) expect(name).toMatch(/^web\.[12]$/);

  // Submit the URL of the large file, watch its progress, restart the worker mid-download.
  await page.fill('#submit-url input[name=url]', `${files.url}/big.bin`);
  await page.click('#submit-url button');
  await page.waitForSelector('li.digest[data-status=running] progress[value]', { timeout: 30_000 });
  await waitFor('download progress above zero', async () => {
    const value = await page
      .locator('li.digest[data-status=running] progress')
      .first()
      .getAttribute('value');
    return Number(value) > 0;
  });
  await shot(page, label, '2-progress');
  await formation.restart('worker');
  const done = page.locator('li.digest[data-status=done]').first();
  await done.waitFor({ timeout: 120_000 });
  expect(await done.locator('.sha256').textContent()).toBe(files.big.sha256);
  expect(await done.locator('.size').textContent()).toContain(`${files.big.size} bytes`);
  expect(await signedInAs(page)).toBe(email);
  await shot(page, label, '3-digested');

  // Exactly one result, written once by the current lease holder.
  const db = await openDatabase(formation.env.DATABASE_URL!);
  try {
    const rows = await db.query<{ status: string; result_writes: number; attempts: number }>(
      "SELECT status, result_writes, attempts FROM digests WHERE source = 'url'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'done', result_writes: 1 });
  } finally {
    await db.close();
  }

  // Upload a CSV: digested inside the web request, statistics per column.
  const csvPath = join(ARTIFACTS, `${label}-prices.csv`);
  writeFileSync(
    csvPath,
    'item,price,shop\npear,1.5,north\napple,2.5,north\nfig,,south\nplum,4,west\n',
  );
  await page.setInputFiles('#upload input[type=file]', csvPath);
  await page.click('#upload button');
  await expect
    .poll(() => page.locator('#upload-status').textContent(), { timeout: 30_000 })
    .toContain('Digested');
  const csv = page.locator('li.digest[data-status=done] table.csv').first();
  await csv.waitFor();
  const price = csv.locator('tr[data-column=price] td');
  expect(await price.allTextContents()).toEqual(['price', '4', '1', '1.5', '4', '2.67', '3']);
  expect(await csv.locator('tr[data-column=shop] td').nth(6).textContent()).toBe('3');
  await shot(page, label, '4-csv');

  // Sign out everywhere: another browser of the same user is signed out too.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto(formation.url);
  await otherPage.fill('#signin input[name=email]', email);
  await otherPage.fill('#signin input[name=password]', password);
  await otherPage.click('#signin button');
  expect(await signedInAs(otherPage)).toBe(email);
  await page.click('#signout-everywhere');
  await page.waitForSelector('#signin');
  await otherPage.goto(formation.url);
  await otherPage.waitForSelector('#signin');
  expect(await otherPage.locator('#email').count()).toBe(0);
  await other.close();
  await context.close();
}
