/**
 * WorkerClient with a real child process that misbehaves on purpose (test/fixtures/stand-in-worker.cjs):
 * a worker stuck in a computation cannot answer a cancel, so it is killed and the next task gets a
 * fresh one; a worker that answers is left running.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useTmp } from '../../../test/helpers/tmp';
import { nodeScriptLauncher } from '../worker-host';
import { CANCEL_GRACE_MS, cancelGraceFromEnv, WorkerClient } from './worker-client';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures');
const STAND_IN = join(FIXTURES, 'stand-in-worker.cjs');
const KILL_AND_EXIT = join(FIXTURES, 'kill-and-exit.ts');

const tmp = useTmp();
const clients: WorkerClient[] = [];
/** Stand-ins this file started: a failed test must not leave one spinning (it ignores SIGTERM). */
const standIns: number[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
  for (const pid of standIns.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs a task on the stand-in and resolves once the worker has started it (its first progress). */
function start(client: WorkerClient, file: string) {
  const abort = new AbortController();
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const result = client.runTask({ kind: 'preview-csv', file, rows: 1 }, { signal: abort.signal, onProgress: () => started() });
  result.catch(() => {}); // awaited by the test
  return { abort, running, result };
}

describe('cancelGraceFromEnv', () => {
  it('is a minute unless GAN_AUGMENT_CANCEL_GRACE_MS says otherwise; a bad value is an error in words', () => {
    expect(cancelGraceFromEnv({})).toBe(CANCEL_GRACE_MS);
    expect(CANCEL_GRACE_MS).toBe(60_000);
    expect(cancelGraceFromEnv({ GAN_AUGMENT_CANCEL_GRACE_MS: '2500' })).toBe(2500);
    for (const bad of ['0', '-5', 'soon']) {
      expect(() => cancelGraceFromEnv({ GAN_AUGMENT_CANCEL_GRACE_MS: bad })).toThrow(`GAN_AUGMENT_CANCEL_GRACE_MS must be a number of milliseconds above 0, not "${bad}".`);
    }
  });
});

describe('WorkerClient', () => {
  it('kills a worker that does not answer a cancel, and runs the next task on a fresh one', async () => {
    const client = new WorkerClient(nodeScriptLauncher(STAND_IN), { cancelGraceMs: 300 });
    clients.push(client);

    const stuck = start(client, 'stuck');
    await stuck.running;
    const stuckPid = client.pid!;
    standIns.push(stuckPid);
    const queued = start(client, 'answers'); // sent to the same, stuck worker: never started
    stuck.abort.abort();
    await expect(stuck.result).rejects.toMatchObject({
      kind: 'cancelled',
      // 300 ms plus twice the silence before (the stand-in's start): seconds on a busy machine
      message: expect.stringMatching(/did not respond within \d+ s, so it was restarted\. Your project is safe\./),
    });

    // The next task starts a new worker at once, while the stuck one is still being ended.
    const next = start(client, 'answers');
    await next.running;
    const nextPid = client.pid!;
    standIns.push(nextPid);
    expect(nextPid).not.toBe(stuckPid);

    // The stuck process ignores SIGTERM (its handler never runs): SIGKILL follows within 5 s.
    await expect.poll(() => alive(stuckPid), { timeout: 10_000, interval: 100 }).toBe(false);

    // The task left on the stuck worker fails when it ends, in words that say what happened.
    await expect(queued.result).rejects.toMatchObject({
      kind: 'internal',
      message: 'The background worker stopped responding and was restarted. Your project is safe; you can run the task again.',
    });
    // Its exit did not fail the task on its successor, which answers its cancel and is kept.
    next.abort.abort();
    await expect(next.result).rejects.toMatchObject({ kind: 'cancelled', message: 'Cancelled.' });
    expect(client.pid).toBe(nextPid);
    expect(alive(nextPid)).toBe(true);
  }, 30_000);

  it('gives a task that reports slowly as long to answer a cancel as its reports took', async () => {
    // 300 ms steps; the cancel is seen after the step under way, then winding down takes 500 ms
    // without a word: more than the 300 ms grace alone, less than 300 ms + twice the 300 ms the task
    // was silent between its reports.
    const client = new WorkerClient(nodeScriptLauncher(STAND_IN), { cancelGraceMs: 300 });
    clients.push(client);
    const reports: number[] = [];
    const abort = new AbortController();
    const result = client.runTask({ kind: 'preview-csv', file: 'slow-steps', rows: 1 }, { signal: abort.signal, onProgress: (done) => reports.push(done) });
    await expect.poll(() => reports.length, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(3);
    const pid = client.pid!;
    standIns.push(pid);
    abort.abort();
    await expect(result).rejects.toMatchObject({ kind: 'cancelled', message: 'Cancelled.' }); // answered by the worker
    expect(client.pid).toBe(pid);
    expect(alive(pid)).toBe(true);
  }, 30_000);

  it.each([
    ['being killed', 'kill'],
    ['stuck, never told to end', 'no-kill'],
  ])('a worker %s does not outlive the app when the app exits', async (_what, mode) => {
    const pidFile = join(tmp(), 'pid');
    execFileSync(process.execPath, ['--import', 'tsx', KILL_AND_EXIT, STAND_IN, pidFile, mode], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 20_000 });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    standIns.push(pid);
    // well before kill()'s 5 s timer would have fired, had the app lived
    await expect.poll(() => alive(pid), { timeout: 2_000, interval: 50 }).toBe(false);
  }, 30_000);
});
