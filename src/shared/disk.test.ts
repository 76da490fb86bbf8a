import { describe, expect, it } from 'vitest';
import {
  diskIsEnough,
  diskSentence,
  formatBytes,
  generationDiskSentence,
  importDiskIsEnough,
  importDiskSentence,
  projectDiskParts,
  projectDiskSentence,
  runDeletedSentence,
  runDeletionSentence,
} from './disk';

describe('formatBytes', () => {
  it('uses decimal units, two significant digits below 10, whole numbers above', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(999)).toBe('999 bytes');
    expect(formatBytes(1000)).toBe('1 KB');
    expect(formatBytes(164_000)).toBe('164 KB');
    expect(formatBytes(25_400_000)).toBe('25 MB');
    expect(formatBytes(9_870_000_000)).toBe('9.9 GB');
    expect(formatBytes(1_234_000_000_000_000)).toBe('1,234 TB');
  });
});

describe('importDiskSentence', () => {
  it('says what the import keeps and what is free, or warns with both figures and what to do', () => {
    expect(importDiskIsEnough({ neededBytes: 1_600_000_000, freeBytes: 75_000_000_000 })).toBe(true);
    expect(importDiskSentence({ neededBytes: 1_600_000_000, freeBytes: 75_000_000_000 })).toBe(
      'The project keeps a training copy and a thumbnail of each file: up to 1.6 GB on the disk holding it, which has 75 GB free.',
    );
    expect(importDiskIsEnough({ neededBytes: 1_600_000_000, freeBytes: 900_000_000 })).toBe(false);
    expect(importDiskSentence({ neededBytes: 1_600_000_000, freeBytes: 900_000_000 })).toBe(
      'Not enough disk space: the training copies and thumbnails of these files take up to 1.6 GB, and the disk holding the project has 900 MB free. ' +
        'Free some space first (an import stopped by a full disk goes on where it stopped when you run it again).',
    );
  });
});

describe('diskSentence', () => {
  it('says what a checkpoint takes, what the training needs and what is free', () => {
    const e = { checkpointBytes: 26_000_000, diskNeededBytes: 60_400_000, diskFreeBytes: 9_870_000_000 };
    expect(diskIsEnough(e)).toBe(true);
    expect(diskSentence(e)).toBe('Disk: each checkpoint takes about 26 MB; this training needs about 60 MB on the disk holding the project, which has 9.9 GB free.');
    expect(diskSentence({ ...e, diskFreeBytes: null })).toBe('Disk: each checkpoint takes about 26 MB; this training needs about 60 MB on the disk holding the project.');
  });

  it('warns, with both figures and what to do, when the training does not fit', () => {
    const e = { checkpointBytes: 96_000_000, diskNeededBytes: 1_900_000_000, diskFreeBytes: 700_000_000 };
    expect(diskIsEnough(e)).toBe(false);
    expect(diskSentence(e)).toBe(
      'Not enough disk space: this training needs about 1.9 GB on the disk holding the project, which has 700 MB free. Free some space first, or choose a lower resolution or fewer classes.',
    );
  });
});

describe('run deletion sentences', () => {
  it('say what goes, the images generated from the run included, and what it frees', () => {
    expect(runDeletionSentence({ diskBytes: 79_400_000, generatedImages: 128 })).toBe(
      "This deletes the run's checkpoints, sample images and loss history, and the 128 images generated from it, freeing 79 MB on the disk. It cannot be undone.",
    );
    expect(runDeletionSentence({ diskBytes: 164_000, generatedImages: 0 })).toBe(
      "This deletes the run's checkpoints, sample images and loss history, freeing 164 KB on the disk. It cannot be undone.",
    );
    expect(runDeletedSentence('run-1', { diskBytes: 2_300_000_000, generatedImages: 1 })).toBe('Deleted run run-1 and its 1 generated image: 2.3 GB freed.');
    expect(runDeletedSentence('run-1', { diskBytes: 5_000, generatedImages: 0 })).toBe('Deleted run run-1: 5 KB freed.');
  });
});

describe('project disk use', () => {
  const use = { totalBytes: 412_000_000, imagesBytes: 22_000_000, runsBytes: 379_000_000, generatedBytes: 10_000_000, recordsBytes: 1_000_000, images: 430, runs: 1, generatedImages: 128, freeBytes: 75_000_000_000 };
  it('says what the project takes and what is free, and names each part with its count', () => {
    expect(projectDiskSentence(use)).toBe('The project takes 412 MB on the disk holding it, which has 75 GB free.');
    expect(projectDiskSentence({ ...use, freeBytes: null })).toBe('The project takes 412 MB on the disk holding it.');
    expect(projectDiskParts(use).map((p) => `${p.label}: ${formatBytes(p.bytes)}`)).toEqual([
      'Training copies and thumbnails of 430 images: 22 MB',
      '1 training run (checkpoints and sample images): 379 MB',
      '128 generated images: 10 MB',
      "The project's records (its database): 1 MB",
    ]);
    expect(projectDiskParts({ ...use, images: 1, runs: 0, runsBytes: 0, generatedImages: 1 }).map((p) => p.label)).toEqual([
      'Training copies and thumbnails of 1 image',
      '1 generated image', // no runs: no line for them
      "The project's records (its database)",
    ]);
  });
});

describe('generationDiskSentence', () => {
  it('says what the images take (measured: about; estimated: up to) and what is free, or warns with what to do', () => {
    expect(generationDiskSentence(170, { bytesPerImage: 12_400, measured: true, freeBytes: 75_000_000_000 })).toEqual({
      text: 'These 170 images take about 2.1 MB on the disk (75 GB free).',
      enough: true,
    });
    expect(generationDiskSentence(1, { bytesPerImage: 13_312, measured: false, freeBytes: null })).toEqual({ text: 'This image takes up to 13 KB on the disk.', enough: true });
    expect(generationDiskSentence(1000, { bytesPerImage: 50_176, measured: false, freeBytes: 20_000_000 })).toEqual({
      text: 'Not enough disk space: these 1,000 images take up to 50 MB, and the disk holding the project has 20 MB free. Free some space, or generate fewer.',
      enough: false,
    });
  });
});
