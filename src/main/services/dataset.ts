/** Read models of the imported dataset: class balance, splits, sample thumbnails, the latest import's report. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { computeBalance, type BalanceTarget } from '../../shared/balance';
import type { BalanceSchema, SplitsSchema } from '../../shared/contract';
import { AppError } from '../../shared/errors';
import type { ImportSummary, OutcomeTotals, RejectKind, SourceProblem } from '../../shared/import-types';
import type { SplitRatios } from '../../shared/splits';
import type { Project } from '../store/project';
import { resplit, splitSettings } from './import';

export type BalanceView = z.infer<typeof BalanceSchema>;
export type SplitsView = z.infer<typeof SplitsSchema>;

export function balanceTarget(project: Project): BalanceTarget {
  try {
    const stored = project.meta('balance_target');
    if (stored) return JSON.parse(stored) as BalanceTarget;
  } catch {
    // damaged setting: fall back to the default
  }
  return { mode: 'max' };
}

export function getBalance(project: Project, target = balanceTarget(project)): BalanceView {
  const classes = project.classes().map((c) => ({ name: c.name, count: c.imageCount }));
  const conflicts = (project.db.prepare(`SELECT COUNT(DISTINCT sha256) AS n FROM images WHERE status = 'conflict'`).get() as { n: number }).n;
  return { ...computeBalance(classes, target), conflicts };
}

export function setBalanceTarget(project: Project, target: BalanceTarget): BalanceView {
  project.setMeta('balance_target', JSON.stringify(target));
  return getBalance(project, target);
}

export function getSplits(project: Project): SplitsView {
  const { seed, ratios } = splitSettings(project);
  const rows = project.db
    .prepare(
      `SELECT c.name AS name,
              SUM(s.split = 'train') AS train, SUM(s.split = 'val') AS val, SUM(s.split = 'test') AS test
       FROM images i JOIN classes c ON c.id = i.class_id JOIN image_splits s ON s.image_id = i.id
       WHERE i.status = 'ok' GROUP BY c.id ORDER BY COUNT(*) DESC, c.name`,
    )
    .all() as { name: string; train: number; val: number; test: number }[];
  const grouped = (project.db.prepare(`SELECT COUNT(*) AS n FROM images WHERE group_id IS NOT NULL AND status = 'ok'`).get() as { n: number }).n > 0;
  return { seed, ratios, grouped, classes: rows };
}

export function setSplits(project: Project, seed: number, ratios: SplitRatios): SplitsView {
  project.db.transaction(() => {
    project.setMeta('split_seed', String(seed));
    project.setMeta('split_ratios', JSON.stringify(ratios));
    resplit(project, { fresh: true });
  })();
  return getSplits(project);
}

/** Up to `limit` thumbnails of a class, spread over the class (every k-th image), as data: URLs. */
export function classSamples(project: Project, className: string, limit: number): { id: number; relPath: string; thumb: string | null }[] {
  const cls = project.db.prepare('SELECT id FROM classes WHERE name = ?').get(className) as { id: number } | undefined;
  if (!cls) throw new AppError('not-found', `There is no class named "${className}" in this project.`);
  const rows = project.db
    .prepare(`SELECT id, COALESCE(rel_path, source_path) AS relPath, thumb_file FROM images WHERE class_id = ? AND status = 'ok' ORDER BY id`)
    .all(cls.id) as { id: number; relPath: string; thumb_file: string | null }[];
  const step = Math.max(1, Math.floor(rows.length / limit));
  const picked = rows.filter((_, i) => i % step === 0).slice(0, limit);
  return picked.map((r) => ({ id: r.id, relPath: r.relPath, thumb: thumbDataUrl(project, r.thumb_file) }));
}

/** An image's thumbnail (relative to the project) as a data: URL; null where it has none or its file is gone. */
export function thumbDataUrl(project: Project, thumbFile: string | null): string | null {
  if (!thumbFile) return null;
  try {
    const mime = thumbFile.endsWith('.webp') ? 'image/webp' : thumbFile.endsWith('.png') ? 'image/png' : 'image/jpeg';
    return `data:${mime};base64,${readFileSync(join(project.dir, thumbFile)).toString('base64')}`;
  } catch {
    return null; // cache file gone: the UI shows a placeholder; "Verify project" reports it
  }
}

/** The latest finished import's report, rebuilt from its rows (lists capped at `limit` each). */
export function latestImport(project: Project, limit: number): ImportSummary | null {
  const imp = project.db.prepare(`SELECT id, summary FROM imports WHERE status = 'finished' ORDER BY id DESC LIMIT 1`).get() as
    | { id: number; summary: string | null }
    | undefined;
  if (!imp) return null;
  const db = project.db;
  const base = imp.summary ? (JSON.parse(imp.summary) as ImportSummary) : null;
  const classes: Record<string, number> = {};
  for (const r of db.prepare(`SELECT label, COUNT(*) AS n FROM import_files WHERE import_id = ? AND outcome = 'imported' GROUP BY label`).all(imp.id) as {
    label: string;
    n: number;
  }[])
    classes[r.label] = r.n;
  const list = <T>(outcome: string, map: (r: Record<string, unknown>) => T): T[] =>
    (db.prepare('SELECT * FROM import_files WHERE import_id = ? AND outcome = ? ORDER BY seq LIMIT ?').all(imp.id, outcome, limit) as Record<string, unknown>[]).map(map);
  return {
    importId: imp.id,
    imported: Object.values(classes).reduce((a, b) => a + b, 0),
    classes,
    rejected: list('rejected', (r) => ({ file: String(r.file), relPath: String(r.rel_path), kind: String(r.reason_kind) as RejectKind, reason: String(r.reason ?? '') })),
    duplicates: list('duplicate', (r) => ({ file: String(r.file), relPath: String(r.rel_path), duplicateOf: String(r.duplicate_of ?? '') })),
    conflicts: list('conflict', (r) => ({ file: String(r.file), relPath: String(r.rel_path), labels: JSON.parse(String(r.conflict_labels ?? '[]')) as string[] })),
    // Near-copies (found last) and the other problems each up to the limit: thousands of CSV rows
    // without a file must not push every near-copy out of the report.
    problems: (
      db
        .prepare(
          `SELECT * FROM (SELECT id, kind, message, file, rel_path AS relPath, row FROM import_problems WHERE import_id = @id AND kind = 'near-duplicate' ORDER BY id LIMIT @limit)
           UNION ALL SELECT * FROM (SELECT id, kind, message, file, rel_path AS relPath, row FROM import_problems WHERE import_id = @id AND kind != 'near-duplicate' ORDER BY id LIMIT @limit)
           ORDER BY id`,
        )
        .all({ id: imp.id, limit }) as {
        kind: SourceProblem['kind'];
        message: string;
        file: string | null;
        relPath: string | null;
        row: number | null;
      }[]
    ).map((p) => ({ kind: p.kind, message: p.message, ...(p.file ? { file: p.file } : {}), ...(p.relPath ? { relPath: p.relPath } : {}), ...(p.row ? { row: p.row } : {}) })),
    resumed: base?.resumed ?? 0,
    totals: importTotals(project, imp.id),
  };
}

/** How many files of an import ended in each outcome (the report's lists stop at its limit). */
function importTotals(project: Project, importId: number): OutcomeTotals {
  const files = Object.fromEntries(
    (project.db.prepare('SELECT outcome, COUNT(*) AS n FROM import_files WHERE import_id = ? GROUP BY outcome').all(importId) as { outcome: string; n: number }[]).map(
      (r) => [r.outcome, r.n],
    ),
  );
  const { near, other } = project.db
    .prepare(`SELECT COALESCE(SUM(kind = 'near-duplicate'), 0) AS near, COALESCE(SUM(kind != 'near-duplicate'), 0) AS other FROM import_problems WHERE import_id = ?`)
    .get(importId) as { near: number; other: number };
  return { rejected: files.rejected ?? 0, duplicates: files.duplicate ?? 0, conflicts: files.conflict ?? 0, nearCopies: near, problems: other };
}
