import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ok, useSessions } from '../../../test/helpers/session';
import { useTmp } from '../../../test/helpers/tmp';
import type { Run, RunFootprint } from '../../shared/contract';
import { Project } from '../store/project';
import { folderBytes } from '../disk';
import { deleteRun } from './run-deletion';
import type { AppSession } from './session';

const tmp = useTmp();
const newSession = useSessions();

/** The sample project with two finished tiny DCGAN runs (Bag, Sneaker), and 3 images generated from the first. */
async function projectWithRuns(): Promise<{ s: AppSession; bag: Run; sneaker: Run }> {
  const s = newSession(tmp());
  await ok(s.dispatch('projects.createSample', { parentDir: tmp() }));
  await s.runner.whenIdle();
  const [bag, sneaker] = await ok<Run[]>(
    s.dispatch('train.start', { model: 'dcgan', classes: ['Bag', 'Sneaker'], resolution: 32, preset: 'tiny', steps: 2, batch: 4, backend: 'cpu', seed: 4 }),
  );
  await s.runner.whenIdle();
  await ok(s.dispatch('generate.start', { runId: bag!.id, className: 'Bag', count: 3, seed: 1 }));
  await s.runner.whenIdle();
  return { s, bag: bag!, sneaker: sneaker! };
}

/** Names under the project's runs/ and generated/ folders. */
function runEntries(dir: string): string[] {
  return ['runs', 'generated'].flatMap((sub) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)).map((n) => `${sub}/${n}`) : [])).sort();
}

describe('deleting a training run (real worker, tiny DCGANs on the CPU backend)', () => {
  it('deletes its rows, its images and its folders, says what it freed, and tells every window; other runs are untouched', async () => {
    const { s, bag, sneaker } = await projectWithRuns();
    const dir = s.project!.dir;
    const folders = s.project!.runFolders(bag.id);
    const bytes = (await folderBytes(folders.run)) + (await folderBytes(folders.generated));
    expect(await folderBytes(join(folders.run, 'checkpoints'))).toBeGreaterThan(100_000); // a tiny DCGAN's weights and Adam state

    const footprint = await ok<RunFootprint>(s.dispatch('runs.footprint', { runId: bag.id }));
    expect(footprint).toEqual({ runId: bag.id, diskBytes: bytes, generatedImages: 3 });

    const deleted: string[] = [];
    s.onEvent((name, payload) => name === 'run.deleted' && deleted.push((payload as { runId: string }).runId));
    expect(await ok<RunFootprint>(s.dispatch('runs.delete', { runId: bag.id }))).toEqual(footprint);
    expect(deleted).toEqual([bag.id]);

    expect((await ok<Run[]>(s.dispatch('runs.list', {}))).map((r) => r.id)).toEqual([sneaker.id]);
    expect(await s.dispatch('runs.get', { runId: bag.id })).toMatchObject({ ok: false, error: { kind: 'not-found' } });
    expect(await ok<unknown[]>(s.dispatch('generated.list', { runId: bag.id }))).toEqual([]);
    const db = s.project!.db;
    expect(db.prepare('SELECT COUNT(*) AS n FROM run_metrics WHERE run_id = ?').get(bag.id)).toEqual({ n: 0 });
    expect(runEntries(dir)).toEqual([`runs/${sneaker.id}`]); // no folder of the deleted run, nothing renamed left over

    // the other run still has everything
    const other = await ok<{ run: Run; metrics: unknown[] }>(s.dispatch('runs.get', { runId: sneaker.id }));
    expect(other.run).toMatchObject({ status: 'completed', checkpointStep: 2 });
    expect(other.metrics).toHaveLength(2);
    expect(await folderBytes(s.project!.runFolders(sneaker.id).run)).toBeGreaterThan(100_000);
    expect(await s.dispatch('runs.delete', { runId: bag.id })).toMatchObject({ ok: false, error: { kind: 'not-found' } });
  });

  it('refuses, in words, a run that is training or that images are being generated from', async () => {
    const { s, bag, sneaker } = await projectWithRuns();
    const updates: Run[] = [];
    s.onEvent((name, payload) => name === 'run.updated' && updates.push((payload as { run: Run }).run));
    await ok(s.dispatch('runs.resume', { runId: sneaker.id, steps: 100_000 }));
    await expect.poll(() => updates.filter((u) => u.id === sneaker.id).at(-1)?.step ?? 0, { timeout: 60_000, interval: 50 }).toBeGreaterThan(2);
    expect(await s.dispatch('runs.delete', { runId: sneaker.id })).toMatchObject({
      ok: false,
      error: { kind: 'conflict', message: `Run ${sneaker.id} is training. Pause or stop it first, then delete it.` },
    });
    await ok(s.dispatch('runs.stop', { runId: sneaker.id }));
    await s.runner.whenIdle();

    // a generation of the run waiting its turn (as behind a training run)
    const project = s.project!;
    project.jobs.insert({ id: 'job-generating', type: 'generate', title: 'Generate 5 "Bag" images', params: { runId: bag.id, className: 'Bag', count: 5, seed: 1 }, unit: 'images' });
    expect(await s.dispatch('runs.delete', { runId: bag.id })).toMatchObject({
      ok: false,
      error: { kind: 'conflict', message: `Images are being generated from run ${bag.id}. Wait for that to finish, or cancel it, then delete the run.` },
    });
    expect(runEntries(project.dir)).toEqual([`generated/${bag.id}`, `runs/${bag.id}`, `runs/${sneaker.id}`].sort());
    // the stopped run can go
    await ok(s.dispatch('runs.delete', { runId: sneaker.id }));
    expect(runEntries(project.dir)).toEqual([`generated/${bag.id}`, `runs/${bag.id}`]);
    // a generation whose end a full disk kept from its row (which still says running): where the
    // app's job runner knows it ended, the run can go
    project.jobs.setStatus('job-generating', 'running');
    await expect(deleteRun(project, bag.id)).rejects.toMatchObject({ kind: 'conflict' });
    await deleteRun(project, bag.id, (id) => (id === 'job-generating' ? 'failed' : undefined));
    expect(runEntries(project.dir)).toEqual([]);
  });

  it('loses nothing when the database refuses the deletion: the folders get their names back', async () => {
    const { s, bag } = await projectWithRuns();
    const project = s.project!;
    const before = runEntries(project.dir);
    const bytes = await folderBytes(project.runFolders(bag.id).run);
    project.db.exec(`CREATE TRIGGER keep_runs BEFORE DELETE ON runs BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END`);
    expect(await s.dispatch('runs.delete', { runId: bag.id })).toMatchObject({ ok: false });
    expect(runEntries(project.dir)).toEqual(before);
    expect(await folderBytes(project.runFolders(bag.id).run)).toBe(bytes);
    expect(await ok<unknown[]>(s.dispatch('generated.list', { runId: bag.id }))).toHaveLength(3);
    project.db.exec('DROP TRIGGER keep_runs');
    await ok(s.dispatch('runs.delete', { runId: bag.id }));
  });

  it('finishes, at the next open, a deletion that a dead process left half done', async () => {
    const { s, bag, sneaker } = await projectWithRuns();
    const dir = s.project!.dir;
    await s.closeProject();
    // bag: renamed for deletion, then the process died before the commit (its row is still there)
    renameSync(join(dir, 'runs', bag.id), join(dir, 'runs', `.deleting-1700000000000-${bag.id}`));
    renameSync(join(dir, 'generated', bag.id), join(dir, 'generated', `.deleting-1700000000001-${bag.id}`));
    // a run whose deletion was committed, then the process died before removing its folder
    mkdirSync(join(dir, 'runs', '.deleting-1700000000002-run-gone'), { recursive: true });
    writeFileSync(join(dir, 'runs', '.deleting-1700000000002-run-gone', 'weights.bin'), Buffer.alloc(1000));

    const project = Project.open(dir);
    try {
      expect(runEntries(dir)).toEqual([`generated/${bag.id}`, `runs/${bag.id}`, `runs/${sneaker.id}`].sort());
      expect(readdirSync(join(dir, 'generated', bag.id, 'step-2', 'Bag'))).toHaveLength(3);
    } finally {
      project.close();
    }
  });
});
