/**
 * Training and generation through the built CLI on the bundled sample set: a tiny real DCGAN on the
 * pure-JS CPU backend (a few steps), resume to a larger total, generate PNGs with provenance,
 * kill -9 mid-run and resume from the last checkpoint with the same step counter.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { formatBytes } from '../src/shared/disk';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeDir } from './fixtures/images';

const root = join(__dirname, '..');
const bin = join(root, 'bin', 'gan-augment.js');
let work: string;
let project: string;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GAN_AUGMENT_HOME: join(work, 'home') }, timeout: 170_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
function json<T>(args: string[]): T {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`gan-augment ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}
const tiny = ['--model', 'dcgan', '--resolution', '32', '--preset', 'tiny', '--batch', '4', '--backend', 'cpu'];

interface TrainJson {
  run: string;
  step: number;
  backend: string;
  device: string;
  checkpoint: string;
  metrics: { step: number; dLoss: number; gLoss: number; imagesPerSec: number };
}

beforeAll(async () => {
  if (!existsSync(join(root, 'out', 'main', 'cli.js'))) throw new Error('Build first: npm run build');
  work = await makeTempDir('gan-train-cli-');
  project = join(work, 'sample.ganaug');
  json(['init', join(work, 'sample'), '--sample', '--json']);
});
afterAll(async () => removeDir(work));

describe('gan-augment train / generate', () => {
  let first: TrainJson;

  it('trains a tiny DCGAN for a few steps and reports run, step, backend, checkpoint and metrics', () => {
    first = json<TrainJson>(['train', project, ...tiny, '--classes', 'Bag', '--steps', '3', '--seed', '11', '--json']);
    expect(first).toMatchObject({ step: 3, backend: 'cpu', device: expect.stringContaining('CPU') });
    expect(Number.isFinite(first.metrics.dLoss)).toBe(true);
    expect(existsSync(join(first.checkpoint, 'meta.json')) || existsSync(first.checkpoint)).toBe(true);
    const db = new Database(join(project, 'project.sqlite'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM run_metrics WHERE run_id = ?').get(first.run)).toEqual({ n: 3 });
    const run = db.prepare('SELECT status, sample_file, settings FROM runs WHERE id = ?').get(first.run) as { status: string; sample_file: string; settings: string };
    db.close();
    expect(run.status).toBe('completed');
    // DiffAugment unless told otherwise where a class has 500 images or fewer (Bag: 30), as the app's form suggests
    expect(JSON.parse(run.settings)).toMatchObject({ diffAugment: true });
    expect(existsSync(join(project, run.sample_file))).toBe(true);
  });

  it('--estimate times a few steps and says the time and the disk the training needs, and trains nothing', () => {
    const runs = () => {
      const db = new Database(join(project, 'project.sqlite'), { readonly: true });
      try {
        return (db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const before = runs();
    const words = cli(['train', project, ...tiny, '--classes', 'Bag,Sneaker', '--steps', '400', '--estimate']);
    expect(words.code).toBe(0);
    expect(words.stdout).toMatch(
      /^Computing on: CPU .+\n(Note: .+\n)?About (\d+ ms|\d+\.\d s) per step: .+ in total for 400 steps \(2 runs, one per class, one after another\)\.\nDisk: each checkpoint takes about \d+ KB; this training needs about [\d.]+ MB on the disk holding the project, which has .+ free\.\n$/,
    );
    const e = json<{ msPerStep: number; etaSeconds: number; checkpointBytes: number; diskNeededBytes: number; diskFreeBytes: number }>(
      ['train', project, ...tiny, '--classes', 'Bag', '--steps', '400', '--estimate', '--json'],
    );
    expect(e.etaSeconds).toBeCloseTo((e.msPerStep * 400) / 1000, 3);
    expect(e.checkpointBytes).toBeGreaterThan(100_000); // the tiny DCGAN's checkpoint: about 140 KB
    expect(e.checkpointBytes).toBeLessThan(200_000);
    expect(e.diskNeededBytes).toBeGreaterThan(2 * e.checkpointBytes);
    expect(e.diskFreeBytes).toBeGreaterThan(0);
    expect(runs()).toBe(before);
    expect(cli(['train', project, '--resume', first.run, '--estimate']).stderr).toMatch(/--estimate is for a new run/);
    // without --steps, a new run's total is the app's default
    expect(cli(['train', project, ...tiny, '--classes', 'Bag', '--estimate']).stdout).toMatch(/ in total for 5,000 steps\./);
  });

  it('--resume continues a run to a larger total step count', () => {
    const resumed = json<TrainJson>(['train', project, '--resume', first.run, '--steps', '5', '--json']);
    expect(resumed).toMatchObject({ run: first.run, step: 5 });
    expect(resumed.checkpoint).toMatch(/step-5$/);
    // without --steps a run keeps its own total: this one is done, and says how to go on
    const again = cli(['train', project, '--resume', first.run]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`Run ${first.run} finished at step 5. Give a larger --steps to train it further.`);
    // fewer steps than it has done: refused before anything starts, and the run is left as it was
    const fewer = cli(['train', project, '--resume', first.run, '--steps', '2']);
    expect(fewer.code).toBe(2);
    expect(fewer.stderr).toContain('This run is already at step 5; choose a total of at least that.');
    const db = new Database(join(project, 'project.sqlite'), { readonly: true });
    expect(db.prepare('SELECT status, total_steps AS total FROM runs WHERE id = ?').get(first.run)).toEqual({ status: 'completed', total: 5 });
    db.close();
  });

  it('generates labelled PNGs with provenance, saying first the disk they take', async () => {
    const r = cli(['generate', project, '--run', first.run, '--class', 'Bag', '--count', '4', '--seed', '7', '--json']);
    expect(r.code).toBe(0);
    // nothing generated from this run yet: estimated from the 32 x 32 pixels (grey, as Fashion-MNIST: 1,024 bytes, plus PNG's 1,024)
    expect(r.stderr).toMatch(/^These 4 images take up to 8\.2 KB on the disk \(.+ free\)\.\n/);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { generated: { id: number; file: string; class: string; seed: number }[] };
    expect(out.generated).toHaveLength(4);
    for (const g of out.generated) {
      expect(g).toMatchObject({ class: 'Bag', seed: 7 });
      const meta = await sharp(g.file).metadata();
      expect([meta.width, meta.height]).toEqual([32, 32]);
    }
    const db = new Database(join(project, 'project.sqlite'), { readonly: true });
    expect(db.prepare('SELECT run_id, checkpoint_step, class_name, seed, latent_index FROM generated_images ORDER BY latent_index').all()).toEqual(
      [0, 1, 2, 3].map((i) => ({ run_id: first.run, checkpoint_step: 5, class_name: 'Bag', seed: 7, latent_index: i })),
    );
    db.close();
    const refused = cli(['generate', project, '--run', first.run, '--class', 'Trouser', '--count', '2']);
    expect(refused.stderr).toContain('was not trained on "Trouser"');
    // the estimate before it, now measured on the 4 images written
    const sizes = out.generated.map((g) => statSync(g.file).size);
    const average = Math.ceil(sizes.reduce((a, b) => a + b, 0) / sizes.length);
    expect(refused.stderr).toMatch(new RegExp(`^These 2 images take about ${formatBytes(2 * average).replace('.', '\\.')} on the disk \\(.+ free\\)\\.\n`));
  });

  it('after kill -9 the run shows as interrupted and resumes from its last checkpoint', async () => {
    const child = spawn(process.execPath, [bin, 'train', project, ...tiny, '--classes', 'Sneaker', '--steps', '40', '--seed', '3'], {
      env: { ...process.env, GAN_AUGMENT_HOME: join(work, 'home') },
    });
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/step [3-9]: D/.test(err)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`training ended (${code}) before it could be killed: ${err}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const status = cli(['status', project, '--json']);
    expect(status.code).toBe(0);
    // a writer opening the project marks the dead run interrupted; resuming it continues from its checkpoint
    const db = new Database(join(project, 'project.sqlite'), { readonly: true });
    const dead = db.prepare(`SELECT id, checkpoint_step FROM runs WHERE classes = '["Sneaker"]'`).get() as { id: string; checkpoint_step: number };
    db.close();
    expect(dead.checkpoint_step).toBeGreaterThanOrEqual(2);
    const resumed = cli(['train', project, '--resume', dead.id, '--steps', String(dead.checkpoint_step + 2), '--json']);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split('\n').at(-1)!)).toMatchObject({ run: dead.id, step: dead.checkpoint_step + 2 });
    const db2 = new Database(join(project, 'project.sqlite'), { readonly: true });
    expect(db2.prepare(`SELECT status FROM jobs WHERE type = 'train' ORDER BY created_at`).all().map((j) => (j as { status: string }).status)).toContain('interrupted');
    db2.close();
  });

  it('Ctrl+C (SIGINT to the whole process group, as a terminal sends it) stops the run after a checkpoint at the step it reached', async () => {
    // its own process group, as a terminal job: the worker gets the SIGINT too
    const child = spawn(process.execPath, [bin, 'train', project, ...tiny, '--classes', 'Bag', '--steps', '20000', '--seed', '5'], {
      env: { ...process.env, GAN_AUGMENT_HOME: join(work, 'home') },
      detached: true,
    });
    let err = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          // metrics are printed at most twice a second: any step from the third on
          if ([...err.matchAll(/step (\d+): D/g)].some((m) => Number(m[1]) >= 3)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`training ended (${code}) before Ctrl+C: ${err}`)));
      });
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited).toBe(130);
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
    expect(err).toContain('Cancelling…');
    expect(err).toMatch(/Stopped run-\S+ at step \d+, with a checkpoint there\. To carry on: gan-augment train ".+" --resume run-\S+ --steps 20000\n/);
    const db = new Database(join(project, 'project.sqlite'), { readonly: true });
    const run = db.prepare(`SELECT status, step, checkpoint_step FROM runs WHERE classes = '["Bag"]' ORDER BY created_at DESC LIMIT 1`).get() as { status: string; step: number; checkpoint_step: number };
    db.close();
    expect(run.status).toBe('stopped');
    expect(run.step).toBeGreaterThanOrEqual(3);
    expect(run.checkpoint_step).toBe(run.step); // nothing trained was lost
  });

  it('explains bad settings in words', () => {
    expect(cli(['train', project, ...tiny, '--classes', 'Unicorn', '--steps', '2']).stderr).toContain('no class named "Unicorn"');
    expect(cli(['train', project, ...tiny, '--classes', 'Bag', '--steps', '0']).code).toBe(2);
    // the flag as typed, and what it takes
    expect(cli(['train', project, ...tiny, '--classes', 'Bag', '--resolution', '48']).stderr).toContain('--resolution "48" is not a setting it takes: give 32, 64 or 128.');
    expect(cli(['train', project, '--resume', first.run, '--steps', 'ten']).stderr).toContain('--steps must be a whole number of at least 1, not "ten".');
  });

  it('runs lists the runs with the disk each takes; delete-run says what it deletes, and deletes only with --yes', () => {
    const listed = json<{ id: string; status: string; diskBytes: number; generatedImages: number }[]>(['runs', project, '--json']);
    const bag = listed.find((r) => r.id === first.run)!;
    expect(bag).toMatchObject({ status: 'completed', generatedImages: 4 });
    expect(bag.diskBytes).toBeGreaterThan(100_000);
    const text = cli(['runs', project]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${first.run}  dcgan Bag: completed, step 5 of 5, `);
    expect(text.stdout).toMatch(/, 4 generated images\n/);
    expect(text.stdout).toMatch(/^In all [\d.]+ (KB|MB)\. Delete a run you no longer need with: gan-augment delete-run ".+" RUN$/m);

    type Disk = { totalBytes: number; runsBytes: number; generatedBytes: number; runs: number; generatedImages: number };
    const disk = () => json<{ disk: Disk }>(['status', project, '--json']).disk;
    const before = disk();
    expect(before).toMatchObject({ runs: listed.length, generatedImages: 4 });
    expect(before.runsBytes + before.generatedBytes).toBe(listed.reduce((sum, r) => sum + r.diskBytes, 0));
    expect(cli(['status', project]).stdout).toMatch(/^Disk: {5}The project takes [\d.]+ MB on the disk holding it, which has .+ free\.\n {12}Training copies and thumbnails of 430 images: /m);

    const ask = cli(['delete-run', project, first.run]);
    expect(ask.code).toBe(2);
    expect(ask.stdout).toMatch(
      new RegExp(`^Run ${first.run}: This deletes the run's checkpoints, sample images and loss history, and the 4 images generated from it, freeing [\\d.]+ (KB|MB) on the disk\\. It cannot be undone\\.\n$`),
    );
    expect(ask.stderr).toBe('Please check your input: Nothing was deleted. To delete the run, add --yes.\n');
    expect(existsSync(join(project, 'runs', first.run))).toBe(true);

    const done = cli(['delete-run', project, first.run, '--yes']);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(new RegExp(`^Deleted run ${first.run} and its 4 generated images: [\\d.]+ (KB|MB) freed\\.\n$`));
    expect(existsSync(join(project, 'runs', first.run))).toBe(false);
    expect(existsSync(join(project, 'generated', first.run))).toBe(false);
    expect(json<{ id: string }[]>(['runs', project, '--json']).map((r) => r.id)).not.toContain(first.run);
    const after = disk();
    expect(after).toMatchObject({ runs: listed.length - 1, generatedImages: 0, generatedBytes: 0 });
    // what it said it freed (give or take the database's own pages)
    expect(Math.abs(before.totalBytes - after.totalBytes - bag.diskBytes)).toBeLessThan(64 * 1024);
    expect(cli(['delete-run', project, first.run, '--yes']).stderr).toBe(`Not found: There is no training run "${first.run}" in this project.\n`);
  });
});
