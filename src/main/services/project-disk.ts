/**
 * Where a project's disk space goes, for the Overview and `gan-augment status`: the training copies
 * and thumbnails of its images, its training runs (checkpoints, sample grids), the images generated
 * from them, and its records (the database); and what is free on the disk holding it.
 */
import { join } from 'node:path';
import type { ProjectDisk } from '../../shared/contract';
import { folderBytes, freeBytes } from '../disk';
import { GENERATED_DIR, RUNS_DIR, type Project } from '../store/project';

export async function projectDisk(project: Project): Promise<ProjectDisk> {
  const count = (sql: string) => (project.db.prepare(sql).get() as { n: number }).n;
  const [totalBytes, imagesBytes, runsBytes, generatedBytes] = await Promise.all([
    folderBytes(project.dir),
    folderBytes(join(project.dir, 'cache')),
    folderBytes(join(project.dir, RUNS_DIR)),
    folderBytes(join(project.dir, GENERATED_DIR)),
  ]);
  return {
    totalBytes,
    imagesBytes,
    runsBytes,
    generatedBytes,
    recordsBytes: Math.max(0, totalBytes - imagesBytes - runsBytes - generatedBytes),
    images: count('SELECT COUNT(*) AS n FROM images'),
    runs: count('SELECT COUNT(*) AS n FROM runs'),
    generatedImages: count('SELECT COUNT(*) AS n FROM generated_images'),
    freeBytes: freeBytes(project.dir),
  };
}
