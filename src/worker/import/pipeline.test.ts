import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fx from '../../../test/fixtures/images';
import { collectImport, importSource, removeStaleTempFiles, type ImportProgress, type ImportRecord } from './pipeline';

let dir: string;
let root: string;
beforeAll(async () => {
  dir = await fx.makeTempDir();
  root = await fx.makeImageFolderFixture(join(dir, 'src'));
});
afterAll(async () => {
  await fx.removeDir(dir);
});

/** Every file under `d`, relative, sorted; [] when `d` does not exist. */
async function listFiles(d: string): Promise<string[]> {
  const all = await readdir(d, { recursive: true }).catch(() => [] as string[]);
  const files: string[] = [];
  for (const f of all) if ((await stat(join(d, f))).isFile()) files.push(relative(d, join(d, f)));
  return files.sort();
}

const dirsFor = (name: string) => ({ cacheDir: join(dir, name, 'cache'), thumbDir: join(dir, name, 'thumbs') });

describe('importSource / collectImport on the ImageFolder fixture', () => {
  it('imports, rejects, finds duplicates and conflicts, and reports progress', async () => {
    const progress: ImportProgress[] = [];
    const s = await collectImport({ kind: 'folder', root }, { ...dirsFor('full'), concurrency: 3, onProgress: (p) => progress.push(p) });
    const by = (o: string) => s.classified.items.filter((i) => i.outcome === o).map((i) => i.entry.relPath);
    expect(by('imported')).toEqual([
      'MEL/16bit.png',
      'MEL/Mélanome 1.jpg',
      'MEL/a.jpg',
      'MEL/b.png',
      'MEL/c.tif',
      'MEL/cmyk.jpg',
      'MEL/d.webp',
      'MEL/e.bmp',
      'MEL/gray.png',
      'MEL/rgba.png',
      'MEL/rotated.jpg',
      'MEL/sub dir/deep/f.JPG',
      'NV/g copy.jpg',
      'NV/日本語 ü.png',
    ]);
    expect(by('duplicate')).toEqual(['NV/g.jpg']);
    expect(s.classified.items.find((i) => i.outcome === 'duplicate')!.duplicateOf).toBe(join(root, 'NV', 'g copy.jpg'));
    expect(by('conflict')).toEqual(['MEL/same.jpg', 'NV/same.jpg']);
    const rejected = s.classified.items
      .filter((i) => i.outcome === 'rejected')
      .map((i) => (i.entry.status === 'rejected' ? [i.entry.relPath, i.entry.reason.kind] : []));
    expect(rejected).toEqual([
      ['NV/corrupt.jpg', 'unreadable'],
      ['NV/empty.jpg', 'empty'],
      ['NV/text.jpg', 'not-an-image'],
      ['NV/truncated.jpg', 'truncated'],
    ]);
    expect(s.problems.map((p) => p.kind)).toEqual(['not-in-class-folder', 'not-in-class-folder', 'not-an-image-extension', 'empty-class-folder']);

    expect(progress).toHaveLength(21);
    expect(progress.at(-1)).toMatchObject({ done: 21, total: 21, etaSeconds: 0 });
    expect(progress.map((p) => p.done)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));

    // One cache PNG and one thumbnail per distinct decodable content, nothing else.
    const distinct = new Set(s.classified.items.filter((i) => i.entry.status === 'ok').map((i) => (i.entry as { sha256: string }).sha256));
    expect(distinct.size).toBe(15); // 14 imported + the conflicting content (g.jpg = g copy.jpg)
    expect((await listFiles(dirsFor('full').cacheDir)).filter((f) => f.endsWith('.png'))).toHaveLength(15);
    expect(await listFiles(dirsFor('full').thumbDir)).toHaveLength(15);
  });

  it('streams batches of at most batchSize records, with every file exactly once, seq in source order', async () => {
    const sizes: number[] = [];
    const records: ImportRecord[] = [];
    let problems = 0;
    for await (const batch of importSource({ kind: 'folder', root }, { ...dirsFor('batches'), batchSize: 4, concurrency: 2 })) {
      sizes.push(batch.records.length);
      records.push(...batch.records);
      problems += batch.problems.length;
    }
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(records).toHaveLength(21);
    expect(problems).toBe(4);
    expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 21 }, (_, i) => i));
    const sorted = [...records].sort((a, b) => a.seq - b.seq).map((r) => r.relPath);
    expect(sorted[0]).toBe('MEL/16bit.png');
    expect(sorted.at(-1)).toBe('NV/日本語 ü.png');
  });

  it('gives the same records one file at a time as with many files in flight around few decodes', async () => {
    const pick = (r: ImportRecord) => [r.relPath, r.status, r.status === 'skipped' ? null : (r.sha256 ?? null), r.status === 'ok' ? r.phash : null, r.status === 'ok' ? r.info : null];
    const run = async (name: string, o: { concurrency: number; overlap: number }) => {
      const records: ImportRecord[] = [];
      for await (const batch of importSource({ kind: 'folder', root }, { ...dirsFor(name), ...o })) records.push(...batch.records);
      return records.sort((a, b) => a.seq - b.seq).map(pick);
    };
    const serial = await run('serial', { concurrency: 1, overlap: 0 });
    expect(serial).toHaveLength(21);
    expect(await run('overlapped', { concurrency: 1, overlap: 6 })).toEqual(serial);
    expect(await run('wide', { concurrency: 4, overlap: 4 })).toEqual(serial);
    expect(await listFiles(join(dir, 'overlapped', 'cache'))).toEqual(await listFiles(join(dir, 'serial', 'cache')));
  });

  it('skips files the caller already has, by path and by content hash (resume)', async () => {
    const asked: string[] = [];
    const s = await collectImport(
      { kind: 'folder', root },
      {
        ...dirsFor('skip'),
        skip: (key) => {
          asked.push(key.kind);
          if (key.kind === 'path') return key.entry.relPath.startsWith('MEL/');
          return key.entry.relPath === 'NV/g.jpg';
        },
      },
    );
    expect(s.skipped.map((r) => [r.relPath, r.status === 'skipped' ? r.skippedBy : ''])).toEqual([
      ...[
        'MEL/16bit.png',
        'MEL/Mélanome 1.jpg',
        'MEL/a.jpg',
        'MEL/b.png',
        'MEL/c.tif',
        'MEL/cmyk.jpg',
        'MEL/d.webp',
        'MEL/e.bmp',
        'MEL/gray.png',
        'MEL/rgba.png',
        'MEL/rotated.jpg',
        'MEL/same.jpg',
        'MEL/sub dir/deep/f.JPG',
      ].map((p) => [p, 'path']),
      ['NV/g.jpg', 'sha256'],
    ]);
    expect(asked.filter((k) => k === 'path')).toHaveLength(21);
    // Skipped MEL/same.jpg is not in this run, so NV/same.jpg is no conflict here.
    expect(s.classified.items.find((i) => i.entry.relPath === 'NV/same.jpg')!.outcome).toBe('imported');
  });

  it('re-importing the same source creates no doubles and rewrites no cache file', async () => {
    const d = dirsFor('again');
    const first = await collectImport({ kind: 'folder', root }, d);
    const imported = first.classified.items.filter((i) => i.outcome === 'imported' || i.outcome === 'conflict');
    const existing = imported.map((i) => ({ sha256: (i.entry as { sha256: string }).sha256, label: i.entry.label, file: i.entry.file }));
    const cacheFile = join(d.cacheDir, (await listFiles(d.cacheDir))[0]!);
    const mtime = (await stat(cacheFile)).mtimeMs;
    const second = await collectImport({ kind: 'folder', root }, d, existing);
    expect(second.classified.items.filter((i) => i.outcome === 'imported')).toEqual([]);
    expect(second.classified.items.filter((i) => i.outcome === 'duplicate')).toHaveLength(15); // 14 + g.jpg
    expect(second.classified.items.filter((i) => i.outcome === 'conflict')).toHaveLength(2); // still unresolved
    expect((await stat(cacheFile)).mtimeMs).toBe(mtime);
  });
});

describe('cancellation', () => {
  let big: string;
  beforeAll(async () => {
    big = join(dir, 'big');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => fx.writeJpeg(join(big, `C${i % 3}`, `img${String(i).padStart(3, '0')}.jpg`), { width: 640, height: 480, seed: 1000 + i })),
    );
  });

  it('an aborted import throws AbortError promptly, stops all work and leaves no temporary or partial files', async () => {
    const d = dirsFor('cancel');
    const controller = new AbortController();
    let done = 0;
    const seen: ImportRecord[] = [];
    const run = (async () => {
      for await (const batch of importSource(
        { kind: 'folder', root: big },
        {
          ...d,
          concurrency: 2,
          batchSize: 2,
          signal: controller.signal,
          onProgress: (p) => {
            done = p.done;
            if (p.done === 5) controller.abort();
          },
        },
      ))
        seen.push(...batch.records);
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(done).toBeLessThan(10); // at most the files already in flight finished
    const after = await listFiles(d.cacheDir);
    expect(after.filter((f) => f.endsWith('.partial'))).toEqual([]);
    // Nothing keeps writing after the iterator has thrown.
    await new Promise((r) => setTimeout(r, 300));
    expect(await listFiles(d.cacheDir)).toEqual(after);
    expect(await listFiles(d.thumbDir)).toEqual((await listFiles(d.thumbDir)).filter((f) => !f.endsWith('.partial')));
    // Every cache file present is complete.
    for (const f of after) expect((await sharp(join(d.cacheDir, f)).metadata()).width).toBe(128);

    // Resume: a second run finishes the job, reusing what was written.
    const s = await collectImport({ kind: 'folder', root: big }, d);
    expect(s.classified.items.filter((i) => i.outcome === 'imported')).toHaveLength(40);
    expect(await listFiles(d.cacheDir)).toHaveLength(40);
  });

  it('an already-aborted signal throws before any work', async () => {
    const d = dirsFor('pre-aborted');
    const it = importSource({ kind: 'folder', root: big }, { ...d, signal: AbortSignal.abort() });
    await expect(it.next()).rejects.toMatchObject({ name: 'AbortError' });
    expect(await listFiles(d.cacheDir)).toEqual([]);
  });

  it('breaking out of the loop stops the workers and leaves no temporary files', async () => {
    const d = dirsFor('break');
    let batches = 0;
    for await (const _batch of importSource({ kind: 'folder', root: big }, { ...d, batchSize: 3 })) {
      if (++batches === 2) break;
    }
    const files = await listFiles(d.cacheDir);
    await new Promise((r) => setTimeout(r, 300));
    expect(await listFiles(d.cacheDir)).toEqual(files);
    expect(files.filter((f) => f.endsWith('.partial'))).toEqual([]);
    expect(files.length).toBeLessThan(40);
  });

  it('removeStaleTempFiles deletes temporary files a crash left behind, and nothing else', async () => {
    const d = dirsFor('stale');
    await collectImport({ kind: 'folder', root: join(root) }, { ...d, concurrency: 1 });
    const before = await listFiles(d.cacheDir);
    const sub = before[0]!.split('/')[0]!;
    await writeFile(join(d.cacheDir, sub, 'abc.png.123-deadbeef.partial'), 'half');
    expect(await removeStaleTempFiles(d.cacheDir)).toBe(1);
    expect(await listFiles(d.cacheDir)).toEqual(before);
  });
});

describe('failures that are not the file’s fault stop the import', () => {
  it('a cache folder that cannot be created fails the import with the cause', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'a file where a folder should be');
    const run = collectImport({ kind: 'folder', root }, { cacheDir: join(blocker, 'cache'), thumbDir: join(dir, 'blocked-thumbs') });
    await expect(run).rejects.toThrow(/ENOTDIR|not a directory|cannot be written/i);
  });
});

describe('the shipped sample set (Fashion-MNIST, resources/sample)', () => {
  const sampleRoot = join(__dirname, '..', '..', '..', 'resources', 'sample', 'fashion-mnist-imbalanced');
  it('imports completely: 5 imbalanced classes of 28x28 grayscale images, nothing rejected', async () => {
    const s = await collectImport({ kind: 'folder', root: sampleRoot }, dirsFor('sample'));
    const counts: Record<string, number> = {};
    for (const i of s.classified.items) if (i.outcome === 'imported') counts[i.entry.label!] = (counts[i.entry.label!] ?? 0) + 1;
    expect(counts).toEqual({ 'Ankle boot': 20, Bag: 30, Sneaker: 60, 'T-shirt': 200, Trouser: 120 });
    expect(s.classified.items.filter((i) => i.outcome !== 'imported')).toEqual([]);
    expect(s.problems).toEqual([]);
    const first = s.classified.items[0]!.entry;
    expect(first.status === 'ok' && first.info).toMatchObject({ width: 28, height: 28, channels: 1, colourSpace: 'b-w' });
  });
});
