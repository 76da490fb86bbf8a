import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, removeDir, writePng, writeTrainingImages } from '../../test/fixtures/images';
import { AppError } from '../shared/errors';
import type { TrainItem, TrainTaskSettings, WorkerToMain } from '../shared/worker-protocol';
import { MetricsWindow, gridDiversity, retryIfDeviceLostAtStart, runTrain } from './train-tasks';
import { gridPngFromPixels } from './training/images';
import { runTask } from './tasks';
import type { StepMetrics } from './training';

const step = (n: number, ms: number, synced: boolean): StepMetrics => ({
  step: n,
  dLoss: synced ? 0.5 + n : null,
  gLoss: synced ? 1.5 + n : null,
  stepMs: ms,
  synced,
});

describe('MetricsWindow (loss-curve points when losses are read every few steps)', () => {
  it('makes one point per read-back step, its time averaged over the steps since the last point', () => {
    const w = new MetricsWindow(64);
    // Steps 1-3 only enqueue (fast); step 4 reads back and waits for all four.
    expect(w.add(step(1, 10, false))).toBeNull();
    expect(w.add(step(2, 10, false))).toBeNull();
    expect(w.add(step(3, 10, false))).toBeNull();
    const p = w.add(step(4, 370, true))!;
    expect(p).toMatchObject({ step: 4, dLoss: 4.5, gLoss: 5.5, stepMs: 100, wasserstein: null, gradientPenalty: null });
    expect(p.imagesPerSec).toBeCloseTo(640, 6);
    // Reading every step (the CPU) gives every step its own point and time.
    expect(w.add(step(5, 42, true))).toMatchObject({ step: 5, stepMs: 42 });
  });
});

describe('gridDiversity (the sample grid: does the generator make one image?)', () => {
  it('is 0 for a grid of one image and clearly above it for different images, in RGB and in grey', async () => {
    const r = 8;
    for (const c of [1, 3] as const) {
      const tile = Uint8Array.from({ length: r * r * c }, (_, i) => (i * 37) % 256);
      const same = new Uint8Array(2 * 4 * tile.length);
      for (let t = 0; t < 8; t++) same.set(tile, t * tile.length);
      expect(await gridDiversity(await gridPngFromPixels(same, r, c, 2, 4), 2, 4)).toBe(0);
      const different = Uint8Array.from({ length: same.length }, (_, i) => (i * 7919 + Math.floor(i / tile.length) * 101) % 256);
      expect(await gridDiversity(await gridPngFromPixels(different, r, c, 2, 4), 2, 4)).toBeGreaterThan(0.1);
    }
  });
});

describe('retryIfDeviceLostAtStart (a GPU lost between two tasks)', () => {
  const lost = () => new AppError('device-lost', 'The GPU stopped working (WebGPU lost the device: destroyed).');

  it('starts the task over once when the GPU was lost before it did any work', async () => {
    let calls = 0;
    const result = await retryIfDeviceLostAtStart(async () => {
      calls += 1;
      if (calls === 1) throw lost();
      return 'done';
    });
    expect(result).toBe('done');
    expect(calls).toBe(2);
  });

  it('reports the loss when the task had already done work, when it happens twice, and any other error at once', async () => {
    /** The error a task that always fails ends with, and how many times it ran. */
    const attempts = async (fail: (didWork: () => void) => never) => {
      let calls = 0;
      const error = await retryIfDeviceLostAtStart(async (didWork) => {
        calls += 1;
        return fail(didWork);
      }).catch((e: unknown) => e);
      return { error, calls };
    };
    const afterWork = await attempts((didWork) => {
      didWork();
      throw lost();
    });
    expect(afterWork).toMatchObject({ error: { kind: 'device-lost' }, calls: 1 });
    expect(await attempts(() => { throw lost(); })).toMatchObject({ error: { kind: 'device-lost' }, calls: 2 });
    const other = await attempts(() => {
      throw new AppError('out-of-memory', 'Training ran out of GPU memory.');
    });
    expect(other).toMatchObject({ error: { kind: 'out-of-memory' }, calls: 1 });
  });
});

describe('a training task on the processor', () => {
  /** A tiny DCGAN on WebAssembly (what `auto` picks without a GPU). */
  const settings: TrainTaskSettings = { model: 'dcgan', resolution: 32, preset: 'tiny', batch: 4, diffAugment: false, channels: 3, numClasses: 1, seed: 3, backend: 'wasm' };
  const inTempDir = async (prefix: string, test: (dir: string) => Promise<void>) => {
    const dir = await makeTempDir(prefix);
    try {
      await test(dir);
    } finally {
      await removeDir(dir);
    }
  };

  it('sees a cancel that arrives as a message between two steps, and stops with a checkpoint at its step', async () => {
    // On WebAssembly a step is synchronous and its awaits are microtasks: a cancel (an IPC message,
    // a macrotask like this setTimeout) is read only if the loop lets the event loop turn.
    await inTempDir('gan-cancel-', async (dir) => {
      const files = await writeTrainingImages(dir);
      const abort = new AbortController();
      const items: TrainItem[] = [];
      let reported = 0;
      const send = (msg: WorkerToMain) => {
        if (msg.type === 'item') items.push(msg.item as TrainItem);
        if (msg.type !== 'progress') return;
        reported = msg.done;
        if (msg.done === 2) setTimeout(() => abort.abort('pause'), 0);
      };
      // no checkpoint (and so no file write, which would let the loop turn) before step 100,000
      const task = { kind: 'train' as const, runDir: join(dir, 'run'), settings, files, totalSteps: 100_000, checkpointEvery: 100_000, resumeFrom: null };
      expect(await runTrain('t1', task, abort.signal, send)).toBe('cancelled');
      expect(reported).toBeLessThanOrEqual(3); // the step under way when the cancel came, at most
      expect(items.filter((i) => i.kind === 'checkpoint').map((i) => i.kind === 'checkpoint' && i.step)).toEqual([reported]);
    });
  }, 60_000);

  it('sees a cancel while it loads its images, and stops loading', async () => {
    await inTempDir('gan-cancel-load-', async (dir) => {
      const png = await writePng(join(dir, 'img.png'), { width: 40, height: 40, seed: 1 });
      // a file that cannot be read at the end: reaching it would fail the task instead
      const files = [...Array.from({ length: 200 }, () => ({ path: png, classIndex: 0 })), { path: join(dir, 'missing.png'), classIndex: 0 }];
      const abort = new AbortController();
      const items: TrainItem[] = [];
      const send = (msg: WorkerToMain) => {
        if (msg.type !== 'item') return;
        items.push(msg.item as TrainItem);
        if ((msg.item as TrainItem).kind === 'backend') setTimeout(() => abort.abort('pause'), 0); // loading starts next
      };
      const task = { kind: 'train' as const, runDir: join(dir, 'run'), settings, files, totalSteps: 10, checkpointEvery: 10, resumeFrom: null };
      await expect(runTrain('t1', task, abort.signal, send)).rejects.toBe('pause'); // the abort's reason, not the missing file
      // Only the images loading was said: no first step, no step, no checkpoint.
      expect(items[0]).toEqual({ kind: 'preparing', stage: 'loading', done: 0, total: 201 });
      const loading = (i: TrainItem) => i.kind === 'preparing' && i.stage === 'loading' && i.done < i.total;
      expect(items.filter((i) => !loading(i)).map((i) => i.kind)).toEqual(['backend']);
    });
  }, 60_000);

  it('computes one task at a time: an estimate sent during a training task waits for it', async () => {
    // Both share tfjs's one backend: run side by side, the estimate's backend start replaced the
    // WebAssembly module under the training task's tensors, and the training failed.
    await inTempDir('gan-one-at-a-time-', async (dir) => {
      const files = await writeTrainingImages(dir);
      const events: string[] = [];
      const send = (msg: WorkerToMain) => {
        if (msg.type === 'progress') events.push(`${msg.taskId} step ${msg.done}`);
        if (msg.type === 'done' || msg.type === 'failed') events.push(`${msg.taskId} ${msg.type}`);
      };
      const never = new AbortController().signal;
      const train = runTask('train', { kind: 'train', runDir: join(dir, 'run'), settings, files, totalSteps: 12, checkpointEvery: 12, resumeFrom: null }, never, send);
      const estimate = runTask('estimate', { kind: 'train-estimate', settings, files, steps: 2 }, never, send);
      await Promise.all([train, estimate]);
      expect(events.at(-1)).toBe('estimate done');
      expect(events.filter((e) => e.startsWith('train')).at(-1)).toBe('train done');
      expect(events.indexOf('train done')).toBe(events.length - 2);
    });
  }, 60_000);
});
