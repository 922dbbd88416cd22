import { existsSync, mkdirSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, type SlackMode, startSandbox } from '../../src/sandbox/main.js';
import { readPng } from '../support/png-reader.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no browser at ${CHROMIUM}: apt-get install chromium (.ci/run does) or set CHROMIUM_PATH`,
    );
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
});

async function as(page: Page, user: string) {
  await page.selectOption('#user', user);
}

async function send(page: Page, text: string) {
  await page.fill('#text', text);
  await page.click('#send button');
}

describe.each<SlackMode>(['socket', 'http'])(
  'the local Slack console with the bot in %s mode, end to end in a real browser',
  (mode) => {
    let sandbox: Sandbox;
    const shot = (name: string) => `${ARTIFACTS}/${mode}-${name}.png`;

    beforeAll(async () => {
      sandbox = await startSandbox({ slackMode: mode });
    });

    afterAll(async () => {
      await sandbox?.stop();
    });

    it('shows a report, the automated incident post, a two-person repair and the recovery', {
      timeout: 180_000,
    }, async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
      page.on('dialog', (dialog) => void dialog.accept());
      await page.goto(sandbox.url);

      await as(page, 'U0REQUEST1');
      await page.getByText(mode === 'socket' ? 'Socket Mode: bot connected' : 'HTTP mode').waitFor();
      if (mode === 'socket') {
        // A dropped socket: the page shows the bot disconnected, then back once it has reconnected.
        await page.getByRole('button', { name: "Slack: cut the bot's socket for 5 s" }).click();
        await page.getByText('Socket Mode: bot not connected').waitFor();
        await page.getByText('Socket Mode: bot connected').waitFor({ timeout: 30_000 });
      }
      await page.getByRole('button', { name: 'Slack: rate-limited' }).click();
      await page.locator('#slackmode', { hasText: 'Slack mode: rate-limited' }).waitFor();
      await page.getByRole('button', { name: 'Slack: healthy' }).click();
      await page.locator('#slackmode', { hasText: 'Slack mode: healthy' }).waitFor();
      expect(await page.getByRole('button', { name: 'Slack: healthy' }).getAttribute('aria-pressed')).toBe(
        'true',
      );
      await page.getByRole('button', { name: 'Open the Home tab' }).click();
      await page.locator('#homeview', { hasText: 'Clusters (1)' }).waitFor({ timeout: 20_000 });
      await send(page, '/redis status');
      await page.getByText('16384/16384 slots covered').first().waitFor({ timeout: 20_000 });
      await page.screenshot({ path: shot('1-status') });

      await page.getByRole('button', { name: 'kill a master and its replica' }).click();
      // The incident post is edited in place until its header says what every node says.
      const incident = page
        .locator('.msg', { has: page.locator('.header', { hasText: 'sandbox ·' }) })
        .first();
      await incident.locator('.header', { hasText: 'CLUSTERDOWN' }).waitFor({ timeout: 30_000 });
      // The slot map arrives in the incident's thread through the file upload flow, as a 528x620 PNG (grid, marker strips, legend).
      const img = page.locator('img[alt="slot map"]').first();
      await img.waitFor({ state: 'attached', timeout: 20_000 });
      const png = Buffer.from(
        await (await fetch(new URL((await img.getAttribute('src')) ?? '', sandbox.url))).arrayBuffer(),
      );
      const image = readPng(png);
      expect([image.width, image.height, image.channels]).toEqual([528, 620, 3]);
      await page.screenshot({ path: shot('2-incident') });

      // On a phone: the top post fits one 390 x 844 screen, and "I'm on it" shows who owns it.
      const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
      await phone.goto(sandbox.url);
      await as(phone, 'U0APPROVE1');
      const top = phone
        .locator('.msg', { has: phone.locator('.header', { hasText: 'CLUSTERDOWN' }) })
        .first();
      await top.waitFor({ timeout: 20_000 });
      await top.getByRole('button', { name: "I'm on it" }).click();
      await top.getByText('@U0APPROVE1 is on it').waitFor({ timeout: 20_000 });
      const box = await top.evaluate((el) => ({
        height: el.getBoundingClientRect().height,
        width: el.scrollWidth,
      }));
      await top.screenshot({ path: shot('2-incident-phone') });
      expect(box.width).toBeLessThanOrEqual(390);
      expect(box.height).toBeLessThanOrEqual(844);
      expect(await top.locator('.header').textContent()).toMatch(
        /sandbox · CLUSTERDOWN · 5,461 slots \(33%\) down · open /,
      );
      // Silence from the phone (maintenance), then unmute by command so the recovery is posted.
      await top.getByRole('button', { name: 'Silence 2h' }).click();
      await phone
        .getByText('Automated posts for sandbox are muted until')
        .first()
        .waitFor({ timeout: 20_000 });
      await send(phone, '/redis silence sandbox off');
      await phone.getByText('Automated posts for sandbox are on again').first().waitFor({ timeout: 20_000 });
      await phone.close();

      // The take-over is offered only once the cluster agrees the master is FAIL (not while it is PFAIL), as a
      // person would: ask again until the option is there.
      // A request made from a list the cluster has since moved past is refused as stale: list again, as a
      // person would after reading "changed since these options were listed".
      const request = page.getByRole('button', { name: 'Request this repair' }).last();
      const approve = page.getByRole('button', { name: 'Approve' }).first();
      for (let attempt = 0; attempt < 20 && !(await approve.isVisible()); attempt++) {
        await send(page, '/redis fix');
        if (
          !(await request.waitFor({ timeout: 3000 }).then(
            () => true,
            () => false,
          ))
        )
          continue;
        await request.click();
        await approve.waitFor({ timeout: 5000 }).catch(() => {});
      }
      await approve.waitFor({ timeout: 20_000 });

      await as(page, 'U0APPROVE1');
      await page.getByRole('button', { name: 'Approve' }).first().click();
      await page
        .getByText(/1 of 2 approvals: @U0APPROVE1/)
        .first()
        .waitFor({ timeout: 20_000 });
      await as(page, 'U0APPROVE2');
      await page.getByRole('button', { name: 'Approve' }).first().click();

      await page.getByText('recovered after').first().waitFor({ timeout: 90_000 });
      await page.screenshot({ path: shot('3-recovered'), fullPage: true });
      const text = await page.textContent('#messages');
      expect(text).toContain('Repaired. before: 10923/16384 slots');
      expect(text).toContain('after: 16384/16384 slots, state ok');
      // The progress was one message edited in place, not a reply per step.
      expect(await page.locator('.msg', { hasText: 'Repaired. before:' }).count()).toBe(1);
      // At recovery the thread gets the timeline, and the JSON of it as a file.
      await page
        .getByText(/Timeline of the .?sandbox.? incident/)
        .first()
        .waitFor({ timeout: 60_000 });
      await page
        .getByText(/timeline-incident-\d+\.json/)
        .first()
        .waitFor({ timeout: 20_000 });
      await page.screenshot({ path: shot('4-timeline'), fullPage: true });
    });
  },
);
