/**
 * Import through the built CLI, on real files made by the fixtures: every kind of bad file,
 * duplicates, conflicts, an ISIC one-hot CSV, re-import without doubles, kill -9 and resume.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImageFolderFixture, makeIsicFixture, makeTempDir, removeDir, writeJpeg } from './fixtures/images';

const root = join(__dirname, '..');
const bin = join(root, 'bin', 'gan-augment.js');
let work: string;

beforeAll(async () => {
  if (!existsSync(join(root, 'out', 'main', 'cli.js'))) throw new Error('Build first: npm run build');
  work = await makeTempDir('gan-import-cli-');
});
afterAll(async () => removeDir(work));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, GAN_AUGMENT_HOME: join(work, 'home') }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T = Record<string, unknown>>(args: string[]): T {
  const r = cli(args);
  if (r.code !== 0) throw new Error(`gan-augment ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface Summary {
  imported: number;
  classes: Record<string, number>;
  rejected: { relPath: string; kind: string; reason: string }[];
  duplicates: { relPath: string; duplicateOf: string }[];
  conflicts: { relPath: string; labels: string[] }[];
  problems: { kind: string; message: string; relPath?: string; row?: number }[];
  resumed: number;
}

/** Each usable image's split, as recorded in the project's database. */
function splitsOf(project: string): Map<number, string> {
  const db = new Database(join(project, 'project.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return new Map((db.prepare('SELECT image_id AS id, split FROM image_splits').all() as { id: number; split: string }[]).map((r) => [r.id, r.split]));
  } finally {
    db.close();
  }
}

function allFiles(dir: string): string[] {
  // (readdirSync's `recursive` with `withFileTypes` misses nested entries on some Node 20 releases)
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? allFiles(join(dir, d.name)) : [join(dir, d.name)]));
}

describe('gan-augment import (folder of class subfolders)', () => {
  let project: string;
  let first: Summary;
  let firstStderr: string;

  beforeAll(async () => {
    const source = await makeImageFolderFixture(join(work, 'folder-source'));
    cli(['init', join(work, 'folder')]);
    project = join(work, 'folder.ganaug');
    const r = cli(['import', project, source, '--json']);
    if (r.code !== 0) throw new Error(`gan-augment import failed (${r.code}): ${r.stderr}`);
    first = JSON.parse(r.stdout) as Summary;
    firstStderr = r.stderr;
  });

  it('says, once the files are counted, what they take on the disk at most and what is free', () => {
    // 21 files in the fixture (images, rejects, strays), 64 KiB each at most: 1,376,256 bytes
    const said = firstStderr.split('\n').filter((l) => l.startsWith('The project keeps a training copy'));
    expect(said).toEqual([expect.stringMatching(/^The project keeps a training copy and a thumbnail of each file: up to 1\.4 MB on the disk holding it, which has [\d.]+ [KMGT]?B free\.$/)]);
  });

  it('imports every decodable image, normalising CMYK, 16-bit, alpha, grayscale and EXIF rotation', () => {
    expect(first.classes).toEqual({ MEL: 12, NV: 2 });
    expect(first.imported).toBe(14);
  });

  it('rejects unreadable files with a plain reason each', () => {
    const byFile = Object.fromEntries(first.rejected.map((r) => [r.relPath, r.kind]));
    expect(byFile).toEqual({ 'NV/truncated.jpg': 'truncated', 'NV/corrupt.jpg': expect.any(String), 'NV/empty.jpg': 'empty', 'NV/text.jpg': 'not-an-image' });
    for (const r of first.rejected) expect(r.reason).toMatch(/\w+ \w+/);
  });

  it('reports duplicates within a class and conflicts across classes', () => {
    // "g copy.jpg" sorts before "g.jpg", so it is the one imported and g.jpg the duplicate
    expect(first.duplicates).toEqual([{ file: expect.any(String), relPath: 'NV/g.jpg', duplicateOf: expect.stringContaining('g copy.jpg') }]);
    expect(first.conflicts.map((c) => c.relPath).sort()).toEqual(['MEL/same.jpg', 'NV/same.jpg']);
    expect(first.conflicts[0]!.labels).toEqual(['MEL', 'NV']);
  });

  it('reports files outside class folders, non-images and empty class folders', () => {
    const kinds = first.problems.map((p) => `${p.kind}:${p.relPath ?? ''}`).sort();
    expect(kinds).toEqual(expect.arrayContaining(['not-in-class-folder:README.txt', 'not-in-class-folder:stray.jpg', 'not-an-image-extension:MEL/notes.pdf']));
    expect(first.problems.some((p) => p.kind === 'empty-class-folder')).toBe(true);
  });

  it('re-importing the same folder creates no doubles', () => {
    const again = json<Summary>(['import', project, join(work, 'folder-source'), '--json']);
    expect(again.imported).toBe(0);
    expect(again.duplicates.length).toBe(15); // the 14 images plus "g copy"
    expect(json<{ imageCount: number }>(['status', project, '--json']).imageCount).toBe(14);
  });

  it('balance shows counts, targets, needed images and the imbalance ratio', () => {
    const b = json<{ classes: { name: string; count: number; target: number; needed: number }[]; imbalanceRatio: number; conflicts: number }>([
      'balance',
      project,
      '--json',
    ]);
    expect(b.classes.map(({ name, count, target, needed }) => ({ name, count, target, needed }))).toEqual([
      { name: 'MEL', count: 12, target: 12, needed: 0 },
      { name: 'NV', count: 2, target: 12, needed: 10 },
    ]);
    expect(b.imbalanceRatio).toBe(6);
    expect(b.conflicts).toBe(1);
    const custom = json<{ classes: { name: string; needed: number }[] }>(['balance', project, '--target', '20', '--json']);
    expect(custom.classes.map((c) => c.needed)).toEqual([8, 18]);
    expect(cli(['balance', project, '--target', 'lots']).code).toBe(2);
  });

  it('conflicts lists the picture under both labels; deciding counts it once, and a re-import keeps the decision', () => {
    const splitsBefore = splitsOf(project);
    const listed = json<{ id: string; copies: { label: string; relPath: string }[]; thumb: string | null }[]>(['conflicts', project, '--json']);
    expect(listed).toHaveLength(1);
    expect(listed[0]!.copies).toEqual([
      { label: 'MEL', relPath: 'MEL/same.jpg' },
      { label: 'NV', relPath: 'NV/same.jpg' },
    ]);
    expect(listed[0]!.thumb).toMatch(/^data:image\//);
    const id = listed[0]!.id;
    const text = cli(['conflicts', project]);
    expect(text.stdout).toContain(`${id}  MEL (MEL/same.jpg), NV (NV/same.jpg)\n`);
    expect(text.stdout).toMatch(/Each picture is kept out of training until you decide: gan-augment conflicts ".+" --decide ID --label NAME \(or --keep-out\)\n$/);

    // in words: a label it was not imported under, no way to decide, an unknown id
    expect(cli(['conflicts', project, '--decide', id, '--label', 'BCC']).stderr).toBe(
      'Please check your input: This picture was imported as "MEL" and "NV"; choose one of those, or keep it out.\n',
    );
    expect(cli(['conflicts', project, '--decide', id]).stderr).toBe('Please check your input: Say how to decide it: --label NAME (the right label) or --keep-out.\n');
    expect(cli(['conflicts', project, '--decide', 'ffffffffffff', '--keep-out']).code).toBe(1);

    const decided = cli(['conflicts', project, '--decide', id.slice(0, 8), '--label', 'NV']);
    expect(decided.code).toBe(0);
    expect(decided.stdout).toBe('The picture in MEL/same.jpg and NV/same.jpg is counted as "NV" from now on. No conflicts are left.\n');
    // the decided picture gets a split; no other image moves (a model may have trained on it)
    const splitsAfter = splitsOf(project);
    expect(splitsAfter.size).toBe(splitsBefore.size + 1);
    for (const [id, split] of splitsBefore) expect([id, splitsAfter.get(id)]).toEqual([id, split]);
    const counts = () => json<{ classes: { name: string; count: number }[]; conflicts: number }>(['balance', project, '--json']);
    expect(counts()).toMatchObject({ conflicts: 0, classes: [{ name: 'MEL', count: 12 }, { name: 'NV', count: 3 }] });

    // taken back, then decided again
    expect(cli(['conflicts', project, '--undo', id]).stdout).toBe('Taken back: the picture is kept out of training again until you decide. 1 left to decide.\n');
    expect(counts()).toMatchObject({ conflicts: 1, classes: [{ name: 'MEL', count: 12 }, { name: 'NV', count: 2 }] });
    expect(cli(['conflicts', project, '--undo', id]).stderr).toBe(`Not found: There is no decided label conflict "${id}" to take back in this project.\n`);
    expect(cli(['conflicts', project, '--decide', id, '--label', 'NV']).code).toBe(0);

    // importing the same folder again: the decided picture is a duplicate under both labels, not a new conflict
    const again = json<Summary>(['import', project, join(work, 'folder-source'), '--json']);
    expect(again.conflicts).toEqual([]);
    expect(again.duplicates.map((d) => d.relPath)).toEqual(expect.arrayContaining(['MEL/same.jpg', 'NV/same.jpg']));
    expect(counts()).toMatchObject({ conflicts: 0, classes: [{ name: 'MEL', count: 12 }, { name: 'NV', count: 3 }] });
    expect(json<unknown[]>(['conflicts', project, '--json'])).toEqual([]);
  });

  it('keeps no EXIF or GPS metadata in the cache and never touches the originals', async () => {
    const sharp = (await import('sharp')).default;
    const cached = allFiles(join(project, 'cache')).filter((f) => /\.(png|webp|jpg)$/.test(f));
    expect(cached.length).toBeGreaterThanOrEqual(14); // one 128 px copy per distinct image (it doubles as the thumbnail)
    for (const f of cached.slice(0, 10)) expect((await sharp(f).metadata()).exif).toBeUndefined();
    expect(existsSync(join(work, 'folder-source', 'NV', 'g copy.jpg'))).toBe(true);
  });
});

describe('gan-augment import --labels (ISIC one-hot CSV)', () => {
  it('imports the labelled rows and reports every row it could not use', async () => {
    const { imagesDir, csvFile } = await makeIsicFixture(join(work, 'isic-source'));
    cli(['init', join(work, 'isic')]);
    const s = json<Summary>(['import', join(work, 'isic.ganaug'), imagesDir, '--labels', csvFile, '--json']);
    expect(s.classes).toEqual({ MEL: 1, NV: 1, BCC: 1 });
    const kinds = s.problems.map((p) => p.kind).sort();
    expect(kinds).toEqual(expect.arrayContaining(['missing-file', 'several-labels', 'no-label', 'duplicate-row', 'no-row']));
    const missing = s.problems.find((p) => p.kind === 'missing-file')!;
    expect(missing.message).toContain('ISIC_0000003');
  });

  it('--group-column alone takes the patient column beside the detected ones (it was ignored)', async () => {
    const d = join(work, 'grouped-source');
    for (const i of [1, 2, 3]) await writeJpeg(join(d, `ISIC_${i}.jpg`), { seed: 40 + i });
    writeFileSync(join(d, 'gt.csv'), 'image,patient,MEL,NV\nISIC_1,P7,1,0\nISIC_2,P7,0,1\nISIC_3,P8,0,1\n');
    cli(['init', join(work, 'grouped')]);
    json(['import', join(work, 'grouped.ganaug'), d, '--labels', join(d, 'gt.csv'), '--group-column', 'patient', '--json']);
    const db = new Database(join(work, 'grouped.ganaug', 'project.sqlite'), { readonly: true });
    const groups = (db.prepare('SELECT group_id AS g FROM images ORDER BY id').all() as { g: string | null }[]).map((r) => r.g);
    db.close();
    expect(groups.sort()).toEqual(['P7', 'P7', 'P8']);
    // a group column the CSV does not have: said, with the columns it has
    cli(['init', join(work, 'grouped2')]);
    const r = cli(['import', join(work, 'grouped2.ganaug'), d, '--labels', join(d, 'gt.csv'), '--group-column', 'lesion']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('has no column named "lesion". Its columns are: image, patient, MEL, NV.');
  });

  it('says which columns exist when the CSV does not have the ones asked for', async () => {
    const { imagesDir, csvFile } = await makeIsicFixture(join(work, 'isic-source-2'));
    cli(['init', join(work, 'isic2')]);
    const r = cli(['import', join(work, 'isic2.ganaug'), imagesDir, '--labels', csvFile, '--file-column', 'filename', '--label-column', 'label']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/filename/);
    expect(r.stderr).toMatch(/MEL/);
  });
});

describe('an import killed mid-way', () => {
  it('leaves a consistent project, and running it again continues where it stopped', async () => {
    const source = join(work, 'many');
    for (let i = 0; i < 400; i++) await writeJpeg(join(source, i % 2 ? 'a' : 'b', `${i}.jpg`), { seed: 1000 + i, width: 640, height: 480 });
    cli(['init', join(work, 'killed')]);
    const project = join(work, 'killed.ganaug');

    const child = spawn(process.execPath, [bin, 'import', project, source], { env: { ...process.env, GAN_AUGMENT_HOME: join(work, 'home') } });
    let exited = false;
    child.once('exit', () => (exited = true));
    // kill it once some batches are staged (the import writes them as it goes), wherever it is then
    const staged = () => {
      try {
        const db = new Database(join(project, 'project.sqlite'), { readonly: true, fileMustExist: true });
        try {
          return (db.prepare('SELECT COUNT(*) AS n FROM import_files').get() as { n: number }).n;
        } finally {
          db.close();
        }
      } catch {
        return 0; // not created yet, or busy
      }
    };
    while (!exited && staged() < 32) await new Promise((r) => setTimeout(r, 20));
    if (exited) throw new Error('the import finished before it could be killed; make the source larger');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    // consistent: the project opens, nothing was half-imported into images
    expect(json<{ imageCount: number; jobs: { status: string }[] }>(['status', project, '--json'])).toMatchObject({ imageCount: 0 });
    const resumed = json<Summary>(['import', project, source, '--json']);
    expect(resumed.resumed).toBeGreaterThan(0);
    expect(resumed.imported).toBe(400);
    expect(resumed.duplicates).toEqual([]);
    expect(allFiles(join(project, 'cache')).filter((f) => f.endsWith('.partial'))).toEqual([]);
    const status = json<{ imageCount: number; jobs: { status: string; type: string }[] }>(['status', project, '--json']);
    expect(status.imageCount).toBe(400);
    expect(status.jobs.filter((j) => j.type === 'import').map((j) => j.status)).toEqual(['completed', 'interrupted']);
  });
});

describe('gan-augment init --sample', () => {
  it('creates a project filled with the bundled, imbalanced sample set', () => {
    const s = json<{ classes: { name: string; imageCount: number }[]; imageCount: number }>(['init', join(work, 'sample'), '--sample', '--json']);
    expect(s.imageCount).toBe(430);
    expect(Object.fromEntries(s.classes.map((c) => [c.name, c.imageCount]))).toMatchObject({ 'T-shirt': 200, Bag: 30 });
  });
});

describe('near-copies', () => {
  it('are imported but reported, naming both files', async () => {
    const source = join(work, 'near');
    const sharp = (await import('sharp')).default;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(source, 'nevus'), { recursive: true });
    // a picture with structure (a dark lesion on skin), saved twice: other size and quality, other bytes
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"><rect width="640" height="480" fill="#e8b89a"/>' +
        '<ellipse cx="300" cy="250" rx="150" ry="110" fill="#5a3522"/><circle cx="420" cy="150" r="40" fill="#8a5a40"/></svg>',
    );
    await sharp(svg).jpeg({ quality: 92 }).toFile(join(source, 'nevus', 'lesion.jpg'));
    await sharp(svg).resize(560).jpeg({ quality: 60 }).toFile(join(source, 'nevus', 'lesion re-saved.jpg'));
    await writeJpeg(join(source, 'nevus', 'other.jpg'), { seed: 502 });
    cli(['init', join(work, 'near')]);
    const s = json<Summary>(['import', join(work, 'near.ganaug'), source, '--json']);
    expect(s.imported).toBe(3);
    const near = s.problems.filter((p) => p.kind === 'near-duplicate');
    expect(near).toHaveLength(1);
    expect(near[0]!.message).toMatch(/"nevus\/lesion( re-saved)?\.jpg" looks almost the same as "nevus\/lesion( re-saved)?\.jpg"/);

    // In words, as their own outcome: not counted among "other problems".
    cli(['init', join(work, 'near-text')]);
    const text = cli(['import', join(work, 'near-text.ganaug'), source]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Images with near-copies to check \(imported; .+ remove one\): 1$/m);
    expect(text.stdout).toMatch(/^ {2}"nevus\/lesion( re-saved)?\.jpg" looks almost the same as /m);
    expect(text.stdout).not.toMatch(/Other problems/);
  });
});
