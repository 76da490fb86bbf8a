/**
 * The import job, main side. The worker enumerates and probes files (sharp, hashing, cache and
 * thumbnail writing) and streams batches; main stages each batch in one transaction, and at the
 * end decides every file's outcome over the whole run and the images already stored, in one
 * transaction. A cancelled or killed import leaves staged rows only; running the same import
 * again resumes from them.
 */
import { basename, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { plural } from '../../shared/words';
import { formatBytes, type ImportDisk } from '../../shared/disk';
import { AppError } from '../../shared/errors';
import { splitNearCopies, type ImportBatch, type ImportSummary, type RejectKind, type SourceProblem, type SourceSpec } from '../../shared/import-types';
import { classify, type ClassifyInput } from '../../shared/import-classify';
import { nearCopyMessage, nearCopyReports, nearDuplicatePairs } from '../../shared/phash';
import { assignSplits, DEFAULT_SPLIT, DEFAULT_SPLIT_SEED, type SplitName, type SplitRatios } from '../../shared/splits';
import type { Project } from '../store/project';
import { freeBytes, IMPORT_BYTES_PER_IMAGE, shortOfRoom } from '../disk';
import type { JobContext, JobSpec } from './jobs';

export const CACHE_DIR = join('cache', 'train');
export const THUMB_DIR = join('cache', 'thumbs');
export const CACHE_SIZE = 128; // px, side of the square training copy
const LIST_LIMIT_IN_JOB_RESULT = 100; // entries per list kept in the job row; the full lists are in import_files

/** Absolute paths, stable key order: the same source always gives the same key. */
export function normaliseSource(spec: SourceSpec): SourceSpec {
  if (spec.kind === 'folder') return { kind: 'folder', root: resolve(spec.root) };
  return {
    kind: 'csv',
    imagesDir: resolve(spec.imagesDir),
    csvFile: resolve(spec.csvFile),
    ...(spec.mapping ? { mapping: spec.mapping } : {}),
    ...(spec.groupCsv ? { groupCsv: { ...spec.groupCsv, file: resolve(spec.groupCsv.file) } } : {}),
  };
}

function sourceKey(spec: SourceSpec): string {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sortKeys(x)])) : v;
  return JSON.stringify(sortKeys(spec));
}

export function sourceTitle(spec: SourceSpec): string {
  return spec.kind === 'folder' ? `Import images from "${basename(spec.root)}"` : `Import images listed in "${basename(spec.csvFile)}"`;
}

interface StagedRow {
  id: number;
  seq: number;
  file: string;
  rel_path: string;
  label: string | null;
  group_id: string | null;
  probe_status: 'ok' | 'rejected' | 'skipped';
  reason_kind: string | null;
  reason: string | null;
  sha256: string | null;
  phash: string | null;
  format: string | null;
  width: number | null;
  height: number | null;
  channels: number | null;
  bit_depth: number | null;
  colour_space: string | null;
  cache_file: string | null;
  cache_sha256: string | null;
  thumb_file: string | null;
}

function startOrResume(db: Database.Database, spec: SourceSpec, jobId: string): { importId: number; resumed: number } {
  const key = sourceKey(spec);
  const open = db.prepare(`SELECT id FROM imports WHERE source_key = ? AND status = 'running' ORDER BY id DESC LIMIT 1`).get(key) as { id: number } | undefined;
  if (open) {
    db.prepare('UPDATE imports SET job_id = ? WHERE id = ?').run(jobId, open.id);
    const n = (db.prepare('SELECT COUNT(*) AS n FROM import_files WHERE import_id = ?').get(open.id) as { n: number }).n;
    return { importId: open.id, resumed: n };
  }
  const r = db
    .prepare(`INSERT INTO imports (job_id, source, source_key, status, started_at) VALUES (?, ?, ?, 'running', ?)`)
    .run(jobId, JSON.stringify(spec), key, new Date().toISOString());
  return { importId: Number(r.lastInsertRowid), resumed: 0 };
}

/** Writes one batch from the worker in one transaction. */
function stageBatch(project: Project, importId: number, batch: ImportBatch): void {
  const db = project.db;
  const insertFile = db.prepare(
    `INSERT OR IGNORE INTO import_files
       (import_id, seq, file, rel_path, label, group_id, probe_status, reason_kind, reason, sha256, bytes, phash,
        format, width, height, channels, bit_depth, colour_space, cache_file, cache_sha256, thumb_file)
     VALUES (@importId, @seq, @file, @relPath, @label, @group, @status, @reasonKind, @reason, @sha256, @bytes, @phash,
        @format, @width, @height, @channels, @bitDepth, @colourSpace, @cacheFile, @cacheSha256, @thumbFile)`,
  );
  const insertProblem = db.prepare('INSERT INTO import_problems (import_id, kind, message, file, rel_path, row) VALUES (?, ?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const r of batch.records) {
      if (r.status === 'skipped' && r.skippedBy === 'path') continue; // staged by an earlier run
      const base = {
        importId,
        seq: r.seq,
        file: r.file,
        relPath: r.relPath,
        label: r.label,
        group: r.group,
        reasonKind: null as string | null,
        reason: null as string | null,
        sha256: null as string | null,
        bytes: null as number | null,
        phash: null as string | null,
        format: null as string | null,
        width: null as number | null,
        height: null as number | null,
        channels: null as number | null,
        bitDepth: null as number | null,
        colourSpace: null as string | null,
        cacheFile: null as string | null,
        cacheSha256: null as string | null,
        thumbFile: null as string | null,
      };
      if (r.status === 'ok') {
        insertFile.run({
          ...base,
          status: 'ok',
          sha256: r.sha256,
          bytes: r.bytes,
          phash: r.phash,
          format: r.info.format,
          width: r.info.width,
          height: r.info.height,
          channels: r.info.channels,
          bitDepth: r.info.bitDepth,
          colourSpace: r.info.colourSpace,
          cacheFile: project.relative(r.cacheFile),
          cacheSha256: r.cacheSha256,
          thumbFile: project.relative(r.thumbFile),
        });
      } else if (r.status === 'rejected') {
        insertFile.run({ ...base, status: 'rejected', reasonKind: r.reason.kind, reason: r.reason.message, sha256: r.sha256 ?? null, bytes: r.bytes ?? null });
      } else {
        insertFile.run({ ...base, status: 'skipped', sha256: r.sha256, bytes: r.bytes });
      }
    }
    for (const p of batch.problems) insertProblem.run(importId, p.kind, p.message, p.file ?? null, p.relPath ?? null, p.row ?? null);
  })();
}

type Classifiable = ClassifyInput & { row: StagedRow };

/** Decides outcomes over the whole run and the stored images, creates classes and images, re-splits. One transaction. */
function finish(project: Project, importId: number, resumed: number): ImportSummary {
  const db = project.db;
  const rows = db.prepare('SELECT * FROM import_files WHERE import_id = ? ORDER BY seq').all(importId) as StagedRow[];
  const existing = db
    .prepare(
      `SELECT i.sha256, c.name AS label, i.source_path AS file, i.status = 'excluded' AS excluded
       FROM images i JOIN classes c ON c.id = i.class_id WHERE i.import_id IS NOT ? OR i.import_id IS NULL`,
    )
    .all(importId)
    .map((r) => ({ ...(r as { sha256: string; label: string; file: string }), excluded: (r as { excluded: number }).excluded === 1 }));
  const inputs: Classifiable[] = rows.map((row) => ({
    status: row.probe_status === 'rejected' ? 'rejected' : 'ok',
    relPath: row.rel_path,
    file: row.file,
    label: row.label,
    ...(row.sha256 ? { sha256: row.sha256 } : {}),
    order: row.seq,
    row,
  }));
  const result = classify(inputs, existing);
  // a skipped-by-hash file has no cache copy of its own; its content is stored already under the
  // same label (duplicate) or another one (conflict, marked on the stored image)
  const now = new Date().toISOString();
  const summary: ImportSummary = { importId, imported: 0, classes: {}, rejected: [], duplicates: [], conflicts: [], problems: [], resumed };

  db.transaction(() => {
    const classId = new Map<string, number>();
    const getClass = db.prepare('SELECT id FROM classes WHERE name = ?');
    const addClass = db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)');
    const classOf = (name: string): number => {
      let id = classId.get(name);
      if (id === undefined) {
        const row = getClass.get(name) as { id: number } | undefined;
        id = row ? row.id : Number(addClass.run(name, now).lastInsertRowid);
        classId.set(name, id);
      }
      return id;
    };
    const insertImage = db.prepare(
      `INSERT OR IGNORE INTO images (class_id, sha256, source_path, rel_path, width, height, channels, bit_depth, colour_space, format,
         cache_file, cache_sha256, thumb_file, phash, group_id, status, imported_at, import_id)
       VALUES (@classId, @sha256, @file, @relPath, @width, @height, @channels, @bitDepth, @colourSpace, @format,
         @cacheFile, @cacheSha256, @thumbFile, @phash, @group, @status, @now, @importId)`,
    );
    const imageIdOf = db.prepare('SELECT id FROM images WHERE class_id = ? AND sha256 = ?');
    const setOutcome = db.prepare('UPDATE import_files SET outcome = ?, duplicate_of = ?, conflict_labels = ?, image_id = ? WHERE id = ?');
    const markStoredConflict = db.prepare(`UPDATE images SET status = 'conflict' WHERE sha256 = ? AND status = 'ok'`);

    for (const item of result.items) {
      const row = item.entry.row;
      let imageId: number | null = null;
      if ((item.outcome === 'imported' || item.outcome === 'conflict') && row.label !== null && row.sha256 && row.probe_status === 'ok') {
        const cid = classOf(row.label);
        insertImage.run({
          classId: cid,
          sha256: row.sha256,
          file: row.file,
          relPath: row.rel_path,
          width: row.width,
          height: row.height,
          channels: row.channels,
          bitDepth: row.bit_depth,
          colourSpace: row.colour_space,
          format: row.format,
          cacheFile: row.cache_file,
          cacheSha256: row.cache_sha256,
          thumbFile: row.thumb_file,
          phash: row.phash,
          group: row.group_id,
          status: item.outcome === 'imported' ? 'ok' : 'conflict',
          now,
          importId,
        });
        imageId = (imageIdOf.get(cid, row.sha256) as { id: number } | undefined)?.id ?? null;
      }
      setOutcome.run(item.outcome, item.duplicateOf ?? null, item.conflictLabels ? JSON.stringify(item.conflictLabels) : null, imageId, row.id);
      switch (item.outcome) {
        case 'imported':
          summary.imported++;
          summary.classes[row.label ?? '(none)'] = (summary.classes[row.label ?? '(none)'] ?? 0) + 1;
          break;
        case 'rejected':
          summary.rejected.push({ file: row.file, relPath: row.rel_path, kind: (row.reason_kind ?? 'unreadable') as RejectKind, reason: row.reason ?? '' });
          break;
        case 'duplicate':
          summary.duplicates.push({ file: row.file, relPath: row.rel_path, duplicateOf: item.duplicateOf ?? '' });
          break;
        case 'conflict':
          summary.conflicts.push({ file: row.file, relPath: row.rel_path, labels: item.conflictLabels ?? [] });
          break;
      }
    }
    for (const c of result.existingConflicts) markStoredConflict.run(c.sha256);
    reportNearDuplicates(project, importId);
    summary.problems = (
      db.prepare('SELECT kind, message, file, rel_path AS relPath, row FROM import_problems WHERE import_id = ? ORDER BY id').all(importId) as (SourceProblem & {
        file: string | null;
        relPath: string | null;
        row: number | null;
      })[]
    ).map((p) => ({ kind: p.kind, message: p.message, ...(p.file ? { file: p.file } : {}), ...(p.relPath ? { relPath: p.relPath } : {}), ...(p.row ? { row: p.row } : {}) }));
    db.prepare(`UPDATE imports SET status = 'finished', finished_at = ?, summary = ? WHERE id = ?`).run(now, JSON.stringify(summary), importId);
    resplit(project);
  })();
  return summary;
}

/**
 * Near-copies (perceptual hash within a few bits) between this import's new images and every stored
 * one, as informational problems, one per new image that has any (naming all of its look-alikes): a
 * resized or re-saved copy of one patient's picture would otherwise slip into two splits, or under
 * two labels.
 */
function reportNearDuplicates(project: Project, importId: number): void {
  const db = project.db;
  const items = db
    .prepare(
      `SELECT i.id, i.phash, i.import_id AS importId, COALESCE(i.rel_path, i.source_path) AS relPath, i.source_path AS file, c.name AS label
       FROM images i JOIN classes c ON c.id = i.class_id WHERE i.phash IS NOT NULL AND i.status = 'ok'`,
    )
    .all() as { id: number; phash: string; importId: number | null; relPath: string; file: string; label: string }[];
  const isNew = (i: { importId: number | null }) => i.importId === importId;
  const insert = db.prepare(`INSERT INTO import_problems (import_id, kind, message, file, rel_path) VALUES (?, 'near-duplicate', ?, ?, ?)`);
  for (const { image, others } of nearCopyReports(nearDuplicatePairs(items, isNew), isNew)) {
    insert.run(importId, nearCopyMessage(image, others), image.file, image.relPath);
  }
}

export function splitSettings(project: Project): { seed: number; ratios: SplitRatios } {
  const seed = Number(project.meta('split_seed') ?? DEFAULT_SPLIT_SEED);
  let ratios = DEFAULT_SPLIT;
  try {
    const stored = project.meta('split_ratios');
    if (stored) ratios = JSON.parse(stored) as SplitRatios;
  } catch {
    // damaged setting: fall back to the default
  }
  return { seed, ratios };
}

/**
 * Assigns train/val/test over all usable images with the project's seed and ratios. `fresh` (the
 * seed or ratios changed): every image drawn again. Otherwise (an import, a decided label conflict)
 * images keep the split they have and only new ones are placed (assignSplits' `keep`).
 */
export function resplit(project: Project, { fresh = false }: { fresh?: boolean } = {}): void {
  const db = project.db;
  const { seed, ratios } = splitSettings(project);
  const images = db
    .prepare(`SELECT i.id, c.name AS label, i.group_id AS "group" FROM images i JOIN classes c ON c.id = i.class_id WHERE i.status = 'ok'`)
    .all() as { id: number; label: string; group: string | null }[];
  const keep = new Map<number, SplitName>();
  if (!fresh) {
    for (const r of db.prepare('SELECT image_id AS id, split FROM image_splits').all() as { id: number; split: SplitName }[]) keep.set(r.id, r.split);
  }
  const splits = assignSplits(images, ratios, seed, keep);
  const put = db.prepare('INSERT INTO image_splits (image_id, split) VALUES (?, ?)');
  db.transaction(() => {
    db.prepare('DELETE FROM image_splits').run();
    for (const [id, split] of splits) put.run(id, split);
  })();
}

/** Trims the lists so the job row stays small; the full lists are in import_files. */
export function trimSummary(s: ImportSummary): ImportSummary & { truncated: boolean } {
  const cut = <T,>(xs: T[]) => xs.slice(0, LIST_LIMIT_IN_JOB_RESULT);
  const truncated = [s.rejected, s.duplicates, s.conflicts, s.problems].some((l) => l.length > LIST_LIMIT_IN_JOB_RESULT);
  return { ...s, rejected: cut(s.rejected), duplicates: cut(s.duplicates), conflicts: cut(s.conflicts), problems: cut(s.problems), truncated };
}

/** The disk an import of `files` files needs at most (training copies and thumbnails), and what is free. */
export function importDisk(projectDir: string, files: number): ImportDisk {
  return { neededBytes: files * IMPORT_BYTES_PER_IMAGE, freeBytes: freeBytes(projectDir) };
}

/**
 * After each batch the import records: if the disk has less than the headroom left, the import stops
 * (thrown from the task's callback: the worker winds down), resumable, before the disk is full.
 * `filesDone` is counted only then.
 */
function stopIfDiskNearlyFull(projectDir: string, filesDone: () => number): void {
  const free = shortOfRoom(projectDir);
  if (free === null) return;
  throw new AppError(
    'disk-full',
    `The disk holding the project is nearly full (${formatBytes(free)} free), so the import stopped after ${filesDone().toLocaleString('en')} files. ` +
      'Free some space, then import again: it goes on where it stopped.',
  );
}

export interface ImportJobOptions {
  /** Called with the full summary before it is trimmed for the job row (the CLI prints it). */
  onSummary?: (s: ImportSummary) => void;
  /** Called once, when the worker has counted the files this run will read (the CLI says the disk they take). */
  onCounted?: (files: number) => void;
}

export function importSpec(source: SourceSpec, opts: ImportJobOptions = {}): JobSpec {
  const spec = normaliseSource(source);
  return {
    type: 'import',
    title: sourceTitle(spec),
    unit: 'files',
    params: { source: spec },
    async run(ctx: JobContext) {
      const project = ctx.project;
      const { importId, resumed } = startOrResume(project.db, spec, ctx.jobId);
      const stagedFiles = (project.db.prepare('SELECT file FROM import_files WHERE import_id = ?').all(importId) as { file: string }[]).map((r) => r.file);
      const knownShas = (project.db.prepare(`SELECT DISTINCT sha256 FROM images`).all() as { sha256: string }[]).map((r) => r.sha256);
      ctx.progress(0, null, resumed > 0 ? `Resuming: ${resumed} files were already done.` : 'Counting files…');
      let counted = false;
      await ctx.worker.runTask(
        {
          kind: 'import',
          spec,
          cacheDir: join(project.dir, CACHE_DIR),
          thumbDir: join(project.dir, THUMB_DIR),
          cacheSize: CACHE_SIZE,
          skipFiles: stagedFiles,
          knownShas,
        },
        {
          signal: ctx.signal,
          onProgress: (done, total, message) => {
            if (total !== null && !counted) {
              counted = true;
              opts.onCounted?.(total);
            }
            ctx.progress(done, total, message);
          },
          onItem: (batch) => {
            stageBatch(project, importId, batch as ImportBatch);
            stopIfDiskNearlyFull(project.dir, () => (project.db.prepare('SELECT COUNT(*) AS n FROM import_files WHERE import_id = ?').get(importId) as { n: number }).n);
          },
        },
      );
      if (ctx.signal.aborted) throw new AppError('cancelled', 'Import cancelled. Run it again to continue where it stopped.');
      const summary = finish(project, importId, resumed);
      opts.onSummary?.(summary);
      const parts = [`Imported ${plural(summary.imported, 'image', 'images')}`];
      if (summary.duplicates.length) parts.push(plural(summary.duplicates.length, 'duplicate', 'duplicates'));
      if (summary.conflicts.length) parts.push(plural(summary.conflicts.length, 'conflict', 'conflicts'));
      if (summary.rejected.length) parts.push(`${summary.rejected.length.toLocaleString('en')} rejected`);
      const { nearCopies, others } = splitNearCopies(summary.problems);
      if (nearCopies.length) parts.push(`${plural(nearCopies.length, 'image', 'images')} with near-copies to check`);
      if (others.length) parts.push(plural(others.length, 'other problem', 'other problems'));
      const staged = (project.db.prepare('SELECT COUNT(*) AS n FROM import_files WHERE import_id = ?').get(importId) as { n: number }).n;
      ctx.progress(staged, staged, parts.join(', ') + '.');
      return trimSummary(summary);
    },
  };
}
