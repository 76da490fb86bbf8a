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
  /** Train (or resume) a GAN run. Items: TrainItem. Saves a checkpoint when cancelled (pause/stop). */
  | {
      kind: 'train';
      runDir: string;
      settings: TrainTaskSettings;
      files: { path: string; classIndex: number }[];
      totalSteps: number;
      checkpointEvery: number;
      /** Checkpoint folder to resume from; null starts a new run. */
      resumeFrom: string | null;
    }
  /** Times a few steps on a small batch of the real data. Result: { backend, device, warning, msPerStep }. */
  | { kind: 'train-estimate'; settings: TrainTaskSettings; files: { path: string; classIndex: number }[]; steps: number }
  /** Generate `count` images of one class from a checkpoint into `outDir`. Items: { latentIndex, file }. */
  | { kind: 'generate'; checkpointDir: string; classIndex: number; count: number; seed: number; outDir: string }
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

export interface TrainTaskSettings {
  model: 'dcgan' | 'cwgan-gp';
  resolution: 32 | 64 | 128;
  preset: 'default' | 'tiny';
  batch?: number;
  diffAugment: boolean;
  channels: 1 | 3;
  numClasses: number;
  seed: number;
  backend: 'auto' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
}

/** What a training task streams back. */
export type TrainItem =
  | { kind: 'backend'; name: string; device: string; warning: string | null }
  /**
   * Before the first step: the training images loading (`done` of `total`, a few times a second), then
   * 'starting' (networks built or loaded from the checkpoint, the first step under way; 0 of 0).
   */
  | { kind: 'preparing'; stage: 'loading' | 'starting'; done: number; total: number }
  | {
      kind: 'metrics';
      points: { step: number; dLoss: number | null; gLoss: number | null; wasserstein: number | null; gradientPenalty: number | null; stepMs: number; imagesPerSec: number }[];
    }
  | { kind: 'checkpoint'; step: number; dir: string }
  /** A sample grid from the fixed latent seeds; `diversity` = mean pixel distance between its samples (0..1), low = collapse. */
  | { kind: 'sample'; step: number; file: string; diversity: number };

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
