/**
 * Deleting a training run: its checkpoints, sample grids, loss history and the images generated from
 * it. It is how a person frees the disk a run takes: one checkpoint is kept per run, 79 MB for the
 * default 64 px cWGAN-GP and about 290 MB for a 128 px DCGAN (one run per class).
 *
 * Safe against a crash or a failure at any point:
 * 1. the run's folders are renamed `.deleting-<time>-<run id>` (undone if anything before the commit fails);
 * 2. one transaction deletes the run's rows: the commit point;
 * 3. the renamed folders are removed.
 * Project.open finishes what a dead process left (renamed folders of a run the database still has get
 * their names back; the others are removed).
 *
 * A disk full to the last byte is where a person most needs this, and where SQLite may have no room
 * to record the deletion: then the run's own folder (its checkpoints, the bulk of it) is removed
 * first, and the transaction tried once more.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { JobStatus, RunFootprint } from '../../shared/contract';
import { formatBytes } from '../../shared/disk';
import { AppError, toErrorData } from '../../shared/errors';
import { folderBytes } from '../disk';
import { DELETING_PREFIX, type Project } from '../store/project';
import { getRun } from './training';

function generatedCount(project: Project, runId: string): number {
  return (project.db.prepare('SELECT COUNT(*) AS n FROM generated_images WHERE run_id = ?').get(runId) as { n: number }).n;
}

/** The disk a run's own folder (checkpoints, samples) and its generated images take. */
async function measure(project: Project, runId: string): Promise<{ runBytes: number; generatedBytes: number }> {
  const folders = project.runFolders(runId);
  const [runBytes, generatedBytes] = await Promise.all([folderBytes(folders.run), folderBytes(folders.generated)]);
  return { runBytes, generatedBytes };
}

/** What deleting a run would delete: the disk its files take, and the images generated from it. */
export async function runFootprint(project: Project, runId: string): Promise<RunFootprint> {
  getRun(project, runId); // not found -> a clear error
  return footprintOfListedRun(project, runId);
}

/** `runFootprint` of a run just read from the project (a listing), without looking it up again. */
export async function footprintOfListedRun(project: Project, runId: string): Promise<RunFootprint> {
  const { runBytes, generatedBytes } = await measure(project, runId);
  return { runId, diskBytes: runBytes + generatedBytes, generatedImages: generatedCount(project, runId) };
}

/**
 * How a job stands where the caller knows better than its row: the app's job runner keeps in memory
 * how a job ended whose row a full disk kept from being written (the row still says running).
 */
export type JobStatusOf = (jobId: string) => JobStatus | undefined;

/** Refuses, in words, to delete a run that is training or that images are being generated from. */
function checkDeletable(project: Project, runId: string, statusOf?: JobStatusOf): void {
  const run = getRun(project, runId);
  if (run.status === 'running' || run.status === 'queued') {
    throw new AppError('conflict', `Run ${runId} is training. Pause or stop it first, then delete it.`);
  }
  const jobs = project.db
    .prepare(`SELECT id, status FROM jobs WHERE type = 'generate' AND status IN ('queued', 'running') AND json_extract(params, '$.runId') = ?`)
    .all(runId) as { id: string; status: JobStatus }[];
  const generating = jobs.some((j) => {
    const status = statusOf?.(j.id) ?? j.status;
    return status === 'queued' || status === 'running';
  });
  if (generating) {
    throw new AppError('conflict', `Images are being generated from run ${runId}. Wait for that to finish, or cancel it, then delete the run.`);
  }
}

/** Renames each existing folder for deletion; on failure renames back what it had renamed and says why. */
function renameForDeletion(folders: readonly string[], runId: string): { from: string; to: string }[] {
  const moved: { from: string; to: string }[] = [];
  for (const from of folders) {
    if (!existsSync(from)) continue;
    const to = join(dirname(from), `${DELETING_PREFIX}${Date.now()}-${basename(from)}`);
    try {
      renameSync(from, to);
    } catch (err) {
      restore(moved);
      const e = toErrorData(err);
      const why = e.kind === 'internal' ? ((err as { code?: string }).code ?? String(err)) : e.message;
      throw new AppError(
        e.kind === 'internal' ? 'conflict' : e.kind,
        `Run ${runId} could not be deleted: its folder ${from} could not be changed (${why}). Nothing was deleted. If another program has files of it open, close that program and try again.`,
        { cause: err },
      );
    }
    moved.push({ from, to });
  }
  return moved;
}

function restore(moved: readonly { from: string; to: string }[]): void {
  for (const { from, to } of moved) {
    try {
      renameSync(to, from);
    } catch {
      // Project.open gives it its name back (the run's row is still there)
    }
  }
}

/**
 * Deletes a run that is not training: its rows (metrics, generated images) and its folders. Returns
 * what it freed. Folders that cannot be removed now are removed at the next open.
 */
export async function deleteRun(project: Project, runId: string, statusOf?: JobStatusOf): Promise<RunFootprint> {
  getRun(project, runId); // not found -> a clear error
  const { runBytes, generatedBytes } = await measure(project, runId);
  // From here on synchronous: nothing else runs between the check and the commit.
  checkDeletable(project, runId, statusOf);
  const footprint = { runId, diskBytes: runBytes + generatedBytes, generatedImages: generatedCount(project, runId) };
  const deleteRows = project.db.transaction(() => {
    project.db.prepare('DELETE FROM generated_images WHERE run_id = ?').run(runId);
    project.db.prepare('DELETE FROM runs WHERE id = ?').run(runId); // its metrics go with it (ON DELETE CASCADE)
  });
  const folders = project.runFolders(runId);
  const moved = renameForDeletion([folders.run, folders.generated], runId);
  try {
    deleteRows();
  } catch (err) {
    if (toErrorData(err).kind !== 'disk-full') {
      restore(moved);
      throw err;
    }
    // No room to record the deletion: free the run's own folder (checkpoints, samples) and try again.
    const own = moved.find((m) => m.from === folders.run);
    if (own) rmSync(own.to, { recursive: true, force: true });
    try {
      deleteRows();
    } catch (again) {
      restore(moved.filter((m) => m !== own));
      const removed = own ? ` Its checkpoints and samples were removed (${formatBytes(runBytes)} freed), but the project could not record the deletion.` : ' The project could not record the deletion.';
      throw new AppError('disk-full', `The disk holding the project is full.${removed} Free some space, then delete run ${runId} again.`, { cause: again });
    }
  }
  for (const { to } of moved) {
    try {
      rmSync(to, { recursive: true, force: true });
    } catch {
      // the next open removes it
    }
  }
  return footprint;
}
