import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useTmp } from '../../../test/helpers/tmp';
import type { Job } from '../../shared/contract';
import { AppError } from '../../shared/errors';
import { Project } from '../store/project';
import { nodeWorkerLauncher } from '../worker-host';
import { JobRunner, RateMeter } from './jobs';
import { verifySpec } from './verify';
import { WorkerClient } from './worker-client';

const tmp = useTmp();
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup() {
  const project = Project.create(tmp(), 'jobs');
  const worker = new WorkerClient(nodeWorkerLauncher);
  const events: Job[] = [];
  const runner = new JobRunner(project, worker, (j) => events.push(j));
  cleanups.push(() => {
    worker.dispose();
    project.close();
  });
  return { project, worker, runner, events };
}

describe('RateMeter', () => {
  it('smooths the rate and derives the ETA', () => {
    const m = new RateMeter();
    m.update(0, 0);
    expect(m.rate).toBeNull();
    m.update(10, 1000); // 10/s
    expect(m.rate).toBeCloseTo(10);
    expect(m.eta(10, 110)).toBeCloseTo(10);
    m.update(30, 2000); // 20/s sample -> 0.3*20 + 0.7*10 = 13
    expect(m.rate).toBeCloseTo(13);
    expect(m.eta(30, null)).toBeNull();
  });

  it('does not count the time before anything moved (a run loading its images for a minute)', () => {
    const m = new RateMeter();
    m.update(500, 0); // a resumed run at step 500, starting to load
    m.update(500, 60_000); // still loading: the clock starts again
    expect(m.rate).toBeNull();
    m.update(502, 61_000); // two steps in one second
    expect(m.rate).toBeCloseTo(2);
  });
});

describe('JobRunner', () => {
  it('runs jobs in order with statuses and progress, storing results', async () => {
    const { runner, events, project } = setup();
    const order: string[] = [];
    const a = runner.enqueue({
      type: 'verify',
      title: 'A',
      unit: 'things',
      run: async (ctx) => {
        order.push('a');
        for (let i = 1; i <= 3; i++) ctx.progress(i, 3);
        return { value: 42 };
      },
    });
    const b = runner.enqueue({ type: 'verify', title: 'B', unit: 'things', run: async () => void order.push('b') });
    await runner.whenIdle();
    expect(order).toEqual(['a', 'b']);
    expect(project.jobs.get(a.id)).toMatchObject({ status: 'completed', result: { value: 42 }, progress: { done: 3, total: 3 } });
    expect(project.jobs.get(b.id)?.status).toBe('completed');
    const statuses = events.filter((e) => e.id === a.id).map((e) => e.status);
    expect(statuses[0]).toBe('queued');
    expect(statuses).toContain('running');
    expect(statuses.at(-1)).toBe('completed');
  });

  it('records a failure as data with a plain message', async () => {
    const { runner, project } = setup();
    const j = runner.enqueue({
      type: 'verify',
      title: 'Fails',
      unit: 'x',
      run: async () => {
        throw new AppError('read-only', 'The export folder cannot be written to.');
      },
    });
    await runner.whenIdle();
    expect(project.jobs.get(j.id)).toMatchObject({ status: 'failed', error: { kind: 'read-only', message: 'The export folder cannot be written to.' } });
  });

  it('cancels a running job through its signal, and a queued one before it starts', async () => {
    const { runner, project } = setup();
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const running = runner.enqueue({
      type: 'verify',
      title: 'Long',
      unit: 'x',
      run: (ctx) =>
        new Promise((_, reject) => {
          started();
          ctx.signal.addEventListener('abort', () => reject(new AppError('cancelled', 'Cancelled.')));
        }),
    });
    // What a queued job stands for hears that it ended unstarted (a training run's row: ./training.ts).
    const notStarted: string[] = [];
    const spec = (title: string) => ({ type: 'verify' as const, title, unit: 'x', run: async () => 'ran', notStarted: (_p: Project, status: string) => notStarted.push(`${title} ${status}`) });
    const queued = runner.enqueue(spec('Never'));
    const paused = runner.enqueue(spec('Paused'));
    await isStarted;
    runner.cancel(queued.id);
    runner.cancel(paused.id, 'pause');
    runner.cancel(running.id);
    await runner.whenIdle();
    expect(project.jobs.get(running.id)?.status).toBe('stopped');
    expect(project.jobs.get(queued.id)).toMatchObject({ status: 'stopped', result: null });
    expect(project.jobs.get(paused.id)).toMatchObject({ status: 'paused', result: null });
    expect(notStarted).toEqual(['Never stopped', 'Paused paused']);
    expect(() => runner.cancel(running.id)).toThrow(expect.objectContaining({ kind: 'conflict', message: 'That task has already been stopped.' }));
  });
});

describe('JobRunner: Stop after Pause', () => {
  it('a Stop while a pause winds down ends the job stopped, and the job hears it', async () => {
    const { runner, project } = setup();
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    let heard: string | null = null;
    const job = runner.enqueue({
      type: 'verify',
      title: 'Winds down slowly',
      unit: 'x',
      run: (ctx) =>
        new Promise((resolve) => {
          started();
          // (a training run saves its checkpoint before it ends)
          ctx.signal.addEventListener('abort', () => setTimeout(() => resolve((heard = ctx.cancelMode)), 200));
        }),
    });
    await isStarted;
    runner.cancel(job.id, 'pause');
    runner.cancel(job.id, 'stop');
    runner.cancel(job.id, 'pause'); // a later Pause does not undo the Stop
    await runner.whenIdle();
    expect(heard).toBe('stop');
    expect(project.jobs.get(job.id)?.status).toBe('stopped');
  });
});

/** What better-sqlite3 throws when the disk is full. */
function sqliteFull(): Error {
  return Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
}

describe('JobRunner on a full disk', () => {
  it("keeps a job's outcome in memory when its row cannot be written, and goes on with the next job", async () => {
    const { runner, project, events } = setup();
    const { setProgress, setStatus } = project.jobs;
    const full = () => {
      throw sqliteFull();
    };
    project.jobs.setProgress = full;
    project.jobs.setStatus = (id, status, extra) => (status === 'running' ? setStatus.call(project.jobs, id, status, extra) : full());
    const a = runner.enqueue({
      type: 'verify',
      title: 'Reports progress on a full disk',
      unit: 'x',
      run: async (ctx) => {
        for (let i = 1; i <= 3; i++) {
          ctx.progress(i, 3);
          await new Promise((r) => setTimeout(r, 600)); // past the 1 s between progress rows
        }
        return 'made it';
      },
    });
    await runner.whenIdle();
    // The row could not take the end; the runner and its events still tell it.
    expect(project.jobs.get(a.id)?.status).toBe('running');
    expect(runner.get(a.id)).toMatchObject({ status: 'completed', result: 'made it', progress: { done: 3, total: 3 } });
    expect(runner.list().find((j) => j.id === a.id)?.status).toBe('completed');
    expect(events.at(-1)).toMatchObject({ id: a.id, status: 'completed' });
    // Cancelling it is refused for what it is, finished, not for what its row says.
    expect(() => runner.cancel(a.id)).toThrow(expect.objectContaining({ kind: 'conflict', message: 'That task has already finished.' }));

    // The job's own failure on the full disk, in words.
    const b = runner.enqueue({ type: 'verify', title: 'Writes', unit: 'x', run: async () => full() });
    await runner.whenIdle();
    expect(runner.get(b.id)).toMatchObject({ status: 'failed', error: { kind: 'disk-full', message: expect.stringMatching(/^The disk is full/) } });

    // Space again: the next job runs and is saved.
    project.jobs.setProgress = setProgress;
    project.jobs.setStatus = setStatus;
    const c = runner.enqueue({ type: 'verify', title: 'After', unit: 'x', run: async () => 'saved' });
    await runner.whenIdle();
    expect(project.jobs.get(c.id)).toMatchObject({ status: 'completed', result: 'saved' });
  });

  it('fails a job that cannot even be marked running, without running it', async () => {
    const { runner, project } = setup();
    project.jobs.setStatus = () => {
      throw sqliteFull();
    };
    let ran = false;
    const ended: unknown[] = [];
    const j = runner.enqueue({ type: 'verify', title: 'Never', unit: 'x', run: async () => (ran = true), notStarted: (_p, status, error) => ended.push({ status, error }) });
    await runner.whenIdle();
    expect(ran).toBe(false);
    expect(runner.get(j.id)).toMatchObject({ status: 'failed', error: { kind: 'disk-full' } });
    expect(ended).toEqual([{ status: 'failed', error: expect.objectContaining({ kind: 'disk-full' }) }]);
  });
});

/** `n` images of 64 KB each (`<i>.bin` in a new folder, returned) recorded in the project, for the verify job to hash. */
function addImageFiles(project: Project, n: number): string {
  const dir = tmp();
  const now = new Date().toISOString();
  project.db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)').run('c', now);
  const ins = project.db.prepare('INSERT INTO images (class_id, sha256, source_path, imported_at) VALUES (1, ?, ?, ?)');
  for (let i = 0; i < n; i++) {
    const f = join(dir, `${i}.bin`);
    writeFileSync(f, Buffer.alloc(64 * 1024, i));
    ins.run(String(i), f, now);
  }
  return dir;
}

describe('verify job in the real worker process', () => {
  it('re-hashes files in the worker and reports missing and changed ones', async () => {
    const { runner, project, worker } = setup();
    const dir = tmp();
    const good = join(dir, 'good.png');
    const changed = join(dir, 'changed.png');
    writeFileSync(good, 'good bytes');
    writeFileSync(changed, 'original bytes');
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    const now = new Date().toISOString();
    project.db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)').run('nevus', now);
    const ins = project.db.prepare('INSERT INTO images (class_id, sha256, source_path, imported_at) VALUES (1, ?, ?, ?)');
    ins.run(sha('good bytes'), good, now);
    ins.run(sha('original bytes'), changed, now);
    ins.run(sha('gone'), join(dir, 'gone.png'), now);
    writeFileSync(changed, 'edited bytes');

    const job = runner.enqueue(verifySpec());
    await runner.whenIdle();
    const done = project.jobs.get(job.id)!;
    expect(done.status).toBe('completed');
    expect(done.result).toMatchObject({ checked: 3, intact: 1, missing: [{ file: join(dir, 'gone.png') }], changed: [{ file: changed }] });
    expect(done.message).toBe('1 files are missing and 1 have changed since import.');
    expect(worker.running).toBe(true);
    const pid = worker.pid!;
    worker.dispose();
    // the worker process is released: it exits after dispose
    await expect.poll(() => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    }).toBe(false);
  });

  it('fails the task when main cannot save what the worker sends (a full disk): the worker stops it and takes the next', async () => {
    const { runner, project, worker } = setup();
    const dir = addImageFiles(project, 400);
    let items = 0;
    const failing = runner.enqueue({
      type: 'verify',
      title: 'Saves each hash',
      unit: 'files',
      run: (ctx) =>
        ctx.worker.runTask(
          { kind: 'hash-files', files: Array.from({ length: 400 }, (_, id) => ({ id, path: join(dir, `${id}.bin`) })) },
          {
            signal: ctx.signal,
            onItem: () => {
              items++;
              throw sqliteFull();
            },
          },
        ),
    });
    await runner.whenIdle();
    expect(items).toBe(1); // no callbacks after the first that failed
    expect(project.jobs.get(failing.id)).toMatchObject({ status: 'failed', error: { kind: 'disk-full', message: expect.stringMatching(/^The disk is full/) } });
    const pid = worker.pid;
    const again = runner.enqueue(verifySpec());
    await runner.whenIdle();
    expect(project.jobs.get(again.id)).toMatchObject({ status: 'completed', result: { checked: 400 } });
    expect(worker.pid).toBe(pid); // the worker wound the task down and stayed
  });

  it('fails the job in plain words when the worker crashes mid-task, and recovers for the next one', async () => {
    const { runner, project, worker } = setup();
    addImageFiles(project, 2000);
    const job = runner.enqueue(verifySpec());
    await expect.poll(() => worker.pid, { timeout: 10_000 }).toBeDefined();
    await expect.poll(() => runner.get(job.id)?.progress.done ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    process.kill(worker.pid!, 'SIGKILL');
    await runner.whenIdle();
    expect(project.jobs.get(job.id)).toMatchObject({ status: 'failed', error: { message: expect.stringContaining('background worker') } });
    const again = runner.enqueue(verifySpec());
    await runner.whenIdle();
    expect(project.jobs.get(again.id)?.status).toBe('completed');
  });
});
