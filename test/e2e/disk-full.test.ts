/**
 * A disk that fills up while the app trains, in the built app (`gan-augment serve` + Chromium): the
 * projects folder is a small tmpfs (test/helpers/small-disk.ts), filled to the last byte once a run
 * has taken its first steps. The run fails with a sentence that says where it got to and what to do,
 * the app goes on working (before, the server process died of SQLite's "database or disk is full"),
 * and Resume carries the run on once the space is free again. Skipped, with the reason in its title,
 * where a tmpfs cannot be mounted (not root).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountSmallDisk, type SmallDisk } from '../helpers/small-disk';
import { closeNotifications, createSampleProject, fillTinyRun, openApp, screenshotPath, unexpectedConsoleErrors, type OpenApp, type Served, runDashboard, runStatusShown } from './helpers';

let app: OpenApp | undefined;
let served: Served;
let page: Page;
const STEPS = 3000; // more than it can take before the disk is filled
const projects = mkdtempSync(join(tmpdir(), 'gan-augment-e2e-disk-'));
const disk = mountSmallDisk(projects, 32);
const reason = typeof disk === 'string' ? disk : '';

const dashboard = () => runDashboard(page);
const runStatus = () => runStatusShown(page);
/** The step the dashboard shows ("1,234 of 3,000" -> 1234). */
const stepShown = async () => Number(((await dashboard().getByTestId('run-step').innerText()).split(' of ')[0] ?? '').replace(/,/g, ''));

afterAll(async () => {
  if (typeof disk !== 'string') disk.unmount();
  await app?.close();
  rmSync(projects, { recursive: true, force: true });
});

describe.skipIf(reason !== '')(`a full disk in the app${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const small = disk as SmallDisk;
  beforeAll(async () => {
    app = await openApp({ projectsDir: projects });
    ({ served, page } = app);
  });

  it('a run that fills the disk fails in words; the app goes on; Resume carries it on once there is space', async () => {
    await createSampleProject(page, served);
    const imagesShown = await page.getByTestId('stat-images').innerText();
    await page.getByTestId('nav-training').click();
    await page.getByTestId('training-no-runs').waitFor();

    const form = await fillTinyRun(page, { steps: STEPS, backend: 'wasm' });
    await form.getByRole('button', { name: 'Start training' }).click();
    await expect.poll(stepShown, { timeout: 120_000 }).toBeGreaterThan(0);
    small.fill(0); // the next record of its metrics, or its next checkpoint, finds the disk full
    await expect.poll(runStatus, { timeout: 120_000 }).toBe('Failed');
    const failedAt = await stepShown();
    const words = await dashboard().getByTestId('run-status-sentence').innerText();
    // whichever comes first: main's record of the metrics fails, or the check after a checkpoint finds no room for the next
    expect(words).toMatch(
      /^The disk holding the project is (full|nearly full \(.+\)), so training stopped at step [\d,]+(, where it saved a checkpoint)?\. Free some space, then resume the run\. Resume tries again from (step [\d,]+|the beginning)\. Deleting a run you no longer need \(its Delete button\) frees the disk its checkpoints take\.$/,
    );
    expect(words).not.toMatch(/SQLITE|ENOSPC|undefined|null|\[object/);
    await dashboard().screenshot({ path: screenshotPath('fault-disk-full.png') });

    // The server lived through it: the project still reads.
    await page.getByTestId('nav-overview').click();
    await expect.poll(() => page.getByTestId('stat-images').innerText()).toBe(imagesShown);

    small.free();
    await page.getByTestId('nav-training').click();
    await closeNotifications(page);
    await dashboard().getByRole('button', { name: 'Resume' }).click();
    await expect.poll(stepShown, { timeout: 120_000 }).toBeGreaterThan(failedAt);
    await dashboard().getByRole('button', { name: 'Pause' }).click();
    await expect.poll(runStatus, { timeout: 120_000 }).toBe('Paused');
  });

  it('logged no errors in the browser console', () => {
    expect(unexpectedConsoleErrors(app!.consoleErrors)).toEqual([]);
  });
});
