/**
 * Where a project's disk space goes, for the Overview and `gan-augment status`: the training copies
 * and thumbnails of its images, its training runs (checkpoints, sample grids), the images generated
 * from them, and its records (the database); and what is free on the disk holding it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GenerationDisk, ProjectDisk } from '../../shared/contract';
import { AppError } from '../../shared/errors';
import { folderBytes, freeBytes } from '../disk';
import { GENERATED_DIR, RUNS_DIR, type Project } from '../store/project';

/** Training copies and thumbnails of the imported images (`cache/train`, `cache/thumbs`). */
const CACHE_ROOT = 'cache';

export async function projectDisk(project: Project): Promise<ProjectDisk> {
  const count = (sql: string) => (project.db.prepare(sql).get() as { n: number }).n;
  const parts = [CACHE_ROOT, RUNS_DIR, GENERATED_DIR];
  // each file once: the three parts, then the rest of the top level (the database, the lock)
  const [imagesBytes, runsBytes, generatedBytes] = await Promise.all([
    folderBytes(join(project.dir, CACHE_ROOT)),
    folderBytes(join(project.dir, RUNS_DIR)),
    folderBytes(join(project.dir, GENERATED_DIR)),
  ]);
  let recordsBytes = 0;
  for (const name of readdirSync(project.dir)) if (!parts.includes(name)) recordsBytes += await folderBytes(join(project.dir, name));
  return {
    totalBytes: imagesBytes + runsBytes + generatedBytes + recordsBytes,
    imagesBytes,
    runsBytes,
    generatedBytes,
    recordsBytes,
    images: count('SELECT COUNT(DISTINCT cache_file) AS n FROM images'), // copies of one picture share a file
    runs: count('SELECT COUNT(*) AS n FROM runs'),
    generatedImages: count('SELECT COUNT(*) AS n FROM generated_images'),
    freeBytes: freeBytes(project.dir),
  };
}

/** PNG's own bytes around the pixels of one small image (signature, header, zlib framing), at most. */
const PNG_OVERHEAD_BYTES = 1024;

/**
 * The disk one image generated from a run takes, for the Gallery's form and `generate`: the average of
 * the run's latest generated images where it has some (measured), else the image's raw pixels and
 * PNG's overhead (GAN output is noisy; PNG rarely makes it smaller), and what is free.
 */
export function generationDisk(project: Project, runId: string): GenerationDisk {
  const run = project.db.prepare('SELECT resolution, settings FROM runs WHERE id = ?').get(runId) as { resolution: number; settings: string } | undefined;
  if (!run) throw new AppError('not-found', `There is no training run "${runId}" in this project.`);
  const files = project.db.prepare('SELECT file FROM generated_images WHERE run_id = ? ORDER BY id DESC LIMIT 50').all(runId) as { file: string }[];
  const sizes = files.flatMap(({ file }) => {
    try {
      return [statSync(join(project.dir, file)).size];
    } catch {
      return [];
    }
  });
  const free = freeBytes(project.dir);
  if (sizes.length > 0) return { bytesPerImage: Math.ceil(sizes.reduce((a, b) => a + b, 0) / sizes.length), measured: true, freeBytes: free };
  const channels = (JSON.parse(run.settings) as { channels?: number }).channels ?? 3;
  return { bytesPerImage: run.resolution * run.resolution * channels + PNG_OVERHEAD_BYTES, measured: false, freeBytes: free };
}
