import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { toErrorData } from '../shared/errors';
import { runImport, runPreview, runScan } from './import-tasks';
import { runEstimate, runGenerate, runTrain } from './train-tasks';
import type { TaskId, WorkerTask, WorkerToMain } from '../shared/worker-protocol';

type Send = (msg: WorkerToMain) => void;

const PROGRESS_EVERY_MS = 100;

/**
 * Tasks that compute with TensorFlow.js share its one global backend: one of them may switch the
 * backend, or (WebAssembly) replace its module and heap when it ends, under another's tensors.
 * They run one after the other, in the order they arrived.
 */
let tfjsTurn: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(task: () => Promise<T>): Promise<T> {
  const run = tfjsTurn.then(task, task);
  tfjsTurn = run.catch(() => {});
  return run;
}

async function sha256File(path: string, signal: AbortSignal): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, { signal, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (err) {
    if (signal.aborted) throw err;
    return null; // missing or unreadable: reported as missing by the caller
  }
  return hash.digest('hex');
}

async function hashFiles(taskId: TaskId, task: Extract<WorkerTask, { kind: 'hash-files' }>, signal: AbortSignal, send: Send) {
  const total = task.files.length;
  let last = 0;
  for (let i = 0; i < total; i++) {
    if (signal.aborted) return 'cancelled' as const;
    const f = task.files[i]!;
    const sha256 = await sha256File(f.path, signal).catch(() => null);
    if (signal.aborted) return 'cancelled' as const;
    send({ type: 'item', taskId, item: { id: f.id, sha256 } });
    const now = Date.now();
    if (now - last >= PROGRESS_EVERY_MS || i === total - 1) {
      last = now;
      send({ type: 'progress', taskId, done: i + 1, total });
    }
  }
  return { hashed: total };
}

export async function runTask(taskId: TaskId, task: WorkerTask, signal: AbortSignal, send: Send): Promise<void> {
  try {
    let result: unknown;
    switch (task.kind) {
      case 'hash-files':
        result = await hashFiles(taskId, task, signal, send);
        break;
      case 'scan-source':
        result = await runScan(task, signal);
        break;
      case 'preview-csv':
        result = await runPreview(task);
        break;
      case 'import':
        result = await runImport(taskId, task, signal, send);
        break;
      case 'train':
        result = await oneAtATime(() => runTrain(taskId, task, signal, send));
        break;
      case 'train-estimate':
        result = await oneAtATime(() => runEstimate(task, signal));
        break;
      case 'generate':
        result = await oneAtATime(() => runGenerate(taskId, task, signal, send));
        break;
    }
    if (result === 'cancelled' || signal.aborted) send({ type: 'cancelled', taskId });
    else send({ type: 'done', taskId, result });
  } catch (err) {
    if (signal.aborted) send({ type: 'cancelled', taskId });
    else send({ type: 'failed', taskId, error: toErrorData(err) });
  }
}
