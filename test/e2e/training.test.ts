/**
 * Training and generation in the built app (`gan-augment serve` + Chromium): a sample project
 * (430 Fashion-MNIST images), a tiny conditional WGAN-GP run on 2 classes at 32 x 32 started
 * from the dashboard; the loss curves and a sample grid appear; the worker process is killed from
 * outside (as the system does when memory runs low), the run fails with a sentence and resumes
 * from its checkpoint; pause, resume; the worker is frozen (SIGSTOP, as a hung computation) and
 * the run paused: the app restarts the worker and the run pauses and then completes; then 4 images
 * of one class are generated and shown. Screenshots of the dashboard and the grid.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeNotifications, createSampleProject, fillTinyRun, openApp, screenshotPath, unexpectedConsoleErrors, type OpenApp, type Served, runDashboard, runStatusShown } from './helpers';

let app: OpenApp | undefined;
let served: Served;
let page: Page;

/**
 * Steps of the test run: enough to pause in the middle (a tiny WGAN-GP step takes 0.1-0.3 s on
 * WebAssembly here), few enough to finish quickly.
 */
const STEPS = Number(process.env.E2E_TRAIN_STEPS ?? 80);
/** How long a cancelled task may stay silent before the app kills its worker (a minute in the app). */
const CANCEL_GRACE_MS = 2_000;
/**
 * What a user gets by default: `auto`, which is WebAssembly here and in CI (no GPU);
 * E2E_TRAIN_BACKEND=webgpu uses WebGPU on Mesa's lavapipe (about 1.3 s per step), =cpu the pure-JS
 * backend (about 3 s).
 */
const BACKEND = process.env.E2E_TRAIN_BACKEND ?? 'auto';

async function tidyForScreenshot(): Promise<void> {
  await page.mouse.move(1, 1);
  await closeNotifications(page);
}

/** The processes whose parent is `pid` (Linux: from /proc). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

const dashboard = () => runDashboard(page);

/** Pauses a run whose worker is frozen: "Pausing…", then the app kills the worker and the run pauses. */
async function pauseFrozen(): Promise<void> {
  await dashboard().getByRole('button', { name: 'Pause' }).click();
  await expect
    .poll(() => dashboard().getByTestId('run-status-sentence').innerText(), { timeout: 10_000 })
    .toBe('Pausing: the current step finishes and a checkpoint is saved…');
  expect(await dashboard().getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true);
  await expect.poll(runStatus, { timeout: 90_000 }).toBe('Paused');
  expect(await dashboard().getByTestId('run-status-sentence').innerText()).toMatch(
    /^Paused at step \d+\. (Resume to carry on from there|Resume carries on from its last checkpoint, step \d+)\.$/,
  );
}
const runStatus = () => runStatusShown(page);

beforeAll(async () => {
  app = await openApp({ env: { GAN_AUGMENT_CANCEL_GRACE_MS: String(CANCEL_GRACE_MS) } });
  ({ served, page } = app);
});

afterAll(async () => {
  await app?.close();
});

describe('training dashboard and generation', () => {
  it('creates a sample project and waits for its import', async () => {
    await createSampleProject(page, served);
  });

  it('sets up a tiny run with an estimate and starts it', async () => {
    await page.getByTestId('nav-training').click();
    await page.getByTestId('training-no-runs').waitFor();
    const form = await fillTinyRun(page, { steps: STEPS, backend: BACKEND });
    await expect.poll(() => form.getByText(/That is about .* passes over the/).count()).toBe(1);

    await form.getByRole('button', { name: 'Estimate time' }).click();
    const estimate = form.getByTestId('train-estimate');
    await estimate.waitFor({ timeout: 90_000 });
    expect(await estimate.innerText()).toMatch(/Backend: .+/);
    expect(await estimate.innerText()).toMatch(/per step: .+ in total for/);
    expect(await form.getByTestId('train-estimate-disk').innerText()).toMatch(
      /^Disk: each checkpoint takes about \d+ KB; this training needs about [\d.]+ MB on the disk holding the project, which has .+ free\.$/,
    );
    await estimate.screenshot({ path: screenshotPath('training-estimate.png') });

    await form.getByRole('button', { name: 'Start training' }).click();
    await dashboard().waitFor();
    expect(await page.getByTestId('run-row').count()).toBe(1);
  });

  it('draws the loss curves and a sample grid, and says where it computes', async () => {
    await dashboard().getByTestId('loss-charts').waitFor({ timeout: 90_000 });
    await expect.poll(() => dashboard().locator('[data-testid="chart-losses"] path.recharts-line-curve').count(), { timeout: 60_000 }).toBeGreaterThan(0);
    await dashboard().getByTestId('sample-image').waitFor({ timeout: 90_000 });
    expect(await runStatus()).toBe('Running');

    const device = await dashboard().getByTestId('run-device').innerText();
    expect(device).toMatch(/^(CPU|GPU): .+/);
    // `auto` without a GPU (as in CI) trains on WebAssembly, and the dashboard says why it is slow
    if (BACKEND === 'auto' && /WebAssembly/.test(device)) {
      expect(await dashboard().getByTestId('run-backend-warning').innerText()).toMatch(/^No GPU was found: training runs on the processor \(WebAssembly\)/);
    }
  });

  it('fails in words when its worker is killed, and resumes from its checkpoint', async () => {
    expect(await runStatus()).toBe('Running'); // still training: the kill hits a running task
    const workers = childPids(served.child.pid!);
    expect(workers).toHaveLength(1);
    process.kill(workers[0]!, 'SIGKILL');
    await expect.poll(runStatus, { timeout: 30_000 }).toBe('Failed');
    const sentence = await dashboard().getByTestId('run-status-sentence').innerText();
    expect(sentence).toMatch(/^The background worker was stopped from outside GAN Augment .*Your project is safe.* Resume tries again from step \d+\.$/);
    const checkpoint = Number(/from step (\d+)\.$/.exec(sentence)![1]);
    expect(checkpoint).toBeGreaterThan(0);
    await dashboard().screenshot({ path: screenshotPath('training-failed.png') });

    await dashboard().getByRole('button', { name: 'Resume' }).click();
    await expect.poll(runStatus, { timeout: 60_000 }).toBe('Running');
    // a fresh worker took over
    await expect.poll(() => childPids(served.child.pid!).filter((p) => p !== workers[0]).length, { timeout: 30_000 }).toBe(1);
    // The failure's words are gone; while the resumed run loads its checkpoint and takes its first
    // step the sentence says so, then it goes too.
    const sentenceNow = () => dashboard().getByTestId('run-status-sentence').allInnerTexts();
    expect((await sentenceNow()).join(' ')).not.toMatch(/stopped from outside/);
    await expect.poll(async () => (await sentenceNow()).length, { timeout: 60_000 }).toBe(0);
  });

  it('pauses at a checkpoint and resumes', async () => {
    expect(await runStatus()).toBe('Running');
    await dashboard().getByRole('button', { name: 'Pause' }).click();
    await expect.poll(runStatus, { timeout: 60_000 }).toBe('Paused');
    expect(await dashboard().getByRole('button', { name: 'Resume' }).isEnabled()).toBe(true);
    expect(await dashboard().getByRole('button', { name: 'Pause' }).isDisabled()).toBe(true);
    // the worker answered: it saved a checkpoint at the step it paused at
    expect(await dashboard().getByTestId('run-status-sentence').innerText()).toMatch(/^Paused at step \d+\. Resume to carry on from there\.$/);
    expect(await dashboard().getByTestId('run-step').innerText()).not.toBe(`${STEPS} of ${STEPS}`);

    await dashboard().getByRole('button', { name: 'Resume' }).click();
    await expect.poll(runStatus, { timeout: 60_000 }).toBe('Running');
  });

  it('restarts a worker that stops responding when the run is paused, and completes the run on a fresh one', async () => {
    expect(await runStatus()).toBe('Running');
    const [frozen] = childPids(served.child.pid!);
    expect(frozen).toBeGreaterThan(0);
    process.kill(frozen!, 'SIGSTOP'); // as a computation that never returns: it reads no message
    let paused = false;
    try {
      await pauseFrozen();
      paused = true;
    } finally {
      // a failure must not leave a stopped process behind (the app's kill is what the test checks)
      if (!paused && childPids(served.child.pid!).includes(frozen!)) process.kill(frozen!, 'SIGKILL');
    }
    // the app killed it (SIGTERM waits while a process is stopped; its SIGKILL follows within 5 s)
    await expect.poll(() => childPids(served.child.pid!).includes(frozen!), { timeout: 15_000 }).toBe(false);

    await dashboard().getByRole('button', { name: 'Resume' }).click();
    await expect.poll(runStatus, { timeout: 160_000 }).toBe('Completed'); // minutes under load
    expect(await dashboard().getByTestId('run-step').innerText()).toBe(`${STEPS} of ${STEPS}`);
    await expect
      .poll(() => dashboard().getByTestId('sample-image').getAttribute('data-step'), { timeout: 30_000 })
      .toBe(String(STEPS));
    await tidyForScreenshot();
    await dashboard().screenshot({ path: screenshotPath('training-dashboard.png') });
  });

  it('generates 4 images of a class and shows them in the grid', async () => {
    await page.getByTestId('nav-gallery').click();
    const panel = page.getByTestId('generate-panel');
    await panel.getByTestId('generate-count').waitFor();
    await panel.getByTestId('generate-count').fill('4');
    await panel.getByTestId('generate-seed').fill('7');
    await expect.poll(() => panel.getByTestId('generate-disk').innerText()).toMatch(/^These 4 images take up to [\d.]+ KB on the disk \(.+ free\)\.$/);
    await panel.getByRole('button', { name: 'Generate images' }).click();
    await expect.poll(() => page.getByTestId('generated-thumb').count(), { timeout: 90_000 }).toBe(4);
    await expect.poll(() => page.locator('[data-testid="generated-thumb"] img').count()).toBe(4);
    // in the order asked for: latent 0 first
    const labels = await page.getByTestId('generated-thumb').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    expect(labels.map((l) => /latent index (\d+)$/.exec(l ?? '')?.[1])).toEqual(['0', '1', '2', '3']);
    await tidyForScreenshot();
    await page.getByTestId('generated-thumb').first().hover();
    await page.getByRole('tooltip').waitFor();
    await page.screenshot({ path: screenshotPath('generated.png'), fullPage: true });
  });

  it('deletes the run after saying what goes: its images leave the Gallery and its files the disk', async () => {
    const [projectDir] = readdirSync(served.projectsDir).filter((n) => n.endsWith('.ganaug')).map((n) => join(served.projectsDir, n));
    const runId = readdirSync(join(projectDir!, 'runs'))[0]!;
    expect(readdirSync(join(projectDir!, 'generated'))).toEqual([runId]);
    // the Overview says where the space goes, the run included, and where to free it
    await page.getByTestId('nav-overview').click();
    const parts = page.getByTestId('disk-parts');
    await parts.waitFor();
    expect(await parts.innerText()).toMatch(/Training copies and thumbnails of 430 images\s+[\d.]+ MB\s+1 training run \(checkpoints and sample images\)\s+[\d.]+ (KB|MB)\s+4 generated images\s+[\d.]+ KB/);
    expect(await page.getByTestId('disk-sentence').innerText()).toMatch(/^The project takes [\d.]+ MB on the disk holding it, which has .+ free\.$/);
    await tidyForScreenshot();
    await page.getByTestId('disk-panel').screenshot({ path: screenshotPath('disk-panel.png') });
    await page.getByTestId('disk-free-hint').getByRole('link', { name: 'Training' }).click();
    // the runs list says what the run takes, its generated images included
    const row = page.getByTestId('run-row');
    await expect.poll(() => row.getByTestId('run-disk').innerText()).toMatch(/^ · [\d.]+ (KB|MB) on the disk$/);
    await row.scrollIntoViewIfNeeded();
    await page.getByTestId('runs-list').screenshot({ path: screenshotPath('runs-list.png') });
    await dashboard().getByTestId('run-delete').click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByTestId('delete-run-sentence').innerText()).toMatch(
      /^This deletes the run's checkpoints, sample images and loss history, and the 4 images generated from it, freeing [\d.]+ (KB|MB) on the disk\. It cannot be undone\.$/,
    );
    await tidyForScreenshot();
    // once the dialog has faded in
    await expect.poll(() => dialog.evaluate((el) => getComputedStyle(el.closest('.mantine-Modal-content') ?? el).opacity)).toBe('1');
    await page.screenshot({ path: screenshotPath('delete-run.png') });
    await dialog.getByRole('button', { name: 'Delete run' }).click();
    await page.getByTestId('training-no-runs').waitFor();
    expect(await page.getByText(new RegExp(`^Deleted run ${runId} and its 4 generated images: [\\d.]+ (KB|MB) freed\\.$`)).count()).toBe(1);
    expect(readdirSync(join(projectDir!, 'runs'))).toEqual([]);
    expect(readdirSync(join(projectDir!, 'generated'))).toEqual([]);
    await page.getByTestId('nav-gallery').click();
    await page.getByTestId('generate-no-runs').waitFor();
    await page.getByTestId('generated-empty').waitFor();
    expect(await page.getByTestId('generated-thumb').count()).toBe(0);
    await page.getByTestId('nav-overview').click();
    await expect.poll(() => page.getByTestId('disk-parts').innerText()).not.toMatch(/training run|generated image/);
  });

  it('logged no errors in the browser console', () => {
    expect(unexpectedConsoleErrors(app!.consoleErrors)).toEqual([]);
  });
});
