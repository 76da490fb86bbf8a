import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../shared/errors';
import { makeImageFolderFixture, makeIsicFixture, makeTempDir, removeDir, writeJpeg } from '../../../test/fixtures/images';
import { detectCsvFormat, enumerateSource, previewCsv, scanSource, type CandidateEntry, type SourceProblem, type SourceSpec } from './sources';

async function collect(spec: SourceSpec) {
  const entries: CandidateEntry[] = [];
  const problems: SourceProblem[] = [];
  for await (const item of enumerateSource(spec)) {
    if (item.type === 'entry') entries.push(item.entry);
    else problems.push(item.problem);
  }
  return { entries, problems };
}

let dir: string;
beforeAll(async () => {
  dir = await makeTempDir();
});
afterAll(async () => {
  await removeDir(dir);
});

describe('ImageFolder source', () => {
  let root: string;
  beforeAll(async () => {
    root = await makeImageFolderFixture(join(dir, 'folder'));
  });

  it('lists image files per class, nested folders included, in sorted order', async () => {
    const { entries } = await collect({ kind: 'folder', root });
    expect(entries.map((e) => `${e.label}:${e.relPath}`)).toEqual([
      'MEL:MEL/16bit.png',
      'MEL:MEL/Mélanome 1.jpg',
      'MEL:MEL/a.jpg',
      'MEL:MEL/b.png',
      'MEL:MEL/c.tif',
      'MEL:MEL/cmyk.jpg',
      'MEL:MEL/d.webp',
      'MEL:MEL/e.bmp',
      'MEL:MEL/gray.png',
      'MEL:MEL/rgba.png',
      'MEL:MEL/rotated.jpg',
      'MEL:MEL/same.jpg',
      'MEL:MEL/sub dir/deep/f.JPG', // upper-case extension accepted
      'NV:NV/corrupt.jpg',
      'NV:NV/empty.jpg',
      'NV:NV/g copy.jpg',
      'NV:NV/g.jpg',
      'NV:NV/same.jpg',
      'NV:NV/text.jpg',
      'NV:NV/truncated.jpg',
      'NV:NV/日本語 ü.png',
    ]);
    for (const e of entries) {
      expect(e.file).toBe(join(root, ...e.relPath.split('/')));
      expect(e.group).toBeNull();
    }
  });

  it('reports root files, non-images and empty class folders; ignores hidden files and OS litter silently', async () => {
    const { problems } = await collect({ kind: 'folder', root });
    expect(problems.map((p) => [p.kind, p.relPath])).toEqual([
      ['not-in-class-folder', 'README.txt'],
      ['not-in-class-folder', 'stray.jpg'],
      ['not-an-image-extension', 'MEL/notes.pdf'],
      ['empty-class-folder', 'EMPTY'],
    ]);
    expect(problems[2]!.message).toBe(
      '"MEL/notes.pdf" is not an image (its extension is .pdf). Images must end in .jpg, .jpeg, .png, .bmp, .tif, .tiff, .webp.',
    );
    expect(problems[0]!.message).toContain('"README.txt" is not inside a class folder');
    const text = JSON.stringify(problems);
    for (const litter of ['.DS_Store', 'Thumbs.db', '__MACOSX', '._a.jpg']) expect(text).not.toContain(litter);
  });

  it('scanSource summarises classes (largest first), total and problems without opening images', async () => {
    const summary = await scanSource({ kind: 'folder', root });
    expect(summary.classes).toEqual([
      { name: 'MEL', count: 13 },
      { name: 'NV', count: 8 },
    ]);
    expect(summary.total).toBe(21);
    expect(summary.problems).toHaveLength(4);
  });

  it('does not follow links to folders, and says so', async () => {
    const r = join(dir, 'linked');
    await writeJpeg(join(r, 'A', 'x.jpg'));
    await mkdir(join(dir, 'elsewhere'), { recursive: true });
    await writeJpeg(join(dir, 'elsewhere', 'y.jpg'));
    await symlink(join(dir, 'elsewhere'), join(r, 'A', 'link'));
    const { entries, problems } = await collect({ kind: 'folder', root: r });
    expect(entries.map((e) => e.relPath)).toEqual(['A/x.jpg']);
    expect(problems.map((p) => p.kind)).toEqual(['linked-folder']);
  });

  it('explains a missing source folder in words', async () => {
    const err = await collect({ kind: 'folder', root: join(dir, 'nope') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).kind).toBe('not-found');
    expect((err as AppError).message).toMatch(/The image folder ".*nope" cannot be opened: it does not exist\./);
  });
});

describe('CSV source, ISIC one-hot format', () => {
  let isic: Awaited<ReturnType<typeof makeIsicFixture>>;
  beforeAll(async () => {
    isic = await makeIsicFixture(join(dir, 'isic'));
  });

  it('previewCsv detects the one-hot format (BOM, CRLF, 1.0/0.0) and suggests the mapping', async () => {
    const p = await previewCsv(isic.csvFile, 2);
    expect(p.columns).toEqual(['image', 'MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC', 'UNK']);
    expect(p.rows).toEqual([
      ['ISIC_0000001', '1.0', '0.0', '0.0', '0.0', '0.0', '0.0', '0.0', '0.0', '0.0'],
      ['ISIC_0000002', '0.0', '1.0', '0.0', '0.0', '0.0', '0.0', '0.0', '0.0', '0.0'],
    ]);
    expect(p.detectedFormat).toBe('one-hot');
    expect(p.delimiter).toBe(',');
    expect(p.suggested).toEqual({
      format: 'one-hot',
      fileColumn: 'image',
      labelColumns: ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC', 'UNK'],
    });
  });

  it('finds files by id without extension (nested too), takes groups from a second CSV, reports every bad row', async () => {
    const { entries, problems } = await collect({
      kind: 'csv',
      imagesDir: isic.imagesDir,
      csvFile: isic.csvFile,
      groupCsv: { file: isic.metadataCsv, idColumn: 'image', groupColumn: 'lesion_id' },
    });
    expect(entries).toEqual([
      { file: join(isic.imagesDir, 'ISIC_0000001.jpg'), relPath: 'ISIC_0000001.jpg', label: 'MEL', group: 'L1' },
      { file: join(isic.imagesDir, 'ISIC_0000006.png'), relPath: 'ISIC_0000006.png', label: 'BCC', group: 'L2' },
      { file: join(isic.imagesDir, 'batch2', 'ISIC_0000002.jpg'), relPath: 'batch2/ISIC_0000002.jpg', label: 'NV', group: 'L1' },
    ]);
    expect(problems.map((p) => [p.kind, p.row ?? p.relPath])).toEqual([
      ['missing-file', 4],
      ['several-labels', 5],
      ['no-label', 6],
      ['duplicate-row', 7],
      ['no-row', 'ISIC_0000007.jpg'],
    ]);
    expect(problems[0]!.message).toMatch(/^Row 4 \("ISIC_0000003"\): no such image in the images folder/);
    expect(problems[1]!.message).toBe(
      'Row 5 ("ISIC_0000004") is marked as MEL and NV at once; one image needs exactly one class. It was not imported.',
    );
    expect(problems[4]!.message).toBe('"ISIC_0000007.jpg" is in the images folder but no row of labels.csv names it, so its class is unknown.');
  });

  it('uses a group column in the same CSV', async () => {
    const d = join(dir, 'isic-group');
    await writeJpeg(join(d, 'ISIC_1.jpg'), { seed: 1 });
    await writeJpeg(join(d, 'ISIC_2.jpg'), { seed: 2 });
    const csv = join(d, 'gt.csv');
    await writeFile(csv, 'image,lesion_id,MEL,NV\nISIC_1,L9,1,0\nISIC_2,L9,0,1\n');
    const p = await previewCsv(csv);
    expect(p.suggested).toEqual({ format: 'one-hot', fileColumn: 'image', labelColumns: ['MEL', 'NV'], groupColumn: 'lesion_id' });
    const { entries } = await collect({ kind: 'csv', imagesDir: d, csvFile: csv });
    expect(entries.map((e) => [e.relPath, e.label, e.group])).toEqual([
      ['ISIC_1.jpg', 'MEL', 'L9'],
      ['ISIC_2.jpg', 'NV', 'L9'],
    ]);
  });

  it('reads an ISIC CSV saved by a European spreadsheet: semicolons, decimal commas, a blank cell as 0', async () => {
    const d = join(dir, 'isic-eu');
    for (const i of [0, 1, 2]) await writeJpeg(join(d, `ISIC_${i}.jpg`), { seed: 10 + i });
    const csv = join(d, 'gt.csv');
    await writeFile(csv, 'image;MEL;NV;UNK\nISIC_0;1,0;0,0;0,0\nISIC_1;;1,0;0,0\nISIC_2;;;\n');
    const p = await previewCsv(csv);
    expect(p.suggested).toEqual({ format: 'one-hot', fileColumn: 'image', labelColumns: ['MEL', 'NV', 'UNK'] });
    const { entries, problems } = await collect({ kind: 'csv', imagesDir: d, csvFile: csv });
    expect(entries.map((e) => [e.relPath, e.label])).toEqual([
      ['ISIC_0.jpg', 'MEL'],
      ['ISIC_1.jpg', 'NV'],
    ]);
    expect(problems.map((pr) => [pr.kind, pr.row])).toEqual([['no-label', 4]]);
  });

  it('names the missing column and lists the real ones', async () => {
    const err = await collect({
      kind: 'csv',
      imagesDir: isic.imagesDir,
      csvFile: isic.csvFile,
      mapping: { format: 'columns', fileColumn: 'image', labelColumn: 'label' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).kind).toBe('validation');
    expect((err as AppError).field).toBe('labelColumn');
    expect((err as AppError).message).toBe(
      'The CSV "labels.csv" has no column named "label". Its columns are: image, MEL, NV, BCC, AK, BKL, DF, VASC, SCC, UNK.',
    );
  });
});

describe('CSV source, filename,label columns', () => {
  let d: string;
  beforeAll(async () => {
    d = join(dir, 'cols');
    await writeJpeg(join(d, 'imgs', 'a.jpg'), { seed: 1 });
    await writeJpeg(join(d, 'imgs', 'sub', 'b.jpg'), { seed: 2 });
    await writeJpeg(join(d, 'imgs', 'x', 'c.jpg'), { seed: 3 });
    await writeJpeg(join(d, 'imgs', 'y', 'c.jpg'), { seed: 4 });
    await writeJpeg(join(d, 'imgs', 'Café.jpg'.normalize('NFD')), { seed: 5 });
    await writeJpeg(join(d, 'imgs', 'd.jpg'), { seed: 6 });
  });

  it('honours the chosen columns; accepts relative paths, bare names, Windows separators and NFD/NFC names', async () => {
    const csv = join(d, 'labels.csv');
    await writeFile(
      csv,
      [
        'patient;file name;diagnosis',
        'P1;a.jpg;benign',
        'P2;sub\\b.jpg;malignant',
        'P3;x/c.jpg;benign',
        `P4;${'Café.jpg'.normalize('NFC')};malignant`,
        'P5;c.jpg;benign', // two files are named c.jpg
        'P6;d.jpg;benign',
        'P6;d.jpg;malignant', // contradicts the row above
        'P7;e.jpg;', // no label, and no such file
        'P8;a.jpg;benign', // duplicate of row 2
      ].join('\n'),
    );
    const p = await previewCsv(csv);
    expect(p.delimiter).toBe(';');
    expect(p.detectedFormat).toBe('columns');
    expect(p.suggested).toEqual({ format: 'columns', fileColumn: 'file name', labelColumn: 'diagnosis', groupColumn: 'patient' });

    const { entries, problems } = await collect({ kind: 'csv', imagesDir: join(d, 'imgs'), csvFile: csv, mapping: p.suggested });
    expect(entries.map((e) => [e.relPath.normalize('NFC'), e.label, e.group])).toEqual([
      ['Café.jpg', 'malignant', 'P4'],
      ['a.jpg', 'benign', 'P1'],
      ['sub/b.jpg', 'malignant', 'P2'],
      ['x/c.jpg', 'benign', 'P3'],
    ]);
    expect(problems.map((q) => [q.kind, q.row ?? q.relPath])).toEqual([
      ['ambiguous-file', 6],
      ['contradictory-rows', 8],
      ['missing-file', 9],
      ['duplicate-row', 10],
      ['no-row', 'y/c.jpg'],
    ]);
    expect(problems[0]!.message).toContain('matches 2 files in the images folder (x/c.jpg, y/c.jpg)');
    expect(problems[1]!.message).toBe(
      'Row 8 ("d.jpg") gives "d.jpg" the class malignant, but row 7 says benign. The image was not imported; correct the CSV.',
    );
  });

  it('reports an unreadable CSV in words', async () => {
    const bad = join(d, 'bad.csv');
    await writeFile(bad, 'file,label\n"a.jpg,benign\n');
    await expect(previewCsv(bad)).rejects.toThrow(
      'The CSV file "bad.csv" could not be read: a quotation mark opened at line 2 is never closed. Open it in a spreadsheet program and save it again as CSV, or correct that line.',
    );
    const quote = join(d, 'quote.csv');
    await writeFile(quote, 'file,label\na.jpg,be"nign\n');
    await expect(previewCsv(quote)).rejects.toThrow(/^The CSV file "quote.csv" could not be read: a quotation mark stands in the middle of a value at line 2\./);
    // an image chosen as the CSV of labels
    const picture = await writeJpeg(join(d, 'photo.jpg'), { seed: 3 });
    await expect(previewCsv(picture)).rejects.toThrow('"photo.jpg" is not a CSV file of labels: it holds binary data');
    await expect(previewCsv(join(d, 'none.csv'))).rejects.toThrow(/cannot be opened: it does not exist/);
  });
});

describe('detectCsvFormat', () => {
  it('treats a single 0/1 column as a label column, not one-hot', () => {
    expect(detectCsvFormat(['file', 'malignant'], [['a.jpg', '1'], ['b.jpg', '0']])).toEqual({
      format: 'columns',
      suggested: { format: 'columns', fileColumn: 'file', labelColumn: 'malignant' },
    });
  });

  it('takes a column named "label" over 0/1 flag columns beside it', () => {
    const rows = [['a.jpg', 'benign', '0', '1'], ['b.jpg', 'malignant', '1', '1']];
    expect(detectCsvFormat(['filename', 'label', 'flipped', 'reviewed'], rows)).toEqual({
      format: 'columns',
      suggested: { format: 'columns', fileColumn: 'filename', labelColumn: 'label' },
    });
  });

  it('reads one-hot columns with a blank cell, and with decimal commas', () => {
    const blank = detectCsvFormat(['image', 'MEL', 'NV', 'UNK'], [['i0', '1.0', '0.0', '0.0'], ['i1', '', '1.0', '0.0'], ['i2', '0.0', '1.0', '0.0']]);
    expect(blank.suggested).toEqual({ format: 'one-hot', fileColumn: 'image', labelColumns: ['MEL', 'NV', 'UNK'] });
    const comma = detectCsvFormat(['image', 'MEL', 'NV'], [['i0', '1,0', '0,0'], ['i1', '0,0', '1,0']]);
    expect(comma.suggested).toEqual({ format: 'one-hot', fileColumn: 'image', labelColumns: ['MEL', 'NV'] });
  });
});
