// The live page of `npm start` in headless Chromium on the local stack: a button's change travels the whole pipeline to the page; the rules keep other users' data out.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedDemoCalendar, type Seeded } from '../../scripts/demo-calendar.js';
import { FeedHub, startWebView, type WebView } from '../../web/server/server.js';
import type { PageHandle, ReadAttempt } from '../../web/page/shared.js';
import { connectCalendar, hoursFromNow, newUser, type User } from '../e2e/helpers.js';
import { emulatorsMissing, useEmulators } from '../harness/env.js';
import { REPO_ROOT, startLocalStack, type LocalStack } from '../stack/local-stack.js';
import { launchChromium } from './chromium.js';

const SCREENSHOT = join(REPO_ROOT, 'reports', 'browser', 'web-view.png');
const SECRET = "Mallory's private appointment";
const skip = emulatorsMissing() !== '' || inject('browserMissing') !== '';

describe.skipIf(skip)('the live page in a real browser', () => {
  let stack: LocalStack;
  let web: WebView;
  let browser: Browser;
  let page: Page;
  let demo: User;
  let seeded: Seeded;
  const requests: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    expect(useEmulators()).toBe(true);
    const feed = new FeedHub();
    stack = await startLocalStack({
      simulator: { notificationRetryBaseMs: 200, rateLimitPerMinute: 100_000 },
      env: { CALSYNC_LOG_LEVEL: 'INFO' },
      onLine: feed.onLine,
    });
    // Two connected users on one stack: the page, signed in as demo, must only ever see demo's.
    demo = await newUser(stack, 'demo');
    const mallory = await newUser(stack, 'mallory');
    seeded = await seedDemoCalendar(demo.cal, demo.email);
    await mallory.cal.events.insert({
      calendarId: mallory.email,
      requestBody: {
        summary: SECRET,
        start: { dateTime: hoursFromNow(26) },
        end: { dateTime: hoursFromNow(27) },
      },
    });
    await Promise.all([connectCalendar(stack, demo), connectCalendar(stack, mallory)]);

    web = await startWebView({
      projectId: stack.projectId,
      firestoreHost: stack.firestoreHost,
      uid: demo.uid,
      feed,
    });
    web.setDemo({
      calendar: demo.cal,
      calendarId: demo.email,
      timeZone: 'Europe/Berlin',
      series: { id: seeded.standupId, summary: 'Team standup' },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 980 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(web.url);
  });

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await stack?.stop();
  });

  const week = () => page.locator('#week');
  const occurrence = (summary: string) => week().locator('li.occ:not(.gone)', { hasText: summary });

  it("shows the demo user's week and the calendar's sync state, read through the rules", async () => {
    await expect
      .poll(() => page.locator('#week-range').textContent(), { timeout: 60_000 })
      .toMatch(/times in Europe\/Berlin · \d+ occurrences/);
    // "Team standup" runs every weekday: any seven days hold at least five.
    await occurrence('Team standup').first().waitFor({ timeout: 30_000 });
    expect(await occurrence('Team standup').count()).toBeGreaterThanOrEqual(5);
    const row = page.locator('#calendars tbody tr', { hasText: demo.email });
    await expect.poll(() => row.locator('.status').textContent()).toBe('active');
    expect(await row.textContent()).toMatch(/ago/); // lastSyncedAt is shown
    expect(await page.locator('#calendars tbody tr').count()).toBe(1);
  });

  it('"Add an event" in Google reaches the page through webhook, Pub/Sub, worker and Firestore', async () => {
    await page.getByRole('button', { name: 'Add an event' }).click();
    await occurrence('Tea with Ada').waitFor({ timeout: 60_000 });
    const status = page.getByRole('status');
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toMatch(/reached this page/);
    // The feed tells the story in order: the press, Google's notification, the delta fetch.
    const feed = page.locator('#feed');
    await expect
      .poll(() => feed.locator('li.feed-delta').count(), { timeout: 30_000 })
      .toBeGreaterThan(0);
    const tags = await feed.locator('li .tag').allTextContents();
    expect(tags).toContain('you');
    expect(tags).toContain('notification');
    expect(tags).toContain('this page');
    console.log(`add: ${await status.textContent()}`);
  });

  it('"Move it", "Cancel one standup" and "Delete it" reach the page too', async () => {
    const added = occurrence('Tea with Ada');
    const before = await added.locator('time').getAttribute('datetime');
    await page.getByRole('button', { name: 'Move it one hour' }).click();
    await expect
      .poll(() => added.locator('time').getAttribute('datetime'), { timeout: 60_000 })
      .toBe(new Date(Date.parse(before!) + 3_600_000).toISOString());

    const standups = await occurrence('Team standup').count();
    await page.getByRole('button', { name: 'Cancel one standup' }).click();
    await expect
      .poll(() => occurrence('Team standup').count(), { timeout: 60_000 })
      .toBe(standups - 1);
    // The README's picture: the moved event, the cancelled standup struck through, the whole feed.
    mkdirSync(join(REPO_ROOT, 'reports', 'browser'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`screenshot: ${SCREENSHOT}; ${await page.getByRole('status').textContent()}`);

    await page.getByRole('button', { name: 'Delete it' }).click();
    await expect.poll(() => added.count(), { timeout: 60_000 }).toBe(0);
  });

  it("never reads another user's calendar: the rules refuse, and nothing of it is on the page", async () => {
    const read = (path: string) =>
      page.evaluate(
        (p) => (globalThis as unknown as { calsync: PageHandle }).calsync.tryRead(p),
        path,
      ) as Promise<ReadAttempt>;
    const mallory = 'users/mallory/calendars/mallory@e2e.test';
    for (const path of [mallory, `${mallory}/occurrences`, `${mallory}/events`, 'subscriptions']) {
      expect(await read(path), path).toEqual({ ok: false, code: 'permission-denied' });
    }
    // The same call does read the page's own user: the refusal above is the rules, not a broken client.
    expect(await read('users/demo/calendars')).toEqual({ ok: true, documents: 1 });
    expect(await page.content()).not.toContain(SECRET);
  });

  it('loads nothing from outside this machine and throws no error', () => {
    expect(requests.length).toBeGreaterThan(0);
    for (const url of requests) expect(new URL(url).hostname).toBe('127.0.0.1');
    expect(pageErrors).toEqual([]);
  });
});
