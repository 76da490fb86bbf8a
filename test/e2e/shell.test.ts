/**
 * The real app in Debian's Chromium: `gan-augment serve` on a temporary home, the token URL, create
 * a project through the UI, see the project layout, run the verify job, screenshot.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, screenshotPath, unexpectedConsoleErrors, type OpenApp, type Served } from './helpers';

let app: OpenApp | undefined;
let served: Served;
let page: Page;

beforeAll(async () => {
  app = await openApp({ viewport: { width: 1280, height: 800 } });
  ({ served, page } = app);
});

afterAll(async () => {
  await app?.close();
});

describe('browser mode shell', () => {
  it('refuses the app API without the token', async () => {
    const base = new URL(served.url).origin;
    const r = await fetch(`${base}/api/call/app.info`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(401);
  });

  it('creates a project from the projects screen and shows the project layout', async () => {
    await page.goto(served.url);
    await page.getByRole('button', { name: 'Create project' }).waitFor();
    await page.screenshot({ path: screenshotPath('projects-screen.png') });
    // the token is taken out of the visible address
    expect(page.url()).not.toContain('token=');

    await page.getByLabel('Project name').fill('Dermoscopy study');
    await expect.poll(() => page.getByTestId('create-folder').inputValue()).toBe(served.projectsDir);
    await page.getByRole('button', { name: 'Create project' }).click();

    await page.getByTestId('project-name').getByText('Dermoscopy study').waitFor();
    for (const screen of ['Import', 'Balance', 'Training', 'Gallery', 'Evaluate', 'Export']) {
      await expect.poll(() => page.getByRole('link', { name: screen }).or(page.getByRole('button', { name: screen })).count()).toBeGreaterThan(0);
    }
    expect(existsSync(join(served.projectsDir, 'Dermoscopy study.ganaug', 'project.sqlite'))).toBe(true);
  });

  it('runs the verify job and shows its result', async () => {
    await page.getByRole('button', { name: 'Verify project files' }).click();
    await page.getByText(/Nothing to verify yet/).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: screenshotPath('project-layout.png'), fullPage: true });
  });

  it('shows a field error in words for a name that cannot be a folder', async () => {
    await page.getByRole('button', { name: /Close project/ }).click();
    await page.getByLabel('Project name').fill('a/b');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByText(/cannot contain/).first().waitFor();
    await page.screenshot({ path: screenshotPath('projects-validation.png') });
  });

  it('logged no errors in the browser console', () => {
    expect(unexpectedConsoleErrors(app!.consoleErrors)).toEqual([]);
  });
});
