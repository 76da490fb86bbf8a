/**
 * Worker side of training and generation. Main owns the run's records; this owns the tensors:
 * every trainer is disposed when its task ends, however it ends.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { TaskId, TrainItem, TrainTaskSettings, WorkerTask, WorkerToMain } from '../shared/worker-protocol';
import { AppError } from '../shared/errors';
import { createTrainer, initBackend, loadDataset, loadTrainer, makeConfig, readLossEveryOn, releaseIdleBackendMemory, type StepMetrics, type Trainer } from './training';

type Send = (msg: WorkerToMain) => void;
const METRICS_EVERY_MS = 500; // metrics batched to at most two messages a second
function configFor(s: TrainTaskSettings) {
  return makeConfig(s.model, s.resolution, {
    preset: s.preset,
    channels: s.channels,
    numClasses: s.model === 'dcgan' ? 1 : s.numClasses,
    ...(s.batch ? { batchSize: s.batch } : {}),
    diffAugment: s.diffAugment,
  });
}

/**
 * Mean absolute difference between samples of a grid (0..1): near 0 when the generator makes one image.
 * Read as one grey channel whatever the grid's own (sharp's greyscale() alone keeps an RGB image's
 * three channels, which this loop, one byte a pixel, would misread: until 2026-11-29 it compared
 * shifted pieces of the grid, and a collapsed RGB generator went unnoticed).
 */
export async function gridDiversity(png: Buffer, rows: number, cols: number, gap = 2): Promise<number> {
  const { data, info } = await sharp(png).greyscale().toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`gridDiversity: ${info.channels} channels where one grey one was asked for.`);
  // The tiles as `gridPng` lays them out: `gap` pixels between them (before, the gaps were counted in
  // the tiles, so tile b was compared shifted by b - a pixels against tile a).
  const tw = (info.width - (cols - 1) * gap) / cols;
  const th = (info.height - (rows - 1) * gap) / rows;
  if (!Number.isInteger(tw) || !Number.isInteger(th)) throw new Error(`gridDiversity: a ${info.width}x${info.height} grid is not ${rows}x${cols} tiles with ${gap} px gaps.`);
  let total = 0;
  let pairs = 0;
  for (let r = 0; r < rows; r++) {
    for (let a = 0; a < cols; a++) {
      for (let b = a + 1; b < cols; b++) {
        let diff = 0;
        for (let y = 0; y < th; y += 2) {
          for (let x = 0; x < tw; x += 2) {
            const ia = (r * (th + gap) + y) * info.width + a * (tw + gap) + x;
            const ib = (r * (th + gap) + y) * info.width + b * (tw + gap) + x;
            diff += Math.abs(data[ia]! - data[ib]!);
          }
        }
        total += diff / (Math.ceil(th / 2) * Math.ceil(tw / 2) * 255);
        pairs++;
      }
    }
  }
  return pairs === 0 ? 1 : total / pairs;
}

/** Writes `file` through a temporary file and a rename; a failed write (a full disk) leaves neither behind. */
async function writeAtomic(file: string, data: Buffer): Promise<void> {
  const tmp = `${file}.partial`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}

type MetricsPoint = Extract<TrainItem, { kind: 'metrics' }>['points'][number];

/**
 * Turns training steps into loss-curve points: one per step whose losses were read back, its time
 * per step averaged over the steps since the previous point (a step that was not read back has only
 * enqueued its work; the next read-back waits for it).
 */
export class MetricsWindow {
  private ms = 0;
  private steps = 0;
  constructor(private readonly batch: number) {}

  add(m: StepMetrics): MetricsPoint | null {
    this.ms += m.stepMs;
    this.steps += 1;
    if (!m.synced) return null;
    const stepMs = this.ms / this.steps;
    this.ms = 0;
    this.steps = 0;
    return {
      step: m.step,
      dLoss: m.dLoss,
      gLoss: m.gLoss,
      wasserstein: m.wassersteinEstimate ?? null,
      gradientPenalty: m.gradientPenalty ?? null,
      stepMs,
      imagesPerSec: (this.batch * 1000) / Math.max(stepMs, 1e-3),
    };
  }
}

/**
 * A GPU lost before a task did any work (between two tasks, noticed only by the new task's first
 * step) is not the task's fault: the task starts over once, and its `initBackend` gets a new device.
 * `didWork` is called once the task has done something that must not be done twice (a step, an image).
 * Not retried: a task cancelled meanwhile. A loss that the first step itself caused (a driver reset
 * from too large a batch) costs one more try before it is reported.
 */
export async function retryIfDeviceLostAtStart<T>(run: (didWork: () => void) => Promise<T>, signal?: AbortSignal): Promise<T> {
  let worked = false;
  try {
    return await run(() => {
      worked = true;
    });
  } catch (e) {
    if (worked || signal?.aborted || !(e instanceof AppError && e.kind === 'device-lost')) throw e;
    return run(() => {});
  }
}

/**
 * Lets the event loop turn once. On WebAssembly and the pure-JS CPU backend a step is synchronous and
 * its awaits resolve as microtasks, so a loop of steps never reaches the event loop: a cancel
 * (Pause, Stop: a message from main) would be read only at the next checkpoint's file writes, up to
 * 1,000 steps later, and the main process would take the silent worker for a stuck one.
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** How often a train task reports the loading of its training images, at most. */
const PREPARING_EVERY_MS = 250;

export function runTrain(taskId: TaskId, task: Extract<WorkerTask, { kind: 'train' }>, signal: AbortSignal, send: Send) {
  return retryIfDeviceLostAtStart((didWork) => runTrainOnce(taskId, task, signal, send, didWork), signal);
}

async function runTrainOnce(taskId: TaskId, task: Extract<WorkerTask, { kind: 'train' }>, signal: AbortSignal, send: Send, didWork: () => void) {
  const item = (i: TrainItem) => send({ type: 'item', taskId, item: i });
  const total = task.files.length;
  item({ kind: 'preparing', stage: 'loading', done: 0, total });
  const backend = await initBackend(task.settings.backend);
  item({ kind: 'backend', name: backend.name, device: backend.device, warning: backend.warning ?? null });
  let loadingSent = Date.now();
  const onProgress = (done: number) => {
    // A few times a second, and the last image: thousands of items would only load the channel.
    if (done < total && Date.now() - loadingSent < PREPARING_EVERY_MS) return;
    loadingSent = Date.now();
    item({ kind: 'preparing', stage: 'loading', done, total });
  };
  const dataset = await loadDataset(task.files, task.settings.resolution, task.settings.channels, { signal, onProgress });
  item({ kind: 'preparing', stage: 'starting', done: 0, total: 0 });
  let trainer: Trainer | undefined;
  let failed = false;
  const readLossEvery = readLossEveryOn(backend);
  try {
    trainer = task.resumeFrom
      ? await loadTrainer(task.resumeFrom, dataset, { readLossEvery })
      : createTrainer(configFor(task.settings), dataset, { seed: task.settings.seed, readLossEvery });
    const batch = trainer.config.batchSize;
    const samplesDir = join(task.runDir, 'samples');
    const checkpointsDir = join(task.runDir, 'checkpoints');
    await mkdir(samplesDir, { recursive: true });
    await mkdir(checkpointsDir, { recursive: true });
    let lastCheckpoint = trainer.currentStep;
    let pending: Extract<TrainItem, { kind: 'metrics' }>['points'] = [];
    let lastSent = 0;
    const flush = () => {
      if (pending.length) item({ kind: 'metrics', points: pending });
      pending = [];
      lastSent = Date.now();
    };
    const checkpoint = async (t: Trainer) => {
      const step = t.currentStep;
      const dir = join(checkpointsDir, `step-${step}`);
      await t.saveCheckpoint(dir);
      lastCheckpoint = step;
      flush();
      item({ kind: 'checkpoint', step, dir });
      const perClass = 8;
      const png = await t.sampleGrid({ perClass });
      const file = join(samplesDir, `step-${step}.png`);
      await writeAtomic(file, png);
      const rows = t.config.family === 'dcgan' ? 1 : t.config.numClasses;
      item({ kind: 'sample', step, file, diversity: await gridDiversity(png, rows, perClass) });
    };
    const window = new MetricsWindow(batch);
    while (trainer.currentStep < task.totalSteps && !signal.aborted) {
      // Steps that end in a checkpoint, and the last one, always read their losses.
      const next = trainer.currentStep + 1;
      const m = await trainer.step({ forceRead: next % task.checkpointEvery === 0 || next === task.totalSteps });
      didWork();
      const point = window.add(m);
      if (point) pending.push(point);
      if (Date.now() - lastSent >= METRICS_EVERY_MS) flush();
      send({ type: 'progress', taskId, done: m.step, total: task.totalSteps });
      if (m.step % task.checkpointEvery === 0 || m.step === task.totalSteps) await checkpoint(trainer);
      await nextTurn(); // read a cancel that has arrived
    }
    // paused or stopped: keep everything trained so far
    if (trainer.currentStep > lastCheckpoint) await checkpoint(trainer);
    flush();
    return signal.aborted ? ('cancelled' as const) : { step: trainer.currentStep };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await disposeAfterTask(trainer, failed);
  }
}

/**
 * Frees a task's trainer, then memory the backend would keep idle (a grown WebAssembly heap). When the
 * task already failed, an error while freeing (a WebAssembly module whose heap ran out can fail again
 * here) must not replace the error the person should see.
 */
async function disposeAfterTask(trainer: Trainer | undefined, failed: boolean): Promise<void> {
  try {
    trainer?.dispose();
  } catch (e) {
    if (!failed) throw e;
  }
  await releaseIdleBackendMemory();
}

export function runEstimate(task: Extract<WorkerTask, { kind: 'train-estimate' }>, signal: AbortSignal) {
  return retryIfDeviceLostAtStart((didWork) => runEstimateOnce(task, signal, didWork), signal);
}

async function runEstimateOnce(task: Extract<WorkerTask, { kind: 'train-estimate' }>, signal: AbortSignal, didWork: () => void) {
  const backend = await initBackend(task.settings.backend);
  const config = configFor(task.settings);
  const dataset = await loadDataset(task.files, task.settings.resolution, task.settings.channels, { signal });
  // Read back as the training job will (every few steps on a GPU), the last step always, and time
  // the steps together: the read-back waits for the steps that were only enqueued.
  const readLossEvery = readLossEveryOn(backend);
  const trainer = createTrainer(config, dataset, { seed: task.settings.seed, readLossEvery });
  let failed = false;
  try {
    // Warm-up: shader compilation and first allocations; on a GPU also the dispatch cache, which
    // settles over the first tens of steps (backends/webgpu-dispatch.ts): a few hundred ms there.
    const warmup = backend.isGpu ? 24 : 1;
    for (let i = 0; i < warmup && !signal.aborted; i++) {
      await trainer.step({ forceRead: i === warmup - 1 });
      await nextTurn();
    }
    didWork(); // an estimate could start over at any time; a GPU lost after its warm-up is worth reporting
    let steps = 0;
    const t0 = performance.now();
    for (let i = 0; i < task.steps && !signal.aborted; i++) {
      await trainer.step({ forceRead: i === task.steps - 1 });
      steps += 1;
      await nextTurn();
    }
    const msPerStep = steps ? (performance.now() - t0) / steps : 0;
    return { backend: backend.name, device: backend.device, warning: backend.warning ?? null, msPerStep, checkpointBytes: trainer.checkpointBytes() };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await disposeAfterTask(trainer, failed);
  }
}

export function runGenerate(taskId: TaskId, task: Extract<WorkerTask, { kind: 'generate' }>, signal: AbortSignal, send: Send) {
  return retryIfDeviceLostAtStart((didWork) => runGenerateOnce(taskId, task, signal, send, didWork), signal);
}

async function runGenerateOnce(taskId: TaskId, task: Extract<WorkerTask, { kind: 'generate' }>, signal: AbortSignal, send: Send, didWork: () => void) {
  await initBackend('auto');
  const trainer = await loadTrainer(task.checkpointDir, null);
  let failed = false;
  try {
    await mkdir(task.outDir, { recursive: true });
    const chunk = 32; // images per generator call: bounded device memory, steady progress
    let done = 0;
    while (done < task.count && !signal.aborted) {
      const n = Math.min(chunk, task.count - done);
      const images = await trainer.generate(task.classIndex, n, task.seed, { from: done });
      for (const img of images) {
        const file = join(task.outDir, `seed${task.seed}-${img.latentIndex}.png`);
        await writeAtomic(file, img.png);
        didWork();
        send({ type: 'item', taskId, item: { latentIndex: img.latentIndex, file } });
      }
      done += n;
      send({ type: 'progress', taskId, done, total: task.count });
    }
    return signal.aborted ? ('cancelled' as const) : { generated: done };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    await disposeAfterTask(trainer, failed);
  }
}
