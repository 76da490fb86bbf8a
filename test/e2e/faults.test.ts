/**
 * What a person sees when the GPU is lost in the middle of training, or the WebAssembly heap is
 * full, in the built app (`gan-augment serve` + Chromium). The faults are provoked through
 * GAN_AUGMENT_TEST_FAULTS (src/worker/training/faults.ts) and take the real failure paths:
 *  - a tiny conditional WGAN-GP run on WebGPU (Mesa's lavapipe here and in CI) whose device is
 *    destroyed at step 3, as a driver reset does: the run fails with a sentence, the project and the
 *    run are kept, Resume starts a new device and the run completes;
 *  - the same run on WebAssembly, whose step 3 asks for more than the heap can hold: the run fails
 *    with the out-of-memory sentence, Resume starts a fresh module and the run completes.
 * Screenshots of both failures.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeNotifications, createSampleProject, fillTinyRun, openApp, screenshotPath, unexpectedConsoleErrors, type OpenApp, type Served, runDashboard, runStatusShown } from './helpers';

let app: OpenApp | undefined;
let served: Served;
let page: Page;

const STEPS = 6;
/** The sample project's image count, as the overview shows it after the import. */
let imagesShown = '';
const FAULT_STEP = 3;

const dashboard = () => runDashboard(page);
const runStatus = () => runStatusShown(page);
const sentence = () => dashboard().getByTestId('run-status-sentence').innerText();

/** Starts a tiny run on `backend` from the form, as run number `nth`; the dashboard then shows it computing there. */
async function startRun(backend: 'webgpu' | 'wasm', nth: number): Promise<void> {
  const form = await fillTinyRun(page, { steps: STEPS, backend });
  await form.getByRole('button', { name: 'Start training' }).click();
  await expect.poll(() => page.getByTestId('run-row').count()).toBe(nth);
  // Once the worker has started: WebGPU names its adapter (lavapipe here: "CPU: llvmpipe/lavapipe ..."),
  // WebAssembly says so.
  await expect
    .poll(() => dashboard().getByTestId('run-device').innerText(), { timeout: 90_000 })
    .toMatch(backend === 'webgpu' ? /^(CPU|GPU): (?!WebAssembly)/ : /^CPU: WebAssembly/);
}

/** Resumes the failed run on the dashboard and waits for it to complete every step. */
async function resumeToTheEnd(): Promise<void> {
  await dashboard().getByRole('button', { name: 'Resume' }).click();
  await expect.poll(runStatus, { timeout: 120_000 }).toBe('Completed');
  expect(await dashboard().getByTestId('run-step').innerText()).toBe(`${STEPS} of ${STEPS}`);
}

beforeAll(async () => {
  app = await openApp({ env: { GAN_AUGMENT_TEST_FAULTS: `lose-gpu@${FAULT_STEP},heap-full@${FAULT_STEP}` } });
  ({ served, page } = app);
});

afterAll(async () => {
  await app?.close();
});

describe('device faults in the app', () => {
  it('creates a sample project', async () => {
    await createSampleProject(page, served);
    imagesShown = await page.getByTestId('stat-images').innerText();
    await page.getByTestId('nav-training').click();
    await page.getByTestId('training-no-runs').waitFor();
  });

  it('a GPU lost during training: the run fails in words, the project stays, Resume completes it on a new device', async () => {
    await startRun('webgpu', 1);
    await expect.poll(runStatus, { timeout: 120_000 }).toBe('Failed');
    const words = await sentence();
    expect(words).toMatch(/^The GPU stopped working \(WebGPU lost the device: .+\)\. Your project is safe/);
    expect(words).not.toMatch(/undefined|null|\[object/);
    expect(await page.getByTestId('run-row').count()).toBe(1); // the failed run is kept
    await dashboard().screenshot({ path: screenshotPath('fault-gpu-lost.png') });
    await resumeToTheEnd();
    expect(await dashboard().getByTestId('run-device').innerText()).not.toMatch(/WebAssembly/);
    await closeNotifications(page); // the failure's notice stays until closed
  });

  it('a full WebAssembly heap: the run fails with the out-of-memory sentence, Resume completes it on a fresh module', async () => {
    await startRun('wasm', 2);
    await expect.poll(runStatus, { timeout: 120_000 }).toBe('Failed');
    expect(await sentence()).toMatch(
      /^Training ran out of memory\. On the processor \(WebAssembly\) it can use at most 4 GB, however much memory the computer has\. Try a smaller batch size or resolution\./,
    );
    // Scrolled into view (as Tab or a link does), the dashboard's top stays clear of the fixed 60 px header.
    await dashboard().evaluate((el) => el.scrollIntoView());
    expect((await dashboard().boundingBox())!.y).toBeGreaterThanOrEqual(60);
    await dashboard().screenshot({ path: screenshotPath('fault-heap-full.png') });
    await resumeToTheEnd();
  });

  it('leaves the project as it was: its images, and both runs completed', async () => {
    const rows = page.getByTestId('run-row');
    expect(await rows.count()).toBe(2);
    for (const row of await rows.all()) expect(await row.getAttribute('aria-label')).toMatch(/: Completed, /);
    await page.getByTestId('nav-overview').click();
    await expect.poll(() => page.getByTestId('stat-images').innerText()).toBe(imagesShown);
  });

  it('logged no errors in the browser console', () => {
    expect(unexpectedConsoleErrors(app!.consoleErrors)).toEqual([]);
  });
});
