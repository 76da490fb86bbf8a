/** Worker side of the import: scan, CSV preview, and the streaming import (see src/main/services/import.ts). */
import type { ImportBatch } from '../shared/import-types';
import type { TaskId, WorkerTask, WorkerToMain } from '../shared/worker-protocol';
import { importSource, removeStaleTempFiles } from './import/pipeline';
import { previewCsv, scanSource } from './import/sources';

type Send = (msg: WorkerToMain) => void;
const PROGRESS_EVERY_MS = 100;

export async function runScan(task: Extract<WorkerTask, { kind: 'scan-source' }>, signal: AbortSignal) {
  return scanSource(task.spec, { signal });
}

export async function runPreview(task: Extract<WorkerTask, { kind: 'preview-csv' }>) {
  return previewCsv(task.file, task.rows);
}

export async function runImport(taskId: TaskId, task: Extract<WorkerTask, { kind: 'import' }>, signal: AbortSignal, send: Send) {
  // a killed import may have left half-written cache files behind
  await removeStaleTempFiles(task.cacheDir);
  await removeStaleTempFiles(task.thumbDir);
  const skipFiles = new Set(task.skipFiles);
  const knownShas = new Set(task.knownShas);
  let last = 0;
  let done = 0;
  const batches = importSource(task.spec, {
    cacheDir: task.cacheDir,
    thumbDir: task.thumbDir,
    cacheSize: task.cacheSize,
    // the 128 px training copy doubles as the thumbnail: one decode straight to the square, one encode
    thumbFormat: 'cache',
    // small batches: each is one transaction in main, and what a killed import keeps
    batchSize: 16,
    signal,
    skip: (key) => (key.kind === 'path' ? skipFiles.has(key.entry.file) : knownShas.has(key.sha256)),
    onProgress: (p) => {
      done = p.done;
      const now = Date.now();
      if (now - last >= PROGRESS_EVERY_MS) {
        last = now;
        send({ type: 'progress', taskId, done: p.done, total: p.total, message: `Checked ${p.done} of ${p.total} files` });
      }
    },
  });
  for await (const batch of batches) {
    const item: ImportBatch = batch;
    send({ type: 'item', taskId, item });
  }
  send({ type: 'progress', taskId, done, total: done });
  return { done };
}
