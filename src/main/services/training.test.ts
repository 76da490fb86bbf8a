import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ok, useSessions } from '../../../test/helpers/session';
import { useTmp } from '../../../test/helpers/tmp';
import type { MetricPoint, Run } from '../../shared/contract';
import { createRuns, getRun, healthHints, trainSpec } from './training';
import type { JobContext } from './jobs';

const point = (step: number, p: Partial<MetricPoint> = {}): MetricPoint => ({
  step,
  dLoss: 0.7,
  gLoss: 0.7,
  wasserstein: null,
  gradientPenalty: null,
  stepMs: 10,
  imagesPerSec: 100,
  ...p,
});

describe('healthHints', () => {
  it('says nothing for a healthy run', () => {
    expect(healthHints('dcgan', [1, 2, 3].map((s) => point(s)), 0.2, 300)).toEqual([]);
  });
  it('warns about collapse, divergence and a discriminator that always wins, in words', () => {
    expect(healthHints('dcgan', [point(1)], 0.001, 500)[0]).toMatch(/collapsed/);
    expect(healthHints('dcgan', [point(1)], 0.001, 10)).toEqual([]); // too early to judge
    expect(healthHints('dcgan', [point(1, { dLoss: Number.NaN })], null, 5)[0]).toMatch(/diverged/);
    const wgan = Array.from({ length: 20 }, (_, i) => point(i, { wasserstein: i < 10 ? 5 : 200 }));
    expect(healthHints('cwgan-gp', wgan, 0.2, 500)[0]).toMatch(/Wasserstein estimate is large and growing/);
    const wins = Array.from({ length: 12 }, (_, i) => point(i, { dLoss: 0.001 }));
    expect(healthHints('dcgan', wins, 0.2, 500)[0]).toMatch(/discriminator wins/);
    // DiffAugment is suggested only to a run without it
    expect(healthHints('dcgan', wins, 0.001, 500).join(' ')).toMatch(/DiffAugment/);
    const withIt = healthHints('dcgan', wins, 0.001, 500, true);
    expect(withIt).toHaveLength(2);
    expect(withIt.join(' ')).not.toMatch(/DiffAugment/);
  });
});

const tmp = useTmp();
const newSession = useSessions();

describe('training through the session (real worker, tiny DCGAN on the CPU backend)', () => {
  it("sets the training job's words while it prepares: the images loading, then the first step, then steps", async () => {
    const s = newSession(tmp());
    await ok(s.dispatch('projects.createSample', { parentDir: tmp() }));
    await s.runner.whenIdle(); // the sample import
    const project = s.project!;
    const [runId] = createRuns(project, { model: 'dcgan', classes: ['Bag'], resolution: 32, preset: 'tiny', steps: 2, batch: 4, backend: 'cpu', diffAugment: false, seed: 3 });
    // The job's own context, every message kept (the job runner passes on at most 10 a second).
    const messages: string[] = [];
    const ctx: JobContext = { jobId: 'job-under-test', signal: new AbortController().signal, cancelMode: null, project, worker: s.worker, progress: (_d, _t, m) => m && messages.push(m) };
    await trainSpec(runId!, () => {}).run(ctx);
    const at = (re: RegExp) => messages.findIndex((m) => re.test(m));
    const counting = at(/^Loading [\d,]+ training images…$/);
    const loading = at(/^Loading the training images: [\d,]+ of [\d,]+…$/);
    const first = messages.indexOf('Taking the first step…');
    const stepped = at(/^Step 1 of 2$/);
    expect(counting).toBe(0);
    expect(loading).toBeGreaterThan(counting);
    expect(first).toBeGreaterThan(loading);
    expect(stepped).toBeGreaterThan(first);
    const last = /^Loading the training images: ([\d,]+) of ([\d,]+)…$/.exec(messages[first - 1]!);
    expect(last?.[1]).toBe(last?.[2]); // all of them loaded before the first step
    // A run that chooses no batch records the one the worker trains with (the dashboard shows it).
    const [tiny] = createRuns(project, { model: 'dcgan', classes: ['Bag'], resolution: 32, preset: 'tiny', steps: 2, backend: 'cpu', diffAugment: false });
    const [large] = createRuns(project, { model: 'dcgan', classes: ['Bag'], resolution: 128, preset: 'default', steps: 2, backend: 'cpu', diffAugment: false });
    expect([getRun(project, tiny!).batch, getRun(project, large!).batch]).toEqual([4, 32]);
  });

  it('streams run updates, pauses at a checkpoint, resumes to completion, and generates', async () => {
    const s = newSession(tmp());
    await ok(s.dispatch('projects.createSample', { parentDir: tmp() }));
    await s.runner.whenIdle(); // the sample import
    const updates: Run[] = [];
    s.onEvent((name, payload) => name === 'run.updated' && updates.push((payload as { run: Run }).run));

    const [run] = await ok<Run[]>(
      s.dispatch('train.start', { model: 'dcgan', classes: ['Bag'], resolution: 32, preset: 'tiny', steps: 12, batch: 4, backend: 'cpu', seed: 5 }),
    );
    expect(run).toMatchObject({ status: 'queued', totalSteps: 12, classes: ['Bag'] });
    await expect.poll(() => updates.at(-1)?.step ?? 0, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    // Before its first step the run said what it was doing: the images loading (all of them, at the
    // end), then the first step; from the first step on, nothing.
    const stages = updates.map((u) => u.preparing);
    const allLoaded = stages.find((p) => p?.stage === 'loading' && p.done === p.total);
    expect(allLoaded?.total).toBeGreaterThan(0);
    expect(stages.indexOf(allLoaded!)).toBeLessThan(stages.findIndex((p) => p?.stage === 'starting'));
    expect(updates.filter((u) => u.step > 0).every((u) => u.preparing === null)).toBe(true);
    await ok(s.dispatch('runs.pause', { runId: run!.id }));
    await s.runner.whenIdle();
    const paused = await ok<{ run: Run; metrics: MetricPoint[] }>(s.dispatch('runs.get', { runId: run!.id }));
    expect(paused.run.status).toBe('paused');
    expect(paused.run.checkpointStep).toBe(paused.run.step); // pausing saves a checkpoint of every step done
    expect(paused.run.step).toBeLessThan(12);
    expect(paused.metrics.length).toBe(paused.run.step);
    expect(paused.run.device).toMatch(/CPU/);

    // As if the step after the checkpoint had failed (the GPU stopped): the person resumes it.
    const lost = { kind: 'device-lost', message: 'The GPU stopped working (WebGPU lost the device: reset).' };
    s.project!.db.prepare(`UPDATE runs SET status = 'failed', error = ? WHERE id = ?`)
      .run(JSON.stringify(lost), run!.id);
    expect((await ok<{ run: Run }>(s.dispatch('runs.get', { runId: run!.id }))).run).toMatchObject({ status: 'failed', error: lost });

    await ok(s.dispatch('runs.resume', { runId: run!.id }));
    await s.runner.whenIdle();
    const done = await ok<{ run: Run; metrics: MetricPoint[] }>(s.dispatch('runs.get', { runId: run!.id }));
    expect(done.run).toMatchObject({ status: 'completed', step: 12, checkpointStep: 12, error: null, preparing: null });
    expect(done.metrics.map((m) => m.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const sample = await ok<{ step: number; image: string }>(s.dispatch('runs.sample', { runId: run!.id }));
    expect(sample.step).toBe(12);
    expect(sample.image).toMatch(/^data:image\/png;base64,/);

    await ok(s.dispatch('generate.start', { runId: run!.id, className: 'Bag', count: 3, seed: 1 }));
    await s.runner.whenIdle();
    await ok(s.dispatch('generate.start', { runId: run!.id, className: 'Bag', count: 2, seed: 2 }));
    await s.runner.whenIdle();
    // The newest generation first, each in latent order.
    const images = await ok<{ className: string; seed: number; latentIndex: number; thumb: string }[]>(s.dispatch('generated.list', { runId: run!.id }));
    expect(images.map((i) => [i.seed, i.latentIndex])).toEqual([[2, 0], [2, 1], [1, 0], [1, 1], [1, 2]]);
    expect(images[0]!.thumb).toMatch(/^data:image\/png/);
    expect(await s.dispatch('runs.pause', { runId: run!.id })).toMatchObject({ ok: false, error: { kind: 'conflict' } });

    // A full disk while main records the images (the worker could still write them): the job fails in
    // words, and no image is left in the project that its gallery does not list.
    const db = s.project!.db;
    const prepare = db.prepare.bind(db);
    let rows = 0;
    db.prepare = ((sql: string) => {
      const stmt = prepare(sql);
      if (!sql.includes('INSERT OR REPLACE INTO generated_images')) return stmt;
      const run = stmt.run.bind(stmt);
      return Object.assign(Object.create(stmt) as object, {
        run: (...args: unknown[]) => {
          if (++rows > 2) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
          return run(...args);
        },
      });
    }) as typeof db.prepare;
    const full = await ok<{ id: string }>(s.dispatch('generate.start', { runId: run!.id, className: 'Bag', count: 6, seed: 9 }));
    await s.runner.whenIdle();
    db.prepare = prepare;
    expect(s.runner.get(full.id)).toMatchObject({ status: 'failed', error: { kind: 'disk-full' } });
    const genDir = join(s.project!.dir, 'generated', run!.id, 'step-12', 'Bag');
    expect(readdirSync(genDir).filter((f) => f.startsWith('seed9-')).sort()).toEqual(['seed9-0.png', 'seed9-1.png']);

    // Older checkpoints go once a newer one is recorded, except the one the images came from.
    const checkpoints = join(s.project!.dir, 'runs', run!.id, 'checkpoints');
    expect(readdirSync(checkpoints)).toEqual(['step-12']);
    await ok(s.dispatch('runs.resume', { runId: run!.id, steps: 14 }));
    await s.runner.whenIdle();
    expect((await ok<{ run: Run }>(s.dispatch('runs.get', { runId: run!.id }))).run).toMatchObject({ status: 'completed', checkpointStep: 14 });
    expect(readdirSync(checkpoints).sort()).toEqual(['step-12', 'step-14']);
  });

  it('a run that never starts does not stay queued: stopped while waiting, failing before its first step, too few steps to resume', async () => {
    const s = newSession(tmp());
    await ok(s.dispatch('projects.createSample', { parentDir: tmp() }));
    await s.runner.whenIdle();
    const project = s.project!;
    // DCGAN: one run per class, one after the other; the second and third wait their turn
    const [first, second, third] = await ok<Run[]>(
      s.dispatch('train.start', { model: 'dcgan', classes: ['Bag', 'Sneaker', 'Trouser'], resolution: 32, preset: 'tiny', steps: 100_000, batch: 4, backend: 'cpu', seed: 7 }),
    );
    const get = async (id: string) => (await ok<{ run: Run; metrics: MetricPoint[] }>(s.dispatch('runs.get', { runId: id })));
    await expect.poll(async () => (await get(first!.id)).run.step, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(2);

    // Stop on a run waiting its turn ends it at once; it can then be deleted.
    expect((await ok<Run>(s.dispatch('runs.stop', { runId: second!.id }))).status).toBe('stopped');
    expect(await ok(s.dispatch('runs.delete', { runId: second!.id }))).toMatchObject({ runId: second!.id });

    // The third run's class loses its training images while it waits (as if every one were moved to the
    // test split): its job fails before its first step, and the run says why instead of staying queued.
    project.db.prepare(`INSERT OR REPLACE INTO image_splits (image_id, split) SELECT i.id, 'test' FROM images i JOIN classes c ON c.id = i.class_id WHERE c.name = 'Trouser'`).run();
    await ok(s.dispatch('runs.stop', { runId: first!.id }));
    await s.runner.whenIdle();
    const failed = (await get(third!.id)).run;
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toBe('The class "Trouser" has no training images. Import some, or choose another class.');

    // Resuming to fewer steps than it has done is refused when asked, not by a job that then fails.
    const stopped = (await get(first!.id)).run;
    expect(stopped.status).toBe('stopped');
    expect(await s.dispatch('runs.resume', { runId: first!.id, steps: 1 })).toMatchObject({
      ok: false,
      error: { kind: 'validation', message: `This run is already at step ${stopped.step}; choose a total of at least that.` },
    });
    expect((await get(first!.id)).run.status).toBe('stopped');

    // Loss points past the checkpoint a run resumes from (an attempt that crashed after it) go.
    const at = stopped.checkpointStep!;
    project.db.prepare('INSERT INTO run_metrics (run_id, step, d_loss, g_loss, step_ms, images_per_sec) VALUES (?, ?, 9, 9, 1, 1)').run(first!.id, at + 50);
    await ok(s.dispatch('runs.resume', { runId: first!.id, steps: at + 1 }));
    await s.runner.whenIdle();
    const resumed = await get(first!.id);
    expect(resumed.run).toMatchObject({ status: 'completed', step: at + 1 });
    expect(resumed.metrics.at(-1)!.step).toBe(at + 1);
  });

  it('a run that fails because main cannot record its progress leaves no checkpoint the project does not record', async () => {
    const s = newSession(tmp());
    await ok(s.dispatch('projects.createSample', { parentDir: tmp() }));
    await s.runner.whenIdle();
    const project = s.project!;
    // Recording loss points past step 4 fails (as on a full disk); the worker, stopped, saves one more checkpoint.
    project.db.exec(`CREATE TRIGGER refuse_metrics BEFORE INSERT ON run_metrics WHEN NEW.step > 4 BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    const [run] = await ok<Run[]>(
      s.dispatch('train.start', { model: 'dcgan', classes: ['Bag'], resolution: 32, preset: 'tiny', steps: 100_000, batch: 4, backend: 'cpu', seed: 8, checkpointEvery: 2 }),
    );
    await s.runner.whenIdle();
    const { run: failed } = await ok<{ run: Run }>(s.dispatch('runs.get', { runId: run!.id }));
    expect(failed.status).toBe('failed');
    expect(failed.checkpointStep).toBeLessThanOrEqual(4);
    const saved = readdirSync(join(project.dir, 'runs', run!.id, 'checkpoints'));
    expect(saved).toEqual([`step-${failed.checkpointStep}`]);
  });

  it('another project opened while a run trains: the first winds down in the background, can be opened again at once, and a failure there is logged', async () => {
    const s = newSession(tmp());
    const first = await ok<{ path: string }>(s.dispatch('projects.createSample', { parentDir: tmp() }));
    await s.runner.whenIdle();
    const updates: Run[] = [];
    s.onEvent((name, payload) => name === 'run.updated' && updates.push((payload as { run: Run }).run));
    const [run, waiting] = await ok<Run[]>(
      s.dispatch('train.start', { model: 'dcgan', classes: ['Bag', 'Sneaker'], resolution: 32, preset: 'tiny', steps: 100_000, batch: 4, backend: 'cpu', seed: 9 }),
    );
    await expect.poll(() => updates.filter((u) => u.id === run!.id).at(-1)?.step ?? 0, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    // Marking the waiting run paused fails as the project closes (as on a full disk)
    s.project!.db.exec(`CREATE TRIGGER refuse_pause BEFORE UPDATE OF status ON runs WHEN OLD.status = 'queued' AND NEW.status = 'paused' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      await ok(s.dispatch('projects.create', { parentDir: tmp(), name: 'Second' }));
      // the first project again, while its run may still be saving its pause checkpoint
      const reopened = await ok<{ path: string }>(s.dispatch('projects.open', { path: first.path }));
      expect(reopened.path).toBe(first.path);
      expect(logged).toHaveBeenCalledWith('[gan-augment] closing the previous project failed:', expect.objectContaining({ message: 'refused by a test trigger' }));
    } finally {
      logged.mockRestore();
    }
    const { run: paused } = await ok<{ run: Run }>(s.dispatch('runs.get', { runId: run!.id }));
    expect(paused.status).toBe('paused');
    // the run that waited: left queued by the failure, marked interrupted when the project opened again
    expect((await ok<{ run: Run }>(s.dispatch('runs.get', { runId: waiting!.id }))).run.status).toBe('interrupted');
  });

  it('a run whose end was kept only in memory (its row could not be written) shows as queued once resumed', async () => {
    const s = newSession(tmp());
    await ok(s.dispatch('projects.createSample', { parentDir: tmp() }));
    await s.runner.whenIdle();
    const project = s.project!;
    const start = async (className: string) =>
      (await ok<Run[]>(s.dispatch('train.start', { model: 'dcgan', classes: [className], resolution: 32, preset: 'tiny', steps: 100_000, batch: 4, backend: 'cpu', seed: 10 })))[0]!;
    const status = async (id: string) => (await ok<{ run: Run }>(s.dispatch('runs.get', { runId: id }))).run.status;
    const bag = await start('Bag');
    await expect.poll(() => status(bag.id), { timeout: 60_000, interval: 50 }).toBe('running');
    // its end cannot be written (as on a full disk): the app knows it stopped, the row still says running
    project.db.exec(`CREATE TRIGGER refuse_end BEFORE UPDATE OF status ON runs WHEN NEW.status = 'stopped' BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    await ok(s.dispatch('runs.stop', { runId: bag.id }));
    await s.runner.whenIdle();
    expect(await status(bag.id)).toBe('stopped');
    project.db.exec('DROP TRIGGER refuse_end');
    // another run trains; Bag, resumed, waits its turn and says so (not "stopped", which would offer Resume twice)
    const sneaker = await start('Sneaker');
    await expect.poll(() => status(sneaker.id), { timeout: 60_000, interval: 50 }).toBe('running');
    await ok(s.dispatch('runs.resume', { runId: bag.id }));
    expect(await status(bag.id)).toBe('queued');
    await ok(s.dispatch('runs.stop', { runId: bag.id }));
    await ok(s.dispatch('runs.stop', { runId: sneaker.id }));
    await s.runner.whenIdle();
  });

  it('pauses a run that is training when its project closes, so that Resume carries on after reopening', async () => {
    const home = tmp();
    const s = newSession(home);
    const status = await ok<{ path: string }>(s.dispatch('projects.createSample', { parentDir: tmp() }));
    await s.runner.whenIdle();
    const updates: Run[] = [];
    s.onEvent((name, payload) => name === 'run.updated' && updates.push((payload as { run: Run }).run));
    // DCGAN: one run per class, trained one after the other; the second waits its turn
    const [run, waiting] = await ok<Run[]>(
      s.dispatch('train.start', { model: 'dcgan', classes: ['Bag', 'Sneaker'], resolution: 32, preset: 'tiny', steps: 100_000, batch: 4, backend: 'cpu', seed: 6 }),
    );
    await expect.poll(() => updates.filter((u) => u.id === run!.id).at(-1)?.step ?? 0, { timeout: 60_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    // an estimate meanwhile would wait for the run: it is refused in words instead
    expect(await s.dispatch('train.estimate', { model: 'dcgan', classes: ['Bag'], resolution: 32, preset: 'tiny', steps: 10, batch: 4, backend: 'cpu' })).toMatchObject({
      ok: false,
      error: { kind: 'conflict', message: `Run ${run!.id} is training now, and the estimate needs the same processor or GPU. Pause that run to estimate, or start the new run: it waits its turn.` },
    });
    await s.closeProject();

    await ok(s.dispatch('projects.open', { path: status.path }));
    const reopened = await ok<{ run: Run }>(s.dispatch('runs.get', { runId: run!.id }));
    expect(reopened.run.status).toBe('paused');
    expect(reopened.run.checkpointStep).toBe(reopened.run.step); // nothing trained was lost
    expect(reopened.run.step).toBeGreaterThanOrEqual(2);
    const second = await ok<{ run: Run }>(s.dispatch('runs.get', { runId: waiting!.id }));
    expect(second.run).toMatchObject({ status: 'paused', step: 0, checkpointStep: null });
  });
});
