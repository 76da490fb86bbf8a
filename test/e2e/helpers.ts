import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const ROOT = join(__dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

export interface Served {
  url: string;
  home: string;
  projectsDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts the built `gan-augment serve` with its own app home and projects folder (and `env` added);
 * `projectsDir`: that folder instead of one in the home (left in place by stop()).
 */
export async function serve(args: string[] = [], env: Record<string, string> = {}, projectsDirOverride?: string): Promise<Served> {
  if (!existsSync(join(ROOT, 'out', 'web', 'index.html'))) throw new Error('Build first: npm run build');
  const home = mkdtempSync(join(tmpdir(), 'gan-augment-e2e-'));
  const projectsDir = projectsDirOverride ?? join(home, 'projects');
  mkdirSync(projectsDir, { recursive: true });
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'gan-augment.js'), 'serve', ...args], {
    env: { ...process.env, ...env, GAN_AUGMENT_HOME: join(home, 'app'), GAN_AUGMENT_PROJECTS_DIR: projectsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${out}`)));
  });
  return {
    url,
    home,
    projectsDir,
    child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** Creates the sample project (430 Fashion-MNIST images) from the start screen and waits for its import. */
export async function createSampleProject(page: Page, served: Served): Promise<void> {
  await page.goto(served.url);
  await expect.poll(() => page.getByTestId('create-folder').inputValue()).toBe(served.projectsDir);
  await page.getByRole('button', { name: 'Try with sample data' }).click();
  await page.getByTestId('project-name').waitFor();
  await expect
    .poll(async () => (await page.getByTestId('job-status').allTextContents()).includes('Completed'), { timeout: 90_000 })
    .toBe(true);
  await expect.poll(() => page.getByTestId('stat-images').innerText()).not.toBe('0');
  // The job's one-line result: Fashion-MNIST's look-alike items are near-copies to check, not "problems".
  const jobRow = page.getByTestId('job-row').filter({ hasText: 'fashion-mnist-imbalanced' });
  await expect.poll(() => jobRow.innerText()).toMatch(/Imported 430 images, [\d,]+ images with near-copies to check\./);
  expect(await jobRow.innerText()).not.toMatch(/problems/);
}

/**
 * On the training screen's new-run form: a tiny conditional WGAN-GP at 32 x 32 on the two smallest
 * classes (listed last), `steps` steps, computed on `backend`. Returns the form, not yet started.
 */
export async function fillTinyRun(page: Page, options: { steps: number; backend: string }): Promise<Locator> {
  const form = page.getByTestId('new-run');
  await form.getByLabel(/^Conditional WGAN-GP/).check();
  const boxes = form.getByTestId('train-classes').getByRole('checkbox');
  const n = await boxes.count();
  expect(n).toBeGreaterThanOrEqual(2);
  for (let i = 0; i < n; i++) {
    if (i >= n - 2) await boxes.nth(i).check();
    else await boxes.nth(i).uncheck();
  }
  await form.getByText('32 × 32').click();
  await form.getByText('Tiny (quick smoke test)').click();
  await form.getByLabel('Training steps').fill(String(options.steps));
  await form.getByLabel('Where to compute').selectOption(options.backend);
  return form;
}

/** The training screen's dashboard of the run shown. */
export function runDashboard(page: Page): Locator {
  return page.getByTestId('run-dashboard');
}

/** The run's status as the dashboard's badge says it ("Failed", "Completed"). */
export async function runStatusShown(page: Page): Promise<string> {
  return (await runDashboard(page).getByTestId('run-status').textContent()) ?? '';
}

/** Closes every notification (notifications slide in and out; one may move or go while it is being clicked). */
export async function closeNotifications(page: Page): Promise<void> {
  const close = page.locator('.mantine-Notification-closeButton');
  for (const button of await close.all()) await button.click({ timeout: 2_000 }).catch(() => {});
  await expect.poll(() => close.count(), { timeout: 10_000 }).toBe(0);
}

/** The built app served in browser mode, with a Chromium page on it that records console errors. */
export interface OpenApp {
  served: Served;
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  consoleErrors: string[];
  close(): Promise<void>;
}

/** Serves the built app (`serve(args, env)`) and opens a page of `viewport` size on it (not yet navigated). */
export async function openApp(
  options: { args?: string[]; env?: Record<string, string>; viewport?: { width: number; height: number }; projectsDir?: string } = {},
): Promise<OpenApp> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  const served = await serve(options.args ?? [], options.env ?? {}, options.projectsDir);
  let browser: Browser | undefined;
  try {
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 1000 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    const opened = browser;
    return {
      served,
      page,
      consoleErrors,
      async close() {
        await opened.close();
        await served.stop();
      },
    };
  } catch (e) {
    await browser?.close();
    await served.stop();
    throw e;
  }
}

/** Console errors other than resources refused with 400 or 409 (the app's refusals, which it shows in words). */
export function unexpectedConsoleErrors(errors: readonly string[]): string[] {
  return errors.filter((e) => !/Failed to load resource.*(400|409)/.test(e));
}
