/**
 * Messages between main and the worker process (utilityProcess in Electron, child_process.fork
 * in Node). A closed union: adding a case breaks the build wherever it is not handled. The worker
 * never touches SQLite: it reads and writes files and reports through these messages.
 */
import type { AppErrorData } from './errors';

export type WorkerTask =
  /** Re-hash files (sha256, hex) to verify a project's cache. */
  { kind: 'hash-files'; files: { id: number; path: string }[] };

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
