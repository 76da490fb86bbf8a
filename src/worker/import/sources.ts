/**
 * Import sources: turn what the person pointed at (a folder of class folders, or a folder of
 * images plus a CSV of labels) into candidate entries `{ file, relPath, label, group }` and
 * plain-language "source problems" (files that cannot become training images, CSV rows that do
 * not match a file, ...). Nothing here opens an image: that is probe.ts's job.
 *
 * Order is deterministic: names are sorted by UTF-16 code unit (not by locale, so the order does
 * not change with the user's language settings), folders are walked depth first.
 *
 * Paths and labels are compared in Unicode NFC form: macOS stores names decomposed (NFD) while
 * a CSV typed on Windows is composed (NFC), and "Naevus" with a decomposed accent must still find
 * its file.
 */
import { createReadStream } from 'node:fs';
import { open, opendir, stat } from 'node:fs/promises';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { parse } from 'csv-parse';
import { AppError } from '../../shared/errors';
import type { CandidateEntry, SourceProblemKind, SourceProblem, CsvMapping, GroupCsv, SourceSpec, CsvPreview, ScanSummary } from '../../shared/import-types';
export type { CandidateEntry, SourceProblemKind, SourceProblem, CsvMapping, GroupCsv, SourceSpec, CsvPreview, ScanSummary };

// ---------------------------------------------------------------------------------------------
// Public types (the shared ones live in src/shared/import-types.ts: they cross to main)

export type SourceItem =
  | { type: 'entry'; entry: CandidateEntry }
  | { type: 'problem'; problem: SourceProblem };

/** Extensions the import accepts, lower case with the dot. Matched case-insensitively. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.bmp',
  '.tif',
  '.tiff',
  '.webp',
]);

// ---------------------------------------------------------------------------------------------
// Small helpers

/** OS litter: never shown, never reported. Compared in lower case. */
const OS_LITTER: ReadonlySet<string> = new Set([
  'thumbs.db',
  'ehthumbs.db',
  'desktop.ini',
  '__macosx',
  '$recycle.bin',
  'system volume information',
]);

/** Hidden entries (dot files, macOS `._x` resource forks) and OS litter are skipped silently. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || OS_LITTER.has(name.toLowerCase());
}

export function isImageFileName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

/** Code-unit order: deterministic and independent of the user's locale. */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const nfc = (s: string) => s.normalize('NFC');
const toPosix = (p: string) => (sep === '/' ? p : p.split(sep).join('/'));
const SUPPORTED_LIST = [...IMAGE_EXTENSIONS].join(', ');

function notImageProblem(file: string, relPath: string): SourceProblem {
  const ext = extname(file);
  return {
    kind: 'not-an-image-extension',
    file,
    relPath,
    message: ext
      ? `"${relPath}" is not an image (its extension is ${ext}). Images must end in ${SUPPORTED_LIST}.`
      : `"${relPath}" is not an image (it has no extension). Images must end in ${SUPPORTED_LIST}.`,
  };
}

interface WalkItem {
  type: 'file' | 'problem';
  file: string;
  /** Relative to the walk's root, `/`-separated, NFC. */
  relPath: string;
  problem?: SourceProblem;
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('The import was cancelled.', 'AbortError');
}

/**
 * Depth-first walk yielding files (not folders) in sorted order. Holds one folder's names at a
 * time per level (needed to sort them), never the whole tree. Symbolic links to files are
 * followed; links to folders are reported and not followed (they can loop).
 */
async function* walkFiles(root: string, dir: string, signal?: AbortSignal): AsyncGenerator<WalkItem> {
  checkAborted(signal);
  const files: string[] = [];
  const dirs: string[] = [];
  let handle;
  try {
    handle = await opendir(dir);
  } catch (err) {
    const rel = toPosix(nfc(relative(root, dir))) || '.';
    yield {
      type: 'problem',
      file: dir,
      relPath: rel,
      problem: {
        kind: 'unreadable-folder',
        file: dir,
        relPath: rel,
        message: `The folder "${rel}" could not be opened (${describeFsError(err)}), so its files were not imported.`,
      },
    };
    return;
  }
  // `for await` closes the Dir handle when the loop ends, also on error.
  for await (const d of handle) {
    if (isIgnoredName(d.name)) continue;
    if (d.isDirectory()) dirs.push(d.name);
    else if (d.isFile()) files.push(d.name);
    else if (d.isSymbolicLink()) {
      const full = join(dir, d.name);
      const s = await stat(full).catch(() => null);
      if (s?.isFile()) files.push(d.name);
      else if (s?.isDirectory()) {
        const rel = toPosix(nfc(relative(root, full)));
        yield {
          type: 'problem',
          file: full,
          relPath: rel,
          problem: {
            kind: 'linked-folder',
            file: full,
            relPath: rel,
            message: `"${rel}" is a link to another folder; linked folders are not followed. Copy the images into the folder instead.`,
          },
        };
      }
    }
  }
  files.sort(byCodeUnit);
  dirs.sort(byCodeUnit);
  for (const name of files) {
    const full = join(dir, name);
    yield { type: 'file', file: full, relPath: toPosix(nfc(relative(root, full))) };
  }
  for (const name of dirs) yield* walkFiles(root, join(dir, name), signal);
}

export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'it does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'it is not a folder';
    case 'EISDIR':
      return 'it is a folder, not a file';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many files are open';
    case 'EIO':
      return 'the disk reported a read error';
    default:
      return code ? `error ${code}` : String((err as Error)?.message ?? err);
  }
}

async function assertFolder(path: string, what: string): Promise<void> {
  const s = await stat(path).catch((err: unknown) => {
    throw new AppError('not-found', `The ${what} "${path}" cannot be opened: ${describeFsError(err)}.`, { cause: err });
  });
  if (!s.isDirectory()) throw new AppError('validation', `The ${what} "${path}" is a file, not a folder.`);
}

// ---------------------------------------------------------------------------------------------
// ImageFolder

async function* enumerateFolder(rootIn: string, signal?: AbortSignal): AsyncGenerator<SourceItem> {
  const root = resolve(rootIn);
  await assertFolder(root, 'image folder');
  /** Images seen per class folder so far, to report empty class folders. */
  let currentClass: string | null = null;
  let currentCount = 0;
  const flushEmpty = (): SourceItem | null =>
    currentClass !== null && currentCount === 0
      ? {
          type: 'problem',
          problem: {
            kind: 'empty-class-folder',
            file: join(root, currentClass),
            relPath: currentClass,
            message: `The class folder "${currentClass}" holds no images.`,
          },
        }
      : null;

  // A class folder whose files are all non-images is reported when the walk leaves it; one with
  // no files at all never shows up in the walk and is found by the listing after it.
  for await (const item of walkFiles(root, root, signal)) {
    if (item.type === 'problem') {
      yield { type: 'problem', problem: item.problem! };
      continue;
    }
    const slash = item.relPath.indexOf('/');
    if (slash < 0) {
      yield {
        type: 'problem',
        problem: {
          kind: 'not-in-class-folder',
          file: item.file,
          relPath: item.relPath,
          message: `"${item.relPath}" is not inside a class folder, so its class is unknown. Move it into a folder named after its class, or leave it out.`,
        },
      };
      continue;
    }
    const label = item.relPath.slice(0, slash);
    if (label !== currentClass) {
      const empty = flushEmpty();
      if (empty) yield empty;
      currentClass = label;
      currentCount = 0;
    }
    if (!isImageFileName(item.file)) {
      yield { type: 'problem', problem: notImageProblem(item.file, item.relPath) };
      continue;
    }
    currentCount++;
    yield { type: 'entry', entry: { file: item.file, relPath: item.relPath, label, group: null } };
  }
  const last = flushEmpty();
  if (last) yield last;

  // Class folders holding no files at all were never seen by the walk above.
  const dir = await opendir(root);
  const emptyDirs: string[] = [];
  for await (const d of dir) {
    if (!d.isDirectory() || isIgnoredName(d.name)) continue;
    const sub = await opendir(join(root, d.name)).catch(() => null);
    if (!sub) continue;
    let any = false;
    for await (const e of sub) {
      if (!isIgnoredName(e.name)) {
        any = true;
        break; // breaking out of for-await closes the Dir handle
      }
    }
    if (!any) emptyDirs.push(nfc(d.name));
  }
  for (const name of emptyDirs.sort(byCodeUnit)) {
    yield {
      type: 'problem',
      problem: {
        kind: 'empty-class-folder',
        file: join(root, name),
        relPath: name,
        message: `The class folder "${name}" holds no images.`,
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

type Delimiter = ',' | ';' | '\t';

/** Reads the first line (up to 64 KiB) and picks the separator that occurs most often in it. */
async function detectDelimiter(file: string): Promise<Delimiter> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const line = text.split(/\r?\n/, 1)[0] ?? '';
    let best: Delimiter = ',';
    let bestCount = 0;
    for (const d of [',', ';', '\t'] as const) {
      const n = line.split(d).length - 1;
      if (n > bestCount) {
        best = d;
        bestCount = n;
      }
    }
    return best;
  } finally {
    await fh.close();
  }
}

/** Whether the first 8 KiB of a file hold a NUL byte: no text file of labels does (images, .xlsx and .zip do). */
async function looksBinary(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(8192);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).includes(0);
  } finally {
    await fh.close();
  }
}

/** The CSV parser's error (csv-parse's codes) as a sentence for a person, with where and what to do. */
export function csvErrorSentence(name: string, err: Error & { code?: string; lines?: number }): string {
  const at = err.lines ? ` at line ${err.lines.toLocaleString('en')}` : '';
  const fix = 'Open it in a spreadsheet program and save it again as CSV, or correct that line.';
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `The CSV file "${name}" could not be read: a quotation mark opened${at} is never closed. ${fix}`;
    case 'CSV_INVALID_OPENING_QUOTE':
    case 'INVALID_OPENING_QUOTE':
      return `The CSV file "${name}" could not be read: a quotation mark stands in the middle of a value${at}. ${fix}`;
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return `The CSV file "${name}" could not be read: text follows a closing quotation mark${at}. ${fix}`;
    default:
      return `The CSV file "${name}" could not be read${at}: ${err.message}`;
  }
}

/**
 * Streams a CSV's records as string arrays, header first. `limit` stops after that many data
 * rows (the stream is destroyed, so the file handle is released).
 */
async function* csvRecords(file: string, limit = Infinity): AsyncGenerator<{ line: number; cells: string[] }> {
  const s = await stat(file).catch((err: unknown) => {
    throw new AppError('not-found', `The CSV file "${file}" cannot be opened: ${describeFsError(err)}.`, { cause: err });
  });
  if (!s.isFile()) throw new AppError('validation', `"${file}" is a folder, not a CSV file.`);
  if (await looksBinary(file)) {
    throw new AppError('validation', `"${basename(file)}" is not a CSV file of labels: it holds binary data (an image, a spreadsheet or an archive?). Choose the .csv file, or save the spreadsheet as CSV.`);
  }
  const delimiter = await detectDelimiter(file);
  const stream = createReadStream(file);
  const parser = stream.pipe(
    parse({
      bom: true, // Excel writes a UTF-8 byte order mark
      delimiter,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true, // short rows are reported per row, not fatal for the file
      info: true,
    }),
  );
  let rows = 0;
  try {
    for await (const rec of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield { line: rec.info.lines, cells: rec.record };
      if (rows++ >= limit) break; // header + `limit` data rows
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('validation', csvErrorSentence(basename(file), err as Error & { code?: string; lines?: number }), { cause: err });
  } finally {
    parser.destroy();
    stream.destroy();
  }
}

/** A one-hot cell: 0 or 1, also written 1.0 or (a decimal comma, as European spreadsheets save) 1,0. */
const ONE_HOT_VALUE = /^[01]([.,]0*)?$/;
const FILE_HINT = /^(image|image_?id|img|file|file_?name|filename|path|name|id)$/i;
const FILE_HINT_LOOSE = /image|file|path|name|id/i;
const LABEL_HINT = /^(label|class|diagnosis|dx|target|category|y)$/i;
const LABEL_HINT_LOOSE = /label|class|diagnos|dx|target|categ/i;
const GROUP_HINT = /lesion|patient|subject|group/i;

function pick(columns: string[], exact: RegExp, loose: RegExp, exclude: Set<string>): string | undefined {
  return columns.find((c) => !exclude.has(c) && exact.test(c)) ?? columns.find((c) => !exclude.has(c) && loose.test(c));
}

/**
 * Detects the ISIC one-hot format: an id column plus at least two columns whose every sampled
 * value is 0 or 1 (also `1.0` / `0.0`, or `1,0`), or blank (a cell Excel left empty, read as 0).
 * Other text columns are allowed and offered as groups. A column named exactly as a label column
 * (label, class, diagnosis...) whose values are not 0/1 wins over any 0/1 columns: with
 * `filename,label,flipped,reviewed`, "label" holds the classes, not the two flags.
 */
export function detectCsvFormat(columns: string[], rows: string[][]): { format: 'one-hot' | 'columns'; suggested: CsvMapping } {
  const fileColumn = pick(columns, FILE_HINT, FILE_HINT_LOOSE, new Set()) ?? columns[0] ?? '';
  const binaryAt = (i: number) => rows.some((r) => (r[i] ?? '') !== '') && rows.every((r) => (r[i] ?? '') === '' || ONE_HOT_VALUE.test(r[i] ?? ''));
  const binary = columns.filter((c, i) => c !== fileColumn && rows.length > 0 && binaryAt(i));
  const namedLabel = columns.findIndex((c) => c !== fileColumn && LABEL_HINT.test(c));
  if (binary.length >= 2 && !(namedLabel >= 0 && !binaryAt(namedLabel))) {
    const groupColumn = pick(
      columns.filter((c) => c !== fileColumn && !binary.includes(c)),
      GROUP_HINT,
      GROUP_HINT,
      new Set(),
    );
    return {
      format: 'one-hot',
      suggested: { format: 'one-hot', fileColumn, labelColumns: binary, ...(groupColumn ? { groupColumn } : {}) },
    };
  }
  const used = new Set([fileColumn]);
  const labelColumn = pick(columns, LABEL_HINT, LABEL_HINT_LOOSE, used) ?? columns.find((c) => c !== fileColumn) ?? '';
  used.add(labelColumn);
  const groupColumn = pick(columns, GROUP_HINT, GROUP_HINT, used);
  return {
    format: 'columns',
    suggested: { format: 'columns', fileColumn, labelColumn, ...(groupColumn ? { groupColumn } : {}) },
  };
}

/**
 * The first `n` data rows of a CSV, its columns, and a suggested mapping, for the wizard's
 * column mapper. Detection looks at up to 200 rows (or `n`, if larger) so that one odd row at
 * the top does not decide the format.
 */
export async function previewCsv(file: string, n = 10): Promise<CsvPreview> {
  const sample = Math.max(n, 200);
  let columns: string[] | null = null;
  const rows: string[][] = [];
  for await (const { cells } of csvRecords(file, sample)) {
    if (!columns) columns = cells;
    else rows.push(columns.map((_, i) => cells[i] ?? ''));
  }
  if (!columns || columns.length === 0) {
    throw new AppError('validation', `The CSV file "${basename(file)}" is empty: it has no header line.`);
  }
  const { format, suggested } = detectCsvFormat(columns, rows);
  return { columns, rows: rows.slice(0, n), delimiter: await detectDelimiter(file), detectedFormat: format, suggested };
}

function listColumns(columns: string[]): string {
  const shown = columns.slice(0, 15).join(', ');
  return columns.length > 15 ? `${shown}, and ${columns.length - 15} more` : shown;
}

/** Index of `name` in the header, or an error sentence naming the columns that do exist. */
function columnIndex(columns: string[], name: string, field: string, csvName: string): number {
  const i = columns.indexOf(name);
  if (i < 0) {
    throw new AppError(
      'validation',
      `The CSV "${csvName}" has no column named "${name}". Its columns are: ${listColumns(columns)}.`,
      { field },
    );
  }
  return i;
}

/** Every image under `imagesDir`, findable by relative path, by file name, or by name without extension. */
interface FolderIndex {
  byRel: Map<string, string>; // relPath -> absolute
  byName: Map<string, string[]>; // file name -> relPaths
  byStem: Map<string, string[]>; // name without extension -> relPaths
}

function addTo(map: Map<string, string[]>, key: string, value: string) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

type Resolved = { ok: true; relPath: string; file: string } | { ok: false; candidates: string[] };

function resolveRef(index: FolderIndex, refIn: string): Resolved {
  // Accept `a\b.jpg` from Windows-made CSVs and a leading `./`.
  const ref = nfc(refIn.replace(/\\/g, '/').replace(/^\.\//, ''));
  const exact = index.byRel.get(ref);
  if (exact) return { ok: true, relPath: ref, file: exact };
  const name = ref.includes('/') ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
  const list = index.byName.get(name) ?? (extname(name) && isImageFileName(name) ? undefined : index.byStem.get(name));
  if (!list || list.length === 0) return { ok: false, candidates: [] };
  if (list.length > 1) return { ok: false, candidates: list };
  return { ok: true, relPath: list[0]!, file: index.byRel.get(list[0]!)! };
}

async function readGroupCsv(spec: GroupCsv): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  let idIdx = -1;
  let groupIdx = -1;
  const name = basename(spec.file);
  for await (const { cells } of csvRecords(spec.file)) {
    if (idIdx < 0) {
      idIdx = columnIndex(cells, spec.idColumn, 'groupCsv.idColumn', name);
      groupIdx = columnIndex(cells, spec.groupColumn, 'groupCsv.groupColumn', name);
      continue;
    }
    const id = nfc(cells[idIdx] ?? '');
    const group = cells[groupIdx] ?? '';
    if (id && group) map.set(id, group);
  }
  return map;
}

function stemOf(relPath: string): string {
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  const ext = extname(name);
  return ext ? name.slice(0, -ext.length) : name;
}

async function* enumerateCsv(
  spec: Extract<SourceSpec, { kind: 'csv' }>,
  signal?: AbortSignal,
): AsyncGenerator<SourceItem> {
  const imagesDir = resolve(spec.imagesDir);
  const csvFile = resolve(spec.csvFile);
  const csvName = basename(csvFile);
  await assertFolder(imagesDir, 'images folder');
  const mapping = spec.mapping ?? (await previewCsv(csvFile, 0)).suggested;

  // 1. Index the folder. The whole listing is held here (a CSV names files in any order, and
  //    files without a row can only be known at the end): ~100 bytes per file, 3 MB for ISIC.
  const index: FolderIndex = { byRel: new Map(), byName: new Map(), byStem: new Map() };
  const problems: SourceItem[] = [];
  for await (const item of walkFiles(imagesDir, imagesDir, signal)) {
    if (item.type === 'problem') {
      problems.push({ type: 'problem', problem: item.problem! });
      continue;
    }
    if (item.file === csvFile || (spec.groupCsv && item.file === resolve(spec.groupCsv.file))) continue;
    if (!isImageFileName(item.file)) {
      problems.push({ type: 'problem', problem: notImageProblem(item.file, item.relPath) });
      continue;
    }
    index.byRel.set(item.relPath, item.file);
    addTo(index.byName, item.relPath.slice(item.relPath.lastIndexOf('/') + 1), item.relPath);
    addTo(index.byStem, stemOf(item.relPath), item.relPath);
  }

  const groups = spec.groupCsv ? await readGroupCsv(spec.groupCsv) : null;

  // 2. Read the rows. Entries are held until the end because a later row may contradict an
  //    earlier one for the same file, and the brief is "reported, never guessed".
  const entries = new Map<string, CandidateEntry & { row: number }>();
  const contradicted = new Set<string>();
  /** Files some row names, even a row that was rejected. */
  const mentioned = new Set<string>();
  let fileIdx = -1;
  let labelIdx = -1;
  let groupIdx = -1;
  let labelIdxs: number[] = [];
  let header: string[] | null = null;
  const rowProblem = (kind: SourceProblemKind, row: number, message: string, file?: string, relPath?: string) =>
    problems.push({ type: 'problem', problem: { kind, row, message, ...(file ? { file, relPath } : {}) } });

  for await (const { line, cells } of csvRecords(csvFile)) {
    checkAborted(signal);
    if (!header) {
      header = cells;
      fileIdx = columnIndex(header, mapping.fileColumn, 'fileColumn', csvName);
      if (mapping.format === 'columns') labelIdx = columnIndex(header, mapping.labelColumn, 'labelColumn', csvName);
      else {
        if (mapping.labelColumns.length === 0) {
          throw new AppError('validation', 'Choose at least one class column for the one-hot CSV.', { field: 'labelColumns' });
        }
        labelIdxs = mapping.labelColumns.map((c) => columnIndex(header!, c, 'labelColumns', csvName));
      }
      if (mapping.groupColumn) groupIdx = columnIndex(header, mapping.groupColumn, 'groupColumn', csvName);
      continue;
    }
    const ref = cells[fileIdx] ?? '';
    const rowName = ref ? `Row ${line} ("${ref}")` : `Row ${line}`;
    if (!ref) {
      rowProblem('no-file-name', line, `Row ${line} of ${csvName} has no file name in the "${mapping.fileColumn}" column.`);
      continue;
    }

    // The file first: a row with a bad label still "names" its file (no 'no-row' report for it).
    const found = resolveRef(index, ref);
    if (!found.ok) {
      if (found.candidates.length > 1) {
        rowProblem(
          'ambiguous-file',
          line,
          `${rowName} matches ${found.candidates.length} files in the images folder (${found.candidates.slice(0, 3).join(', ')}); write the path to the one you mean.`,
        );
      } else {
        rowProblem('missing-file', line, `${rowName}: no such image in the images folder "${imagesDir}".`);
      }
      continue;
    }

    mentioned.add(found.relPath);
    const fileArgs = [found.file, found.relPath] as const;

    let label: string;
    if (mapping.format === 'columns') {
      label = nfc(cells[labelIdx] ?? '');
      if (!label) {
        rowProblem('no-label', line, `${rowName} has no class in the "${mapping.labelColumn}" column. It was not imported.`, ...fileArgs);
        continue;
      }
    } else {
      const marked: string[] = [];
      const bad: string[] = [];
      labelIdxs.forEach((ci, k) => {
        const v = cells[ci] ?? '';
        if (v === '') return; // a blank cell is 0 (a spreadsheet's empty cell); a row with no 1 at all is reported below
        if (!ONE_HOT_VALUE.test(v)) bad.push(`${mapping.labelColumns[k]}="${v}"`);
        else if (v.startsWith('1')) marked.push(mapping.labelColumns[k]!);
      });
      if (bad.length > 0) {
        rowProblem('invalid-value', line, `${rowName} has values that are not 0 or 1: ${bad.join(', ')}. It was not imported.`, ...fileArgs);
        continue;
      }
      if (marked.length === 0) {
        rowProblem('no-label', line, `${rowName} has no class marked 1, so its class is unknown. It was not imported.`, ...fileArgs);
        continue;
      }
      if (marked.length > 1) {
        rowProblem(
          'several-labels',
          line,
          `${rowName} is marked as ${marked.join(' and ')} at once; one image needs exactly one class. It was not imported.`,
          ...fileArgs,
        );
        continue;
      }
      label = marked[0]!;
    }

    const group =
      groupIdx >= 0
        ? cells[groupIdx] || null
        : groups
          ? (groups.get(nfc(ref)) ?? groups.get(stemOf(found.relPath)) ?? null)
          : null;

    const prev = entries.get(found.relPath);
    if (prev || contradicted.has(found.relPath)) {
      if (prev && prev.label === label) {
        rowProblem(
          'duplicate-row',
          line,
          `${rowName} repeats row ${prev.row} for the same file "${found.relPath}"; the image is imported once.`,
          found.file,
          found.relPath,
        );
      } else {
        rowProblem(
          'contradictory-rows',
          line,
          `${rowName} gives "${found.relPath}" the class ${label}, but ${prev ? `row ${prev.row} says ${prev.label}` : 'an earlier row says otherwise'}. The image was not imported; correct the CSV.`,
          found.file,
          found.relPath,
        );
        entries.delete(found.relPath);
        contradicted.add(found.relPath);
      }
      continue;
    }
    entries.set(found.relPath, { file: found.file, relPath: found.relPath, label, group, row: line });
  }
  if (!header) throw new AppError('validation', `The CSV file "${csvName}" is empty: it has no header line.`);

  // 3. Files no row mentions.
  for (const [relPath, file] of [...index.byRel].sort((a, b) => byCodeUnit(a[0], b[0]))) {
    if (!mentioned.has(relPath)) {
      problems.push({
        type: 'problem',
        problem: {
          kind: 'no-row',
          file,
          relPath,
          message: `"${relPath}" is in the images folder but no row of ${csvName} names it, so its class is unknown.`,
        },
      });
    }
  }
  // Problems referring to CSV rows are already in row order (folder problems first).
  yield* problems;
  for (const e of [...entries.values()].sort((a, b) => byCodeUnit(a.relPath, b.relPath))) {
    yield { type: 'entry', entry: { file: e.file, relPath: e.relPath, label: e.label, group: e.group } };
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * Streams a source's candidate entries and problems in a deterministic order. Throws AppError
 * (kind `not-found` / `validation`) with a sentence for the person when the source itself is
 * unusable (folder missing, CSV lacks a named column); per-file trouble is a `problem` item.
 */
export function enumerateSource(spec: SourceSpec, options: { signal?: AbortSignal } = {}): AsyncGenerator<SourceItem> {
  return spec.kind === 'folder' ? enumerateFolder(spec.root, options.signal) : enumerateCsv(spec, options.signal);
}

/** The wizard's pre-scan: classes and counts, total, and problems, without opening any image. */
export async function scanSource(spec: SourceSpec, options: { signal?: AbortSignal } = {}): Promise<ScanSummary> {
  const counts = new Map<string, number>();
  const problems: SourceProblem[] = [];
  let total = 0;
  for await (const item of enumerateSource(spec, options)) {
    if (item.type === 'problem') problems.push(item.problem);
    else {
      total++;
      const label = item.entry.label ?? '';
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
  }
  const classes = [...counts].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || byCodeUnit(a.name, b.name));
  return { classes, total, problems };
}
