import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { writePng } from '../../../test/fixtures/images';
import { useTmp } from '../../../test/helpers/tmp';
import { nodeWorkerLauncher } from '../worker-host';
import { AppSession } from './session';

const tmp = useTmp();
const sessions: AppSession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.dispose();
});

function session() {
  const s = new AppSession({ mode: 'web', launchWorker: nodeWorkerLauncher, home: tmp() });
  sessions.push(s);
  return s;
}

describe('AppSession.dispatch validates every input against the contract', () => {
  it('names the offending field for wrong-typed input, and nothing runs', async () => {
    const s = session();
    const r = await s.dispatch('projects.create', { parentDir: 42, name: 'x' });
    expect(r).toEqual({ ok: false, error: { kind: 'validation', field: 'parentDir', message: expect.stringContaining('parentDir') } });
    expect(s.project).toBeUndefined();
  });

  it('refuses unknown calls and unknown fields', async () => {
    const s = session();
    expect(await s.dispatch('projects.delete', {})).toMatchObject({ ok: false, error: { kind: 'validation' } });
    expect(await s.dispatch('projects.close', { extra: 1 })).toMatchObject({ ok: false, error: { kind: 'validation' } });
    expect(await s.dispatch('projects.create', { parentDir: tmp(), name: 'a/b' })).toMatchObject({
      ok: false,
      error: { kind: 'validation', field: 'name', message: expect.stringContaining('cannot contain') },
    });
  });

  it('creates, reports, lists recent, closes and reopens a project; project calls need one open', async () => {
    const s = session();
    const events: string[] = [];
    s.onEvent((name) => events.push(name));
    expect(await s.dispatch('jobs.list', {})).toMatchObject({ ok: false, error: { kind: 'no-project' } });
    const parent = tmp();
    const created = await s.dispatch('projects.create', { parentDir: parent, name: 'Derm study' });
    expect(created).toMatchObject({ ok: true, value: { name: 'Derm study', imageCount: 0 } });
    const path = (created as { value: { path: string } }).value.path;
    expect(await s.dispatch('projects.recent', {})).toMatchObject({ ok: true, value: [{ path, name: 'Derm study', available: true }] });
    expect(await s.dispatch('projects.close', {})).toEqual({ ok: true, value: { ok: true } });
    expect(await s.dispatch('project.current', {})).toEqual({ ok: true, value: null });
    expect(await s.dispatch('projects.open', { path })).toMatchObject({ ok: true, value: { path } });
    // the open project under another spelling of its path (no ".ganaug") is the same project, not a lock conflict
    expect(await s.dispatch('projects.open', { path: path.replace(/\.ganaug$/, '') })).toMatchObject({ ok: true, value: { path } });
    expect(events).toEqual(['project.changed', 'project.changed', 'project.changed']);
    expect(await s.dispatch('dialog.pickFolder', {})).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
    expect(await s.dispatch('dialog.pickFile', { extensions: ['csv'] })).toMatchObject({ ok: false, error: { kind: 'unsupported' } });
  });

  it('runs the verify job and streams job.updated events to completion', async () => {
    const s = session();
    await s.dispatch('projects.create', { parentDir: tmp(), name: 'v' });
    const updates: { status: string }[] = [];
    s.onEvent((name, payload) => name === 'job.updated' && updates.push(payload as { status: string }));
    const r = await s.dispatch('jobs.start', { type: 'verify' });
    expect(r).toMatchObject({ ok: true, value: { type: 'verify', status: 'queued' } });
    await s.runner.whenIdle();
    expect(updates.at(-1)).toMatchObject({ status: 'completed', message: 'Nothing to verify yet: import images first.' });
  });
});

describe('the import report', () => {
  it('counts every outcome even where its lists stop at the limit asked for; a relative path typed in is refused in words', async () => {
    const s = session();
    expect(await s.dispatch('projects.create', { parentDir: 'projects', name: 'x' })).toMatchObject({
      ok: false,
      error: { kind: 'validation', message: expect.stringContaining('The folder for the project "projects" is not a full path.') },
    });
    await s.dispatch('projects.create', { parentDir: tmp(), name: 'Report' });
    // 2 readable images, 5 files that are not images, 3 exact copies of the first image
    const source = tmp();
    mkdirSync(join(source, 'nevus'));
    await writePng(join(source, 'nevus', 'a.png'), { seed: 1 });
    await writePng(join(source, 'nevus', 'b.png'), { seed: 2 });
    for (let i = 0; i < 5; i++) writeFileSync(join(source, 'nevus', `broken${i}.png`), 'not a picture');
    for (let i = 0; i < 3; i++) copyFileSync(join(source, 'nevus', 'a.png'), join(source, 'nevus', `copy${i}.png`));
    // a near-copy (the first image saved again as a JPEG) and two files outside any class folder
    await sharp(join(source, 'nevus', 'a.png')).jpeg({ quality: 90 }).toFile(join(source, 'nevus', 'a-again.jpg'));
    for (const loose of ['loose1.png', 'loose2.png']) copyFileSync(join(source, 'nevus', 'b.png'), join(source, loose));
    expect(await s.dispatch('import.scan', { source: { kind: 'folder', root: 'nevus' } })).toMatchObject({ ok: false, error: { kind: 'validation' } });
    await s.dispatch('jobs.start', { type: 'import', source: { kind: 'folder', root: source } });
    await s.runner.whenIdle();
    const r = await s.dispatch('import.latest', { limit: 1 });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const report = r.value as { imported: number; rejected: unknown[]; duplicates: unknown[]; problems: { kind: string }[]; totals: Record<string, number> };
    expect(report.imported).toBe(3);
    expect([report.rejected.length, report.duplicates.length]).toEqual([1, 1]);
    expect(report.totals).toMatchObject({ rejected: 5, duplicates: 3, conflicts: 0, problems: 2 });
    expect(report.totals.nearCopies).toBeGreaterThanOrEqual(1);
    // the limit holds for near-copies and for the other problems each: neither hides the other
    expect(report.problems.filter((p) => p.kind === 'near-duplicate')).toHaveLength(1);
    expect(report.problems.filter((p) => p.kind !== 'near-duplicate')).toHaveLength(1);
  });
});

describe('Verify project files', () => {
  it('tells a training copy changed outside the app (its hash is recorded at import)', async () => {
    const s = session();
    await s.dispatch('projects.create', { parentDir: tmp(), name: 'Copies' });
    const source = tmp();
    mkdirSync(join(source, 'nevus'));
    await writePng(join(source, 'nevus', 'a.png'), { seed: 1 });
    await writePng(join(source, 'nevus', 'b.png'), { seed: 2 });
    await s.dispatch('jobs.start', { type: 'import', source: { kind: 'folder', root: source } });
    await s.runner.whenIdle();
    const project = s.project!;
    const copies = project.db.prepare('SELECT cache_file AS file, cache_sha256 AS sha FROM images ORDER BY id').all() as { file: string; sha: string | null }[];
    expect(copies.every((c) => /^[0-9a-f]{64}$/.test(c.sha ?? ''))).toBe(true);
    writeFileSync(join(project.dir, copies[0]!.file), 'junk');
    const started = await s.dispatch('jobs.start', { type: 'verify' });
    if (!started.ok) throw new Error(JSON.stringify(started.error));
    await s.runner.whenIdle();
    const job = s.runner.get((started.value as { id: string }).id)!;
    expect(job.result).toMatchObject({ changed: [{ file: join(project.dir, copies[0]!.file), kind: 'cache' }], missing: [] });
  });
});
