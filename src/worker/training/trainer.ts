/**
 * Training of both model families. One Trainer owns G, D (or the critic), their Adam optimizers,
 * the step counter and the run seed; it never touches files except in saveCheckpoint / load.
 *
 * Determinism: every random draw of step s takes a seed from hashSeed(runSeed, s, purpose)
 * (batches, z, interpolation weights, DiffAugment parameters), so the RNG state is (runSeed, step)
 * and a resumed run replays exactly what the uninterrupted run would have done (bit-identical on the
 * CPU backend; GPU kernels may differ in the last bits between runs).
 *
 * Sync cost: reading a loss back (`await t.data()`) waits for the device to finish the whole step
 * (a GPU->CPU round trip and a pipeline drain, typically 0.1-1 ms plus the queued work on WebGPU).
 * With `readLossEvery: N > 1` the losses of other steps are not read (null in the metrics) and the
 * GPU can run ahead; their `stepMs` then measures only the time to enqueue the step, and the step
 * that reads pays for the queue. Average stepMs over N steps for a true rate.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { tf, type tfl } from '../backends/tf';
import { WasmHeapFullError, currentBackend, markWasmBackendBroken, releaseKernelCaches, wasmHeapBytes, webGpuDeviceLost } from '../backends';
import { AppError } from '../../shared/errors';
import { createAdam, type FusedAdamOptimizer } from '../backends/kernels/adam';
import { injectFaults } from './faults';
import { type GanConfig, validateConfig } from '../models/config';
import {
  buildConditionalGenerator,
  buildDcganDiscriminator,
  buildDcganGenerator,
  buildProjectionCritic,
} from '../models/networks';
import { bceWithLogits, criticLoss, meanDifference } from '../models/losses';
import { makeDiffAugment } from '../models/diffaugment';
import { hashSeed, prngFor } from './rng';
import { type Dataset, batchImages, batchLabels, sampleIndices } from './dataset';
import { gridPng, imagesToPngs } from './images';
import { DeviceOutOfMemoryError, isOutOfMemory, type MemoryPlace, WASM_FAILURE_PATTERNS } from './errors';
import {
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  type WriteFault,
  deserializeModel,
  readCheckpointMeta,
  resolveCheckpointDir,
  restoreOptimizer,
  serializeModel,
  serializeOptimizer,
  writeDirAtomically,
} from './checkpoint';

export interface StepMetrics {
  /** The step just completed (1-based: the first step() returns 1). */
  step: number;
  /** D loss (DCGAN: BCE real + fake) or critic loss (WGAN-GP: E[D(fake)] - E[D(real)] + lambda GP), last critic update; null when not read back. */
  dLoss: number | null;
  /** G loss (DCGAN: BCE of fakes as real; WGAN-GP: -E[D(fake)]); null when not read back. */
  gLoss: number | null;
  /** WGAN-GP: E[D(real)] - E[D(fake)] of the last critic update (the Wasserstein estimate). */
  wassersteinEstimate?: number | null;
  /** WGAN-GP: the gradient penalty (without lambda) of the last critic update. */
  gradientPenalty?: number | null;
  /** Wall time of this step in ms (see the header about syncs). */
  stepMs: number;
  /** Whether the losses were read back (the device was synced) in this step. */
  synced: boolean;
}

/**
 * On a real GPU the losses are read back every few steps only: each read-back drains the device
 * queue, so the CPU cannot enqueue the next step while the GPU finishes this one (issue 5). The loss
 * curves get a point every GPU_READ_LOSS_EVERY steps, its time per step averaged over them. On the
 * CPU (a step takes seconds) every step is read. The app's training tasks and the training benchmark
 * both use this cadence. On an H200 (docs/PERFORMANCE.md, "fifth visit") reading every 4th step cost
 * DCGAN-64 at batch 256 about 1 ms of a 26 ms step, reading every step 4 ms.
 */
const GPU_READ_LOSS_EVERY = 4;
export const readLossEveryOn = (backend: { isGpu: boolean }): number => (backend.isGpu ? GPU_READ_LOSS_EVERY : 1);

export interface TrainerOptions {
  /** Seed of the run: every random draw derives from it. */
  seed: number;
  /** Read losses back every N steps (1 = every step). Default 1. */
  readLossEvery?: number;
}

export interface GeneratedImage {
  /** PNG bytes. */
  png: Buffer;
  /** Index of the latent vector within (seed): z = normal(hashSeed(seed, 'latent', latentIndex)). */
  latentIndex: number;
  classIndex: number;
  seed: number;
}

type Family = GanConfig['family'];

interface ErrorScopeDevice {
  pushErrorScope(filter: 'out-of-memory' | 'validation' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
  lost?: Promise<unknown>;
}

type TapeState = { activeTape: Array<{ saved?: tf.Tensor[] }> | null; gradientDepth: number };

/**
 * Frees the tensors that a gradient tape saved for its backward pass. tfjs frees them only when the
 * backward pass completes; a step that fails part-way (out of memory, a lost device) left them, and
 * with them the step's activations, held until the process ended. Uses tfjs-core 4.22's engine state,
 * as `outsideTape` does.
 */
function discardTape(tape: TapeState['activeTape']): void {
  for (const node of tape ?? []) for (const t of node.saved ?? []) t.dispose();
}

/** After a failed step: the top-level tape, if one is left, is discarded. */
function discardFailedTape(): void {
  const state = tf.engine().state as unknown as TapeState;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  discardTape(state.activeTape);
  state.activeTape = null;
}

/** Where the current backend keeps its tensors, for the out-of-memory message. */
function memoryPlace(): MemoryPlace {
  const backend = currentBackend();
  if (backend?.name === 'wasm') return 'wasm';
  return backend?.isGpu ? 'gpu' : 'cpu';
}

/**
 * Runs fn; WebGPU out-of-memory errors (reported asynchronously by the device) become exceptions,
 * and so does a lost WebGPU device (its commands fail, or are silently dropped when nothing is read
 * back); a failed WebAssembly module is marked for replacement.
 */
async function guardDevice<T>(fn: () => Promise<T>): Promise<T> {
  const device =
    tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as { device?: ErrorScopeDevice }).device : undefined;
  device?.pushErrorScope('out-of-memory');
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    discardFailedTape();
    if (device) {
      await device.popErrorScope().catch(() => null);
      // A lost device's commands can fail before its lost promise settles: give it a moment.
      if (device.lost) await Promise.race([device.lost, new Promise((resolve) => setTimeout(resolve, 250))]);
      throwIfDeviceLost(e);
    }
    if (currentBackend()?.name === 'wasm') throwIfWasmFailed(e);
    if (isOutOfMemory(e)) throw e instanceof DeviceOutOfMemoryError ? e : new DeviceOutOfMemoryError(e, memoryPlace());
    throw e;
  }
  const err = device ? await device.popErrorScope().catch(() => null) : null;
  if (device) throwIfDeviceLost(null);
  if (err) throw new DeviceOutOfMemoryError(new Error(err.message), 'gpu');
  return result;
}

function throwIfDeviceLost(cause: unknown): void {
  const lost = webGpuDeviceLost();
  if (!lost) return;
  throw new AppError(
    'device-lost',
    `The GPU stopped working (WebGPU lost the device: ${lost.message}). Your project is safe, and a training ` +
      'run can continue from its last checkpoint. If this happens again, update the graphics driver, close other ' +
      'programs that use the GPU, or try a smaller batch size.',
    { cause },
  );
}

/**
 * A WebAssembly module that trapped or aborted cannot be trusted again: it is marked for replacement
 * (the next task starts a fresh one). When a tensor could not be allocated, or its heap had grown
 * close to WebAssembly's 4 GB, the cause was memory; otherwise it is reported as a failure of the
 * backend, not as out of memory.
 */
function throwIfWasmFailed(e: unknown): void {
  const text = e instanceof Error ? `${e.name} ${e.message}` : String(e);
  const heapFull = e instanceof WasmHeapFullError; // a tensor that could not be allocated (the backend's guard)
  if (!heapFull && !WASM_FAILURE_PATTERNS.test(text)) return;
  markWasmBackendBroken();
  if (heapFull || wasmHeapBytes() >= WASM_HEAP_NEARLY_FULL) throw new DeviceOutOfMemoryError(e, 'wasm');
  throw new AppError(
    'internal',
    `The processor backend (WebAssembly) failed (${e instanceof Error ? e.message : text}). Your project is safe; ` +
      'the next task starts it afresh. If it happens again, please report it.',
    { cause: e },
  );
}

/** 3.5 GiB: a heap this large when a kernel traps ran out of WebAssembly's 4 GB. */
const WASM_HEAP_NEARLY_FULL = 3.5 * 2 ** 30;

/** Trainable variables in a fixed order (Adam keys its state by position). */
function trainableVars(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** variableGrads + applyGradients, with zeros for variables that got no gradient. */
function applyStep(opt: tf.Optimizer, vars: tf.Variable[], loss: () => tf.Scalar): tf.Scalar {
  const { value, grads } = tf.variableGrads(loss, vars);
  const ordered: tf.NamedTensorMap = {};
  for (const v of vars) ordered[v.name] = grads[v.name] ?? tf.zerosLike(v);
  opt.applyGradients(ordered);
  return value;
}

/**
 * Runs fn with no gradient tape active: inside a variableGrads / tf.grads call, fn's operations are
 * neither recorded for the enclosing gradient nor kept alive for it, and a gradient fn computes
 * itself is finished and freed as if it ran at the top level. Tensors made before fn are constants
 * to fn's own gradients (PyTorch's detach()). Uses tfjs-core 4.22's engine state (activeTape,
 * gradientDepth), restored even when fn throws.
 */
export function outsideTape<T>(fn: () => T): T {
  const state = tf.engine().state as unknown as { activeTape: unknown[] | null; gradientDepth: number };
  const tape = state.activeTape;
  const depth = state.gradientDepth;
  state.activeTape = null;
  state.gradientDepth = 0;
  try {
    return fn();
  } catch (e) {
    // fn's own tape, left by a failure part-way through its gradients (see discardTape).
    if (state.activeTape !== tape) discardTape(state.activeTape as TapeState['activeTape']);
    throw e;
  } finally {
    state.activeTape = tape;
    state.gradientDepth = depth;
  }
}

export abstract class GanTrainer {
  readonly config: GanConfig;
  readonly seed: number;
  readonly generator: tfl.LayersModel;
  readonly discriminator: tfl.LayersModel;
  protected readonly optG: FusedAdamOptimizer;
  protected readonly optD: FusedAdamOptimizer;
  protected readonly dataset: Dataset | null;
  protected readonly readLossEvery: number;
  /** Steps completed. */
  protected stepCount = 0;

  protected constructor(
    config: GanConfig,
    dataset: Dataset | null,
    options: TrainerOptions,
    models?: { generator: tfl.LayersModel; discriminator: tfl.LayersModel },
  ) {
    validateConfig(config);
    if (dataset) {
      if (dataset.resolution !== config.resolution || dataset.channels !== config.channels)
        throw new Error(
          `The dataset is ${dataset.resolution}px x ${dataset.channels} channels; the model expects ${config.resolution}px x ${config.channels}.`,
        );
      if (config.family === 'cwgan-gp' && dataset.numClasses > config.numClasses)
        throw new Error(`The dataset has ${dataset.numClasses} classes; the model knows ${config.numClasses}.`);
    }
    this.config = config;
    this.seed = options.seed >>> 0;
    this.dataset = dataset;
    this.readLossEvery = Math.max(1, Math.floor(options.readLossEvery ?? 1));
    const built = models ?? this.build();
    this.generator = built.generator;
    this.discriminator = built.discriminator;
    // tfjs's Adam, with its per-variable update fused into one dispatch on WebGPU and one pass on
    // WebAssembly (../backends/kernels/adam).
    this.optG = createAdam(config.learningRateG, config.beta1, config.beta2, config.adamEpsilon);
    this.optD = createAdam(config.learningRateD, config.beta1, config.beta2, config.adamEpsilon);
  }

  /**
   * Both optimizers so far, for benchmarks: variables updated in one in-place dispatch (WebGPU; 0
   * elsewhere), and milliseconds spent applying gradients (on WebGPU, recording the updates).
   */
  adamStats(): { updatesInPlace: number; applyMs: number } {
    const opts = [this.optG, this.optD];
    return {
      updatesInPlace: opts.reduce((n, o) => n + (o.inPlace?.dispatches ?? 0), 0),
      applyMs: opts.reduce((n, o) => n + o.applyMs, 0),
    };
  }

  protected abstract build(): { generator: tfl.LayersModel; discriminator: tfl.LayersModel };
  /** One training step's tensors; returns the scalars to read (kept outside tidy; caller disposes). */
  protected abstract stepTensors(step: number): Record<string, tf.Scalar>;

  get family(): Family {
    return this.config.family;
  }

  /** Steps completed so far. */
  get currentStep(): number {
    return this.stepCount;
  }

  protected requireDataset(): Dataset {
    if (!this.dataset) throw new Error('This trainer was loaded without a dataset: it can generate but not train.');
    return this.dataset;
  }

  /** One training step (DCGAN: one D and one G update; WGAN-GP: n_critic critic updates and one G update). */
  async step(options: { forceRead?: boolean } = {}): Promise<StepMetrics> {
    this.requireDataset();
    const s = this.stepCount + 1;
    const t0 = performance.now();
    const read = options.forceRead === true || s % this.readLossEvery === 0;
    return guardDevice(async () => {
      injectFaults(s); // only where GAN_AUGMENT_TEST_FAULTS asks (end-to-end tests)
      const scalars = this.stepTensors(s);
      let values: Record<string, number> | null = null;
      try {
        if (read) {
          const keys = Object.keys(scalars);
          const data = await Promise.all(keys.map((k) => scalars[k]!.data()));
          values = Object.fromEntries(keys.map((k, i) => [k, data[i]![0]!]));
        }
      } finally {
        Object.values(scalars).forEach((t) => t.dispose());
      }
      this.stepCount = s;
      const metrics: StepMetrics = {
        step: s,
        dLoss: values?.dLoss ?? null,
        gLoss: values?.gLoss ?? null,
        stepMs: performance.now() - t0,
        synced: read,
      };
      if (this.family === 'cwgan-gp') {
        metrics.wassersteinEstimate = values?.wasserstein ?? null;
        metrics.gradientPenalty = values?.gp ?? null;
      }
      return metrics;
    });
  }

  /** z for (seed, latent index): normal(0, 1), [latentDim], independent of batch composition. */
  protected latents(seed: number, first: number, count: number): tf.Tensor2D {
    return tf.tidy(() =>
      tf.stack(
        Array.from({ length: count }, (_, i) =>
          tf.randomNormal([this.config.latentDim], 0, 1, 'float32', hashSeed(seed, 'latent', first + i)),
        ),
      ) as tf.Tensor2D,
    );
  }

  /** Runs G in inference mode (BatchNorm uses its moving averages). */
  protected generateTensor(z: tf.Tensor2D, classIndex: number): tf.Tensor4D {
    return tf.tidy(() => {
      if (this.family === 'dcgan') return this.generator.predict(z) as tf.Tensor4D;
      const labels = tf.fill([z.shape[0], 1], classIndex, 'int32');
      return this.generator.predict([z, labels]) as tf.Tensor4D;
    });
  }

  /**
   * A PNG grid: one row per class (DCGAN: one row), `perClass` columns. Column j of every row uses
   * the same fixed latent (seed hashSeed(runSeed, 'grid'), index j), so grids of successive
   * checkpoints are comparable and mode collapse shows as identical columns.
   */
  async sampleGrid(options: { perClass?: number; classes?: number[] } = {}): Promise<Buffer> {
    const perClass = options.perClass ?? 8;
    const classes = this.family === 'dcgan' ? [0] : (options.classes ?? Array.from({ length: this.config.numClasses }, (_, i) => i));
    return guardDevice(async () => {
      const images = tf.tidy(() => {
        const z = this.latents(hashSeed(this.seed, 'grid'), 0, perClass);
        return tf.concat(classes.map((c) => this.generateTensor(z, c))) as tf.Tensor4D;
      });
      try {
        return await gridPng(images, classes.length, perClass);
      } finally {
        images.dispose();
      }
    });
  }

  /** `count` PNGs of class `classIndex` (ignored by DCGAN) from latents (seed, from..from+count-1). */
  async generate(classIndex: number, count: number, seed: number, options: { batchSize?: number; from?: number } = {}): Promise<GeneratedImage[]> {
    if (this.family === 'cwgan-gp' && (classIndex < 0 || classIndex >= this.config.numClasses))
      throw new Error(`Class ${classIndex} is not one this model was trained on.`);
    const bs = options.batchSize ?? 32;
    const out: GeneratedImage[] = [];
    const from = options.from ?? 0;
    for (let first = from; first < from + count; first += bs) {
      const n = Math.min(bs, from + count - first);
      const pngs = await guardDevice(async () => {
        const images = tf.tidy(() => this.generateTensor(this.latents(seed, first, n), classIndex));
        try {
          return await imagesToPngs(images);
        } finally {
          images.dispose();
        }
      });
      pngs.forEach((png, i) => out.push({ png, latentIndex: first + i, classIndex, seed }));
    }
    return out;
  }

  /** Writes a checkpoint directory atomically (see checkpoint.ts). `fault` is a test hook. */
  async saveCheckpoint(dir: string, options: { fault?: WriteFault } = {}): Promise<void> {
    // Reading the weights back is device work too (a lost GPU or a broken WebAssembly module fails here).
    const [g, d, og, od] = await guardDevice(async () => [
      await serializeModel(this.generator),
      await serializeModel(this.discriminator),
      await serializeOptimizer(this.optG),
      await serializeOptimizer(this.optD),
    ] as const);
    const meta: CheckpointMeta = {
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      family: this.family,
      step: this.stepCount,
      runSeed: this.seed,
      config: this.config,
      optimizerG: og.state,
      optimizerD: od.state,
      savedAt: new Date().toISOString(),
      tfjsVersion: tf.version_core,
    };
    await fs.mkdir(path.dirname(path.resolve(dir)), { recursive: true });
    await writeDirAtomically(
      dir,
      [
        ['generator.json', g.json],
        ['generator.weights.bin', g.weights],
        ['discriminator.json', d.json],
        ['discriminator.weights.bin', d.weights],
        ['optimizer-g.bin', og.bytes],
        ['optimizer-d.bin', od.bytes],
        // Last: a directory without checkpoint.json is never taken for a checkpoint.
        ['checkpoint.json', JSON.stringify(meta, null, 2)],
      ],
      options.fault,
    );
  }

  /**
   * About how many bytes `saveCheckpoint` writes (within a few KB): both networks' weights, Adam's two
   * moments of every trainable weight, the topologies and the metadata. For the disk a run needs.
   */
  checkpointBytes(): number {
    let bytes = 8 * 1024; // checkpoint.json (the config, pretty-printed), the optimizers' step counters
    for (const model of [this.generator, this.discriminator]) {
      const trainable = model.trainableWeights.reduce((a, w) => a + tf.util.sizeFromShape(w.shape as number[]), 0);
      bytes += 4 * (model.countParams() + 2 * trainable);
      bytes += JSON.stringify(model.toJSON(null, false)).length + 64 * model.weights.length; // the topology, the weights manifest
    }
    return bytes;
  }

  /** Restores optimizer state and the step counter (models are restored by the factory). */
  protected async restoreState(dir: string, meta: CheckpointMeta): Promise<void> {
    // Adam creates its accumulators lazily; setWeights creates them from the checkpoint.
    await restoreOptimizer(this.optG, meta.optimizerG, await fs.readFile(path.join(dir, 'optimizer-g.bin')));
    await restoreOptimizer(this.optD, meta.optimizerD, await fs.readFile(path.join(dir, 'optimizer-d.bin')));
    this.stepCount = meta.step;
  }

  /** Frees all tensors and variables of this trainer. */
  dispose(): void {
    try {
      this.generator.dispose();
      this.discriminator.dispose();
      this.optG.dispose();
      this.optD.dispose();
    } finally {
      releaseKernelCaches();
    }
  }
}

/** DCGAN (Radford et al. 2016): BCE with logits, one D update and one G update per step. */
export class DcganTrainer extends GanTrainer {
  constructor(config: GanConfig, dataset: Dataset | null, options: TrainerOptions, models?: { generator: tfl.LayersModel; discriminator: tfl.LayersModel }) {
    if (config.family !== 'dcgan') throw new Error('DcganTrainer needs a dcgan config.');
    super(config, dataset, options, models);
  }

  protected build() {
    return { generator: buildDcganGenerator(this.config, this.seed), discriminator: buildDcganDiscriminator(this.config, this.seed) };
  }

  protected stepTensors(s: number): Record<string, tf.Scalar> {
    const ds = this.requireDataset();
    const c = this.config;
    const B = c.batchSize;
    const idx = sampleIndices(ds, B, prngFor(this.seed, s, 'batch'), c.balancedClasses);
    const G = this.generator;
    const D = this.discriminator;
    const augD = makeDiffAugment(c.diffAugment, B, c.resolution, c.channels, hashSeed(this.seed, s, 'augment/d'));
    const augG = makeDiffAugment(c.diffAugment, B, c.resolution, c.channels, hashSeed(this.seed, s, 'augment/g'));
    return tf.tidy(() => {
      const real = batchImages(ds, idx); // [B, R, R, C] in [-1, 1]
      const z = tf.randomNormal([B, c.latentDim], 0, 1, 'float32', hashSeed(this.seed, s, 'z')) as tf.Tensor2D; // [B, latentDim]
      // One G forward pass serves both updates, as in PyTorch's DCGAN loop (fake = G(z); D steps on
      // fake.detach(); G steps on D(fake) with the updated D). G runs in training mode (batch statistics).
      // As in PyTorch, G's tape (its activations) stays alive through D's update.
      let dLoss: tf.Scalar | null = null;
      const gUpdate = () => applyStep(this.optG, trainableVars(G), () => {
        const fake = G.apply(z, { training: true }) as tf.Tensor4D;
        // D update on real and fake, off G's tape: fake is a constant there (detached).
        dLoss = tf.keep(
          outsideTape(() =>
            applyStep(this.optD, trainableVars(D), () =>
              tf.add(
                bceWithLogits(D.apply(augD(real), { training: true }) as tf.Tensor, 1),
                bceWithLogits(D.apply(augD(fake), { training: true }) as tf.Tensor, 0),
              ) as tf.Scalar,
            ),
          ),
        );
        return bceWithLogits(D.apply(augG(fake), { training: true }) as tf.Tensor, 1);
      });
      let gLoss: tf.Scalar;
      try {
        gLoss = gUpdate();
      } catch (e) {
        (dLoss as tf.Scalar | null)?.dispose(); // kept above: tidy would not free it
        throw e;
      }
      return { dLoss: dLoss!, gLoss };
    });
  }
}

/**
 * Conditional WGAN-GP (Gulrajani et al. 2017) with a projection critic: n_critic critic updates
 * (each on a fresh real batch, its labels for the fakes) and one generator update per step.
 */
export class CwganGpTrainer extends GanTrainer {
  constructor(config: GanConfig, dataset: Dataset | null, options: TrainerOptions, models?: { generator: tfl.LayersModel; discriminator: tfl.LayersModel }) {
    if (config.family !== 'cwgan-gp') throw new Error('CwganGpTrainer needs a cwgan-gp config.');
    super(config, dataset, options, models);
  }

  protected build() {
    return { generator: buildConditionalGenerator(this.config, this.seed), discriminator: buildProjectionCritic(this.config, this.seed) };
  }

  protected stepTensors(s: number): Record<string, tf.Scalar> {
    const ds = this.requireDataset();
    const c = this.config;
    const B = c.batchSize;
    const G = this.generator;
    const D = this.discriminator;
    const critic = (x: tf.Tensor4D, y: tf.Tensor2D) => D.apply([x, y], { training: true }) as tf.Tensor;
    const out: Record<string, tf.Scalar> = {};
    for (let i = 0; i < c.nCritic; i++) {
      const purpose = `critic${i}`;
      const idx = sampleIndices(ds, B, prngFor(this.seed, s, `${purpose}/batch`), c.balancedClasses);
      const aug = makeDiffAugment(c.diffAugment, B, c.resolution, c.channels, hashSeed(this.seed, s, `${purpose}/augment`));
      const last = i === c.nCritic - 1;
      let w: tf.Scalar | null = null;
      let gp: tf.Scalar | null = null;
      const loss = tf.tidy(() => {
        const real = batchImages(ds, idx); // [B, R, R, C]
        const labels = batchLabels(ds, idx); // [B, 1] int32
        // Real and fake are scored as one batch: their labels twice, made here rather than concatenated on the device.
        const pairLabels = batchLabels(ds, Int32Array.from([...idx, ...idx]));
        const z = tf.randomNormal([B, c.latentDim], 0, 1, 'float32', hashSeed(this.seed, s, `${purpose}/z`)) as tf.Tensor2D;
        const fake = G.apply([z, labels], { training: true }) as tf.Tensor4D;
        // One interpolation weight per sample: [B, 1, 1, 1].
        const eps = tf.randomUniform([B, 1, 1, 1], 0, 1, 'float32', hashSeed(this.seed, s, `${purpose}/eps`)) as tf.Tensor4D;
        return applyStep(this.optD, trainableVars(D), () => {
          const parts = criticLoss(critic, aug(real), aug(fake), labels, eps, c.gradientPenaltyWeight, last, pairLabels);
          if (parts.wasserstein && parts.penalty) {
            w = tf.keep(tf.clone(parts.wasserstein));
            gp = tf.keep(tf.clone(parts.penalty));
          }
          return parts.loss;
        });
      });
      if (last && w && gp) {
        out.dLoss = loss;
        out.wasserstein = w;
        out.gp = gp;
      } else {
        loss.dispose();
      }
    }
    // Generator update: labels of a real batch (class-balanced if configured).
    const idx = sampleIndices(ds, B, prngFor(this.seed, s, 'gen/batch'), c.balancedClasses);
    const augG = makeDiffAugment(c.diffAugment, B, c.resolution, c.channels, hashSeed(this.seed, s, 'gen/augment'));
    out.gLoss = tf.tidy(() => {
      const labels = batchLabels(ds, idx);
      const z = tf.randomNormal([B, c.latentDim], 0, 1, 'float32', hashSeed(this.seed, s, 'gen/z')) as tf.Tensor2D;
      return applyStep(this.optG, trainableVars(G), () =>
        meanDifference(critic(augG(G.apply([z, labels], { training: true }) as tf.Tensor4D), labels), 0),
      );
    });
    return out;
  }
}

export type Trainer = DcganTrainer | CwganGpTrainer;

/** A new trainer with freshly initialised networks (initialisation seeded from options.seed). */
export function createTrainer(config: GanConfig, dataset: Dataset | null, options: TrainerOptions): Trainer {
  return config.family === 'dcgan' ? new DcganTrainer(config, dataset, options) : new CwganGpTrainer(config, dataset, options);
}

/**
 * Loads a checkpoint directory (or the `.old-<pid>` copy a crash left) into a new trainer. Pass the
 * dataset to continue training; null to only generate.
 */
export async function loadTrainer(dir: string, dataset: Dataset | null, options: { readLossEvery?: number } = {}): Promise<Trainer> {
  const resolved = await resolveCheckpointDir(dir);
  if (!resolved) throw new Error(`No checkpoint found at ${dir}.`);
  const meta = await readCheckpointMeta(resolved);
  const read = async (name: string) => ({
    json: await fs.readFile(path.join(resolved, `${name}.json`), 'utf8'),
    weights: await fs.readFile(path.join(resolved, `${name}.weights.bin`)),
  });
  // A damaged checkpoint fails part-way: what was built by then is freed (the worker lives on to
  // run other tasks, and would otherwise keep a model's weights for ever).
  const generator = await deserializeModel(await read('generator'), 'generator');
  let discriminator: tfl.LayersModel;
  try {
    discriminator = await deserializeModel(await read('discriminator'), 'discriminator');
  } catch (e) {
    generator.dispose();
    throw e;
  }
  const models = { generator, discriminator };
  const opts: TrainerOptions = { seed: meta.runSeed, readLossEvery: options.readLossEvery };
  let trainer: Trainer;
  try {
    trainer = meta.family === 'dcgan' ? new DcganTrainer(meta.config, dataset, opts, models) : new CwganGpTrainer(meta.config, dataset, opts, models);
  } catch (e) {
    generator.dispose();
    discriminator.dispose();
    throw e;
  }
  try {
    await (trainer as unknown as { restoreState(d: string, m: CheckpointMeta): Promise<void> }).restoreState(resolved, meta);
  } catch (e) {
    trainer.dispose();
    throw e;
  }
  return trainer;
}

/** Reads a checkpoint's metadata (step, config, seed) without building models. */
export async function readCheckpoint(dir: string): Promise<CheckpointMeta> {
  const resolved = await resolveCheckpointDir(dir);
  if (!resolved) throw new Error(`No checkpoint found at ${dir}.`);
  return readCheckpointMeta(resolved);
}
