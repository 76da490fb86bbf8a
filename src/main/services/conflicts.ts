/**
 * Label conflicts: the same picture (same bytes) imported under two or more labels. Every copy is
 * kept out of training and out of the counts until the person decides which label is right, or
 * keeps the picture out. Deciding sets the chosen copy's status to `ok` and the others' to
 * `excluded`, which is remembered: importing the picture under a ruled-out label again is a
 * duplicate, not a new conflict (shared/import-classify.ts).
 */
import type { Conflict } from '../../shared/contract';
import { AppError } from '../../shared/errors';
import type { Project } from '../store/project';
import { thumbDataUrl } from './dataset';
import { resplit } from './import';

/** Shortest id prefix shown and accepted (as git shows commits). */
export const CONFLICT_ID_LENGTH = 12;

type Undecided = Omit<Conflict, 'thumb'> & { thumbFile: string | null };

/** Every undecided conflict, oldest first, without reading its thumbnail. */
function undecided(project: Project): Undecided[] {
  const rows = project.db
    .prepare(
      `SELECT i.sha256, c.name AS label, COALESCE(i.rel_path, i.source_path) AS relPath, i.thumb_file AS thumbFile
       FROM images i JOIN classes c ON c.id = i.class_id WHERE i.status = 'conflict' ORDER BY i.id`,
    )
    .all() as { sha256: string; label: string; relPath: string; thumbFile: string | null }[];
  const bySha = new Map<string, Undecided>();
  for (const r of rows) {
    const c = bySha.get(r.sha256);
    if (c) c.copies.push({ label: r.label, relPath: r.relPath });
    else bySha.set(r.sha256, { id: r.sha256.slice(0, CONFLICT_ID_LENGTH), sha256: r.sha256, copies: [{ label: r.label, relPath: r.relPath }], thumbFile: r.thumbFile });
  }
  for (const c of bySha.values()) c.copies.sort((a, b) => a.label.localeCompare(b.label));
  return [...bySha.values()];
}

function withThumb(project: Project, { thumbFile, ...c }: Undecided): Conflict {
  return { ...c, thumb: thumbDataUrl(project, thumbFile) };
}

/** How many pictures are still undecided. */
function remaining(project: Project): number {
  return (project.db.prepare(`SELECT COUNT(DISTINCT sha256) AS n FROM images WHERE status = 'conflict'`).get() as { n: number }).n;
}

/** Every undecided conflict, oldest first: its labels, where each copy came from, a thumbnail. */
export function listConflicts(project: Project): Conflict[] {
  return undecided(project).map((c) => withThumb(project, c));
}

/** The undecided conflict whose content hash starts with `id`; a clear error if none or several. */
function findConflict(project: Project, id: string): Undecided {
  const matches = undecided(project).filter((c) => c.sha256.startsWith(id.toLowerCase()));
  if (matches.length === 0) throw new AppError('not-found', `There is no undecided label conflict "${id}" in this project (it may have been decided already).`);
  if (matches.length > 1) throw new AppError('validation', `"${id}" matches ${matches.length} conflicts. Give more of its id.`, { field: 'id' });
  return matches[0]!;
}

/**
 * Decides a conflict: `label` is the right one (its copy joins training and the counts), or null:
 * keep the picture out. The chosen copy is given a split, as new images are after an import (the
 * others keep theirs).
 */
export function decideConflict(project: Project, id: string, label: string | null): { decided: Conflict; label: string | null; remaining: number } {
  const conflict = findConflict(project, id);
  const labels = conflict.copies.map((c) => c.label);
  if (label !== null && !labels.includes(label)) {
    throw new AppError('validation', `This picture was imported as ${labels.map((l) => `"${l}"`).join(' and ')}; choose one of those, or keep it out.`, {
      field: 'label',
    });
  }
  const db = project.db;
  db.transaction(() => {
    db.prepare(
      `UPDATE images SET status = CASE WHEN class_id = (SELECT id FROM classes WHERE name = @label) THEN 'ok' ELSE 'excluded' END
       WHERE sha256 = @sha256 AND status = 'conflict'`,
    ).run({ sha256: conflict.sha256, label });
    resplit(project);
  })();
  return { decided: withThumb(project, conflict), label, remaining: remaining(project) };
}

/**
 * Takes a decision back: every copy of the picture is a conflict again, out of training and the
 * counts, until decided anew. `id` is the start of its content hash, as for deciding.
 */
export function undoConflictDecision(project: Project, id: string): { sha256: string; remaining: number } {
  const db = project.db;
  const decided = db
    .prepare(`SELECT DISTINCT sha256 FROM images WHERE status = 'excluded' AND substr(sha256, 1, length(@id)) = @id`)
    .all({ id: id.toLowerCase() }) as { sha256: string }[];
  if (decided.length === 0) throw new AppError('not-found', `There is no decided label conflict "${id}" to take back in this project.`);
  if (decided.length > 1) throw new AppError('validation', `"${id}" matches ${decided.length} decided conflicts. Give more of its id.`, { field: 'id' });
  const sha256 = decided[0]!.sha256;
  db.transaction(() => {
    db.prepare(`UPDATE images SET status = 'conflict' WHERE sha256 = ? AND status IN ('ok', 'excluded')`).run(sha256);
    resplit(project);
  })();
  return { sha256, remaining: remaining(project) };
}
