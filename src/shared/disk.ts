/** Disk sizes in words, before a training run (the app and `train --estimate`) and an import (the wizard). Pure. */
import { plural } from './words';

/** 26,214,400 -> "26 MB"; decimal units, as file managers show them; two significant digits below 10. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = Math.max(0, bytes);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  if (u === 0) return `${Math.round(v)} bytes`;
  return `${v < 10 ? v.toFixed(1).replace(/\.0$/, '') : Math.round(v).toLocaleString('en')} ${units[u]}`;
}

export interface DiskEstimate {
  checkpointBytes: number;
  diskNeededBytes: number;
  diskFreeBytes: number | null;
}

/** Whether the disk holding the project has room for the training; unknown free space counts as room. */
export function diskIsEnough(e: DiskEstimate): boolean {
  return e.diskFreeBytes === null || e.diskFreeBytes >= e.diskNeededBytes;
}

/** The disk an import needs at most, and what is free. */
export interface ImportDisk {
  neededBytes: number;
  freeBytes: number | null;
}

/** Whether an import fits; unknown free space counts as room. */
export function importDiskIsEnough(d: ImportDisk): boolean {
  return d.freeBytes === null || d.freeBytes >= d.neededBytes;
}

/** Before an import: what its training copies and thumbnails take at most, beside what is free; a warning when it does not fit. */
export function importDiskSentence(d: ImportDisk): string {
  const needed = formatBytes(d.neededBytes);
  if (!importDiskIsEnough(d)) {
    return (
      `Not enough disk space: the training copies and thumbnails of these files take up to ${needed}, and the disk holding the ` +
      `project has ${formatBytes(d.freeBytes!)} free. Free some space first (an import stopped by a full disk goes on where it stopped when you run it again).`
    );
  }
  const free = d.freeBytes === null ? '' : `, which has ${formatBytes(d.freeBytes)} free`;
  return `The project keeps a training copy and a thumbnail of each file: up to ${needed} on the disk holding it${free}.`;
}

/** What the training needs on the disk and what is free, in one sentence; a warning when it does not fit. */
export function diskSentence(e: DiskEstimate): string {
  const needed = formatBytes(e.diskNeededBytes);
  if (!diskIsEnough(e)) {
    return (
      `Not enough disk space: this training needs about ${needed} on the disk holding the project, which has ` +
      `${formatBytes(e.diskFreeBytes!)} free. Free some space first, or choose a lower resolution or fewer classes.`
    );
  }
  const free = e.diskFreeBytes === null ? '' : `, which has ${formatBytes(e.diskFreeBytes)} free`;
  return `Disk: each checkpoint takes about ${formatBytes(e.checkpointBytes)}; this training needs about ${needed} on the disk holding the project${free}.`;
}

/** What deleting a training run deletes, for the app's confirmation and the CLI's `delete-run` without `--yes`. */
export function runDeletionSentence(f: { diskBytes: number; generatedImages: number }): string {
  const n = f.generatedImages;
  const images = n === 0 ? '' : `, and the ${n.toLocaleString('en')} ${n === 1 ? 'image' : 'images'} generated from it`;
  return `This deletes the run's checkpoints, sample images and loss history${images}, freeing ${formatBytes(f.diskBytes)} on the disk. It cannot be undone.`;
}

/** After a run was deleted. */
export function runDeletedSentence(runId: string, f: { diskBytes: number; generatedImages: number }): string {
  const n = f.generatedImages;
  const images = n === 0 ? '' : ` and its ${n.toLocaleString('en')} generated ${n === 1 ? 'image' : 'images'}`;
  return `Deleted run ${runId}${images}: ${formatBytes(f.diskBytes)} freed.`;
}

/** Where a project's space goes (the Overview, `gan-augment status`). */
export interface ProjectDiskUse {
  totalBytes: number;
  imagesBytes: number;
  runsBytes: number;
  generatedBytes: number;
  recordsBytes: number;
  images: number;
  runs: number;
  generatedImages: number;
  freeBytes: number | null;
}


/** The project's parts in words, in a fixed order (the Overview's bar and legend); parts that take nothing are left out. */
export function projectDiskParts(d: ProjectDiskUse): { key: 'images' | 'runs' | 'generated' | 'records'; label: string; bytes: number }[] {
  return [
    { key: 'images' as const, label: `Training copies and thumbnails of ${plural(d.images, 'image', 'images')}`, bytes: d.imagesBytes },
    { key: 'runs' as const, label: `${plural(d.runs, 'training run', 'training runs')} (checkpoints and sample images)`, bytes: d.runsBytes },
    { key: 'generated' as const, label: plural(d.generatedImages, 'generated image', 'generated images'), bytes: d.generatedBytes },
    { key: 'records' as const, label: "The project's records (its database)", bytes: d.recordsBytes },
  ].filter((p) => p.bytes > 0);
}

/** "The project takes 412 MB on the disk holding it, which has 75 GB free." */
export function projectDiskSentence(d: ProjectDiskUse): string {
  const free = d.freeBytes === null ? '' : `, which has ${formatBytes(d.freeBytes)} free`;
  return `The project takes ${formatBytes(d.totalBytes)} on the disk holding it${free}.`;
}

/** Before a generation: what `count` images take, beside what is free; a warning when they do not fit. */
export function generationDiskSentence(count: number, d: { bytesPerImage: number; measured: boolean; freeBytes: number | null }): { text: string; enough: boolean } {
  const needed = count * d.bytesPerImage;
  const about = d.measured ? 'about' : 'up to';
  const images = count === 1 ? 'This image takes' : `These ${count.toLocaleString('en')} images take`;
  if (d.freeBytes !== null && d.freeBytes < needed) {
    return {
      text: `Not enough disk space: ${images.charAt(0).toLowerCase()}${images.slice(1)} ${about} ${formatBytes(needed)}, and the disk holding the project has ${formatBytes(d.freeBytes)} free. Free some space, or generate fewer.`,
      enough: false,
    };
  }
  const free = d.freeBytes === null ? '' : ` (${formatBytes(d.freeBytes)} free)`;
  return { text: `${images} ${about} ${formatBytes(needed)} on the disk${free}.`, enough: true };
}
