/**
 * Messages between main and the worker process (utilityProcess in Electron, child_process.fork
 * in Node). A closed union: adding a case breaks the build wherever it is not handled. The worker
 * never touches SQLite: it reads and writes files and reports through these messages.
 */
import type { AppErrorData } from './errors';
import type { SourceSpec } from './import-types';

export type WorkerTask =
  /** Re-hash files (sha256, hex) to verify a project's cache. Items: { id, sha256 | null }. */
  | { kind: 'hash-files'; files: { id: number; path: string }[] }
  /** Walk a source without decoding anything: classes, counts, problems. Result: ScanSummary. */
  | { kind: 'scan-source'; spec: SourceSpec }
  /** The first rows of a CSV and a suggested column mapping. Result: CsvPreview. */
  | { kind: 'preview-csv'; file: string; rows: number }
  /**
   * Probe every file of a source into the project's cache. Items: ImportBatch. Files in
   * `skipFiles` were staged by an earlier run (resume); content in `knownShas` is stored already
   * and is not decoded again.
   */
  | {
      kind: 'import';
      spec: SourceSpec;
      cacheDir: string;
      thumbDir: string;
      cacheSize: number;
      skipFiles: string[];
      knownShas: string[];
    };

export type TaskId = string;

export type MainToWorker =
  | { type: 'run'; taskId: TaskId; task: WorkerTask }
  | { type: 'cancel'; taskId: TaskId }
  | { type: 'shutdown' };

export type WorkerToMain =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; taskId: TaskId; done: number; total: number | null; message?: string }
  /** One result item of a streaming task (e.g. one file's hash). */
  | { type: 'item'; taskId: TaskId; item: unknown }
  | { type: 'done'; taskId: TaskId; result: unknown }
  | { type: 'cancelled'; taskId: TaskId }
  | { type: 'failed'; taskId: TaskId; error: AppErrorData };

/** Why a worker process ended. */
export type WorkerExitReason = 'clean-exit' | 'crashed' | 'killed' | 'oom';
