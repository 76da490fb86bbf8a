/**
 * A really full disk, through the built CLI: the project lives on a small tmpfs mounted for this test
 * (test/helpers/small-disk.ts), filled to the last few kilobytes. Import, training and generation each
 * stop with a sentence (no stack trace), leave the project readable and its database intact, leave no
 * half-written files taking space, and go on once the filler is deleted ("free some space and try
 * again"). Where a tmpfs cannot be mounted (not root), the suite is skipped and its title says why.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunFootprint } from '../src/shared/contract';
import { deleteRun, runFootprint } from '../src/main/services/run-deletion';
import { listRuns } from '../src/main/services/training';
import { diskFullInstead, Project } from '../src/main/store/project';
import { mountSmallDisk, type SmallDisk } from './helpers/small-disk';

const root = join(__dirname, '..');
const bin = join(root, 'bin', 'gan-augment.js');
const work = mkdtempSync(join(tmpdir(), 'gan-disk-full-'));
const disk = join(work, 'disk');
const MB = 1024 * 1024;
const mounted = mountSmallDisk(disk, 24);
const reason = typeof mounted === 'string' ? mounted : '';
const fill = (leaveKb: number) => (mounted as SmallDisk).fill(leaveKb);
const freeSpace = () => (mounted as SmallDisk).free();

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GAN_AUGMENT_HOME: join(work, 'home') }, timeout: 180_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, stdout: r.stdout };
}

/** What a person reads when a command fails: the sentence, and nothing of the program's insides. */
function expectPlainDiskFull(r: { code: number | null; out: string }, sentence: RegExp): void {
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(sentence);
  expect(r.out).not.toMatch(/SqliteError|SQLITE_|ENOSPC|\n\s+at /);
}

/** The project still opens and reads, and SQLite finds its database intact. */
function expectIntact(project: string): void {
  const status = cli(['status', project, '--json']);
  expect(status.code).toBe(0);
  const db = new Database(join(project, 'project.sqlite'), { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    db.close();
  }
}

/** Files a failed write could leave behind: temp checkpoint folders, partial images. */
function leftovers(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp-\d+|\.partial$/.test(f));
}

afterAll(() => {
  if (typeof mounted !== 'string') mounted.unmount();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(reason !== '')(`a full disk${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const project = join(disk, 'full.ganaug');
  const source = join(work, 'source');
  let runId: string;

  beforeAll(() => {
    if (!existsSync(join(root, 'out', 'main', 'cli.js'))) throw new Error('Build first: npm run build');
    // 50 images in two classes, from the sample set (about 1.2 MB of training copies and thumbnails)
    for (const c of ['Ankle boot', 'Bag']) cpSync(join(root, 'resources', 'sample', 'fashion-mnist-imbalanced', c), join(source, c), { recursive: true });
    expect(cli(['init', join(disk, 'full')]).code).toBe(0);
  });

  it('import: stops with a sentence, keeps the project, and finishes once there is space', () => {
    fill(64);
    expectPlainDiskFull(cli(['import', project, source]), /disk .*is (nearly )?full/i);
    expectIntact(project);
    expect(leftovers(project)).toEqual([]);

    freeSpace();
    const r = cli(['import', project, source, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ imported: 50, classes: { 'Ankle boot': 20, Bag: 30 } });
    expectIntact(project);
  });

  it('import on a nearly full disk: stops before the disk is full, says so, and goes on where it stopped', () => {
    const other = join(disk, 'other');
    expect(cli(['init', other]).code).toBe(0);
    fill(16 * 1024 + 400); // the 16 MB kept free and room for about 15 of the 50 images
    const r = cli(['import', `${other}.ganaug`, source]);
    expectPlainDiskFull(
      r,
      /The disk holding the project is nearly full \([\d.]+ MB free\), so the import stopped after \d+ files\. Free some space, then import again: it goes on where it stopped\./,
    );
    expect(statfsSync(disk).bavail * statfsSync(disk).bsize).toBeGreaterThan(15 * MB); // stopped before the disk was full
    expectIntact(`${other}.ganaug`);
    freeSpace();
    const again = cli(['import', `${other}.ganaug`, source, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ imported: 50, resumed: expect.any(Number) });
    expect((JSON.parse(again.stdout) as { resumed: number }).resumed).toBeGreaterThan(0);
    rmSync(`${other}.ganaug`, { recursive: true, force: true });
  });

  it('a disk full to the last byte: the project still reads, or says in words why not', () => {
    fill(0);
    expectPlainDiskFull(cli(['import', project, source]), /disk .*is full/i);
    const status = cli(['status', project, '--json']);
    if (status.code === 0) expect(JSON.parse(status.stdout)).toMatchObject({ imageCount: 50 });
    else expectPlainDiskFull(status, /The disk holding the project is full, so it cannot even be read/);
    freeSpace();
    expectIntact(project);
  });

  it('training: stops with where it got to and how to go on; resumes once there is space', () => {
    fill(160); // less than one checkpoint of the tiny model (about 164 KB)
    const r = cli(['train', project, '--model', 'cwgan-gp', '--resolution', '32', '--preset', 'tiny', '--steps', '12', '--batch', '8']);
    expectPlainDiskFull(
      r,
      /The disk holding the project is full, so training stopped at step \d+\. Free some space, then resume the run\. It (carries on from its last checkpoint, step \d+|starts again from the beginning)\. To free space: "gan-augment runs" lists the disk each run takes, and "gan-augment delete-run" deletes one\. To carry on: gan-augment train ".+" --resume run-\S+ --steps 12\n/,
    );
    runId = readdirSync(join(project, 'runs'))[0]!;
    expectIntact(project);
    expect(leftovers(join(project, 'runs'))).toEqual([]);

    freeSpace();
    const resumed = cli(['train', project, '--resume', runId, '--steps', '12', '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ run: runId, step: 12 });
    // only the latest checkpoint is kept
    expect(readdirSync(join(project, 'runs', runId, 'checkpoints'))).toEqual(['step-12']);
    expectIntact(project);
  });

  it('a disk nearly full: the run stops at a checkpoint before the disk is full, says so, and resumes once there is space', () => {
    fill(2048); // room for the tiny run's checkpoints (about 160 KB each), not for them and the 16 MB kept free
    // A run whose last checkpoint is its first needs no room for another: it completes.
    expect(cli(['train', project, '--model', 'cwgan-gp', '--resolution', '32', '--preset', 'tiny', '--steps', '1', '--batch', '8', '--classes', 'Bag']).code).toBe(0);
    const r = cli(['train', project, '--model', 'cwgan-gp', '--resolution', '32', '--preset', 'tiny', '--steps', '12', '--batch', '8', '--classes', 'Bag', '--json']);
    expectPlainDiskFull(
      r,
      /The disk holding the project is nearly full \([\d.]+ MB free; a checkpoint of this run takes about \d+ KB\), so training stopped at step 1, where it saved a checkpoint\. Free some space, then resume the run\. It carries on from its last checkpoint, step 1\. To free space: "gan-augment runs" lists the disk each run takes, and "gan-augment delete-run" deletes one\. To carry on: gan-augment train ".+" --resume (run-\S+) --steps 12\n/,
    );
    const nearlyFullRun = /--resume (run-\S+)/.exec(r.out)![1]!;
    expect(statfsSync(disk).bavail).toBeGreaterThan(0); // stopped before the disk was full
    expectIntact(project);
    freeSpace();
    const resumed = cli(['train', project, '--resume', nearlyFullRun, '--steps', '12', '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ run: nearlyFullRun, step: 12 });
  });

  it('the disk fills while a run trains (main cannot record its metrics): the run stops in words, the app process does not crash', async () => {
    const child = spawn(process.execPath, [bin, 'train', project, '--model', 'cwgan-gp', '--resolution', '32', '--preset', 'tiny', '--steps', '5000', '--batch', '8', '--classes', 'Bag'], {
      env: { ...process.env, GAN_AUGMENT_HOME: join(work, 'home') },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const earlier = new Set(readdirSync(join(project, 'runs')));
    const metrics = () => {
      const db = new Database(join(project, 'project.sqlite'), { readonly: true });
      try {
        const rows = db.prepare('SELECT run_id AS run, COUNT(*) AS n FROM run_metrics GROUP BY run_id').all() as { run: string; n: number }[];
        return rows.filter((r) => !earlier.has(r.run)).reduce((a, r) => a + r.n, 0); // this test's run
      } finally {
        db.close();
      }
    };
    await expect.poll(metrics, { timeout: 120_000, interval: 100 }).toBeGreaterThan(0);
    fill(0);
    const code = await exited;
    freeSpace();
    // whichever comes first: main's record of the metrics fails, or the check after a checkpoint finds no room for the next
    expectPlainDiskFull({ code, out }, /The disk holding the project is (full|nearly full \(.+\)), so training stopped at step \d+(, where it saved a checkpoint)?\. Free some space, then resume the run\./);
    expectIntact(project);
    // No checkpoint newer than the one the project records is left taking space (the worker saves one
    // when it is stopped, also when main could not record its progress): Resume starts from the recorded one.
    const db = new Database(join(project, 'project.sqlite'), { readonly: true });
    const runs = db.prepare('SELECT id, checkpoint_step AS step FROM runs').all() as { id: string; step: number | null }[];
    db.close();
    const run = runs.find((r) => !earlier.has(r.id))!;
    const dir = join(project, 'runs', run.id, 'checkpoints');
    const saved = existsSync(dir) ? readdirSync(dir).map((name) => Number(/^step-(\d+)/.exec(name)?.[1])) : [];
    expect(saved.filter((step) => !(step <= (run.step ?? 0)))).toEqual([]);
  });

  it('generation on a nearly full disk: stops while there is room left, keeps and lists what it made', () => {
    fill(4096); // room for the images, not for them and the 16 MB kept free
    const r = cli(['generate', project, '--run', runId, '--class', 'Ankle boot', '--count', '60', '--seed', '5']);
    expectPlainDiskFull(r, /The disk holding the project is nearly full \(.+ free\), so generation stopped after 1 of 60 images; those are kept\. Free some space, then generate the rest\./);
    expect(statfsSync(disk).bavail * statfsSync(disk).bsize).toBeGreaterThan(3 * MB); // it did not fill the disk
    freeSpace();
    const db = new Database(join(project, 'project.sqlite'));
    try {
      const kept = db.prepare('SELECT file FROM generated_images WHERE seed = 5').all() as { file: string }[];
      expect(kept).toHaveLength(1);
      expect(existsSync(join(project, kept[0]!.file))).toBe(true);
      // (taken away again: the tests below count this run's images)
      db.prepare('DELETE FROM generated_images WHERE seed = 5').run();
      rmSync(join(project, kept[0]!.file));
    } finally {
      db.close();
    }
  });

  it('generation: stops with a sentence and leaves no images the project does not list; works once there is space', () => {
    fill(24); // a few of the 32 x 32 images, not 60
    // (the first image's write fails, or, written, it leaves the disk nearly full: either way it stops)
    expectPlainDiskFull(cli(['generate', project, '--run', runId, '--class', 'Ankle boot', '--count', '60', '--seed', '3']), /disk .*is (nearly )?full/i);
    freeSpace(); // (reading the project needs a little room: SQLite's shared-memory file)
    const listed = () => {
      const db = new Database(join(project, 'project.sqlite'), { readonly: true });
      try {
        return (db.prepare('SELECT file FROM generated_images').all() as { file: string }[]).map((r) => r.file).sort();
      } finally {
        db.close();
      }
    };
    const onDisk = () =>
      existsSync(join(project, 'generated'))
        ? readdirSync(join(project, 'generated'), { recursive: true, encoding: 'utf8' })
            .filter((f) => f.endsWith('.png') || f.endsWith('.partial'))
            .map((f) => join('generated', f))
            .sort()
        : [];
    expect(onDisk()).toEqual(listed());
    expectIntact(project);
    const r = cli(['generate', project, '--run', runId, '--class', 'Ankle boot', '--count', '60', '--seed', '3', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { generated: unknown[] }).generated).toHaveLength(60);
    expect(onDisk()).toEqual(listed());
    expect(listed()).toHaveLength(60);
    expectIntact(project);
  });

  it('deleting a run on a disk full to the last byte (the app holds the project open): the run goes and its space is freed', async () => {
    const opened = Project.open(project); // as the app holds it: its lock and SQLite's files are there already
    let deleted: RunFootprint;
    try {
      const before = await runFootprint(opened, runId);
      expect(before.generatedImages).toBe(60);
      fill(0);
      deleted = await deleteRun(opened, runId);
      expect(deleted).toEqual(before);
      // the space is free again (tmpfs gives it back at once)
      expect(statfsSync(disk).bavail * statfsSync(disk).bsize).toBeGreaterThanOrEqual(before.diskBytes * 0.9);
      expect(listRuns(opened).map((r) => r.id)).not.toContain(runId);
    } finally {
      opened.close();
      freeSpace();
    }
    expect(existsSync(join(project, 'runs', runId))).toBe(false);
    expect(existsSync(join(project, 'generated', runId))).toBe(false);
    expect(readdirSync(join(project, 'runs')).filter((n) => n.startsWith('.deleting-'))).toEqual([]);
    expectIntact(project);
  });

  it('deleting a run through the CLI on a disk full to the last byte: it cannot open the project, and says what to do', () => {
    const victim = (JSON.parse(cli(['runs', project, '--json']).stdout) as { id: string }[])[0]!.id;
    fill(0);
    const r = cli(['delete-run', project, victim, '--yes']);
    freeSpace();
    expectPlainDiskFull(r, /^Disk full: The disk holding the project is full to the last byte, so the project cannot be opened to delete the run\. Free a few megabytes elsewhere, then delete it again\.\n$/);
    expect(existsSync(join(project, 'runs', victim))).toBe(true);
    expectIntact(project);
    const again = cli(['delete-run', project, victim, '--yes', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ runId: victim, diskBytes: expect.any(Number) });
    expect(existsSync(join(project, 'runs', victim))).toBe(false);
  });

  it("SQLite's \"disk I/O error\" on a (nearly) full disk is put down to the disk; elsewhere it is left alone", () => {
    const ioerr = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_SHMSIZE' });
    fill(0);
    expect(diskFullInstead(disk, ioerr)).toMatchObject({ kind: 'disk-full', message: expect.stringMatching(/^The disk holding the project is full/) });
    freeSpace();
    expect(diskFullInstead(disk, ioerr)).toBe(ioerr);
    const other = Object.assign(new Error('constraint'), { code: 'SQLITE_CONSTRAINT' });
    fill(0);
    expect(diskFullInstead(disk, other)).toBe(other);
    freeSpace();
  });

  it('the disk is really that small: the filler took the space (the test measures what it says)', () => {
    fill(0);
    expect(statfsSync(disk).bavail).toBe(0);
    freeSpace();
    expect(statfsSync(disk).bavail * statfsSync(disk).bsize).toBeGreaterThan(10 * MB);
  });
});
