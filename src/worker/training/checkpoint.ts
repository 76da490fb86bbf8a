/**
 * Checkpoints: a directory written atomically.
 *
 *   <dir>/checkpoint.json        format version, family, step, run seed (the whole RNG state, see
 *                                rng.ts), config, optimizer tensor specs and Adam's beta powers
 *   <dir>/generator.json         tfjs-layers topology + weight specs (tf.io.withSaveHandler)
 *   <dir>/generator.weights.bin  weights, little-endian float32 in weight-spec order
 *   <dir>/discriminator.json / discriminator.weights.bin   the same for D / the critic
 *   <dir>/optimizer-g.bin / optimizer-d.bin                Adam state (optimizer.getWeights())
 *
 * Atomicity: everything is written (and fsynced) into `<dir>.tmp-<pid>`; then an existing `<dir>`
 * is renamed to `<dir>.old-<pid>`, the temp dir renamed to `<dir>`, and the old one removed. A crash
 * while writing leaves `<dir>` untouched; a crash between the two renames leaves `<dir>.old-<pid>`,
 * which `resolveCheckpointDir` finds.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors';
import { tf, tfl } from '../backends/tf';
import type { GanConfig } from '../models/config';

export const CHECKPOINT_FORMAT_VERSION = 1;

export interface TensorSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
}

export interface OptimizerState {
  specs: TensorSpec[];
  /** Adam's running beta1^t and beta2^t (float32 values), restored exactly after setWeights. */
  accBeta1: number;
  accBeta2: number;
}

export interface CheckpointMeta {
  formatVersion: number;
  family: GanConfig['family'];
  step: number;
  runSeed: number;
  config: GanConfig;
  optimizerG: OptimizerState;
  optimizerD: OptimizerState;
  savedAt: string;
  /** tfjs version that wrote it (information only). */
  tfjsVersion: string;
}

export interface ModelFiles {
  json: string;
  weights: Buffer;
}

/** Serialises a layers model without file:// handlers. */
export async function serializeModel(model: tfl.LayersModel): Promise<ModelFiles> {
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!artifacts?.weightData) throw new Error('Saving the model produced no weights.');
  const { weightData, ...rest } = artifacts;
  const weights = Buffer.concat(
    (Array.isArray(weightData) ? weightData : [weightData]).map((b) => Buffer.from(b as ArrayBuffer)),
  );
  return { json: JSON.stringify(rest), weights };
}

/**
 * Rebuilds a model from `serializeModel`'s files. The weights' size is checked against their specs
 * first: tfjs would build the whole model before finding them short, and keep its variables.
 */
export async function deserializeModel(files: ModelFiles, name = 'model'): Promise<tfl.LayersModel> {
  const rest = JSON.parse(files.json) as tf.io.ModelArtifacts;
  const specs = rest.weightSpecs ?? [];
  // (our models hold float32 weights only; anything else is left for tfjs to check)
  if (specs.every((spec) => spec.dtype === 'float32' && !spec.quantization)) {
    const expected = specs.reduce((bytes, spec) => bytes + 4 * tf.util.sizeFromShape(spec.shape), 0);
    if (expected !== files.weights.byteLength) throw new AppError('damaged', `The ${name}'s weights in the checkpoint are damaged.`);
  }
  const weightData = files.weights.buffer.slice(files.weights.byteOffset, files.weights.byteOffset + files.weights.byteLength);
  return tfl.loadLayersModel(tf.io.fromMemory({ ...rest, weightData: weightData as ArrayBuffer }));
}

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

/** Adam state as bytes + specs. */
export async function serializeOptimizer(opt: tf.Optimizer): Promise<{ state: OptimizerState; bytes: Buffer }> {
  const named = await opt.getWeights();
  const parts: Buffer[] = [];
  const specs: TensorSpec[] = [];
  for (const { name, tensor } of named) {
    const data = await tensor.data();
    parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    specs.push({ name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32' });
  }
  // getWeights() returns new tensors for 'iter' only; the accumulators are the live variables.
  if (named[0]?.name === 'iter') named[0].tensor.dispose();
  const adam = opt as unknown as Partial<AdamInternals>;
  const accBeta1 = adam.accBeta1 ? (await adam.accBeta1.data())[0]! : 0;
  const accBeta2 = adam.accBeta2 ? (await adam.accBeta2.data())[0]! : 0;
  return { state: { specs, accBeta1, accBeta2 }, bytes: Buffer.concat(parts) };
}

export async function restoreOptimizer(opt: tf.Optimizer, state: OptimizerState, bytes: Buffer): Promise<void> {
  // The size first, before any tensor is made (a short file would leave those made so far behind).
  const total = state.specs.reduce((sum, s) => sum + 4 * tf.util.sizeFromShape(s.shape), 0);
  if (total !== bytes.byteLength) throw new AppError('damaged', 'The optimizer state in the checkpoint is damaged.');
  let offset = 0;
  const named: { name: string; tensor: tf.Tensor }[] = state.specs.map((s) => {
    const n = tf.util.sizeFromShape(s.shape);
    const slice = bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + n * 4);
    offset += n * 4;
    const values = s.dtype === 'int32' ? new Int32Array(slice) : new Float32Array(slice);
    return { name: s.name, tensor: tf.tensor(values, s.shape, s.dtype) };
  });
  await opt.setWeights(named);
  // setWeights turns each accumulator tensor into a variable (a copy): dispose our tensors.
  named.forEach((t) => t.tensor.dispose());
  const adam = opt as unknown as Partial<AdamInternals>;
  if (adam.accBeta1 && adam.accBeta2) {
    // setWeights recomputes beta^t with pow(); training multiplies step by step. Restore the exact
    // float32 values so that a resumed run is bit-identical.
    // (assign shares the scalar's data; the scalar itself is ours to dispose, or each resume kept two)
    for (const [variable, value] of [[adam.accBeta1, state.accBeta1], [adam.accBeta2, state.accBeta2]] as const) {
      const scalar = tf.scalar(value);
      variable.assign(scalar);
      scalar.dispose();
    }
  }
}

async function writeFileSynced(file: string, data: string | Buffer): Promise<void> {
  const fh = await fs.open(file, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Test hook: called after each file written into the temp dir (throw to simulate a crash). */
export type WriteFault = (stage: string) => void;

/** Writes `files` (name -> contents) as directory `dir`, atomically (see the header). */
export async function writeDirAtomically(
  dir: string,
  files: [string, string | Buffer][],
  fault?: WriteFault,
): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  try {
    await fs.mkdir(tmp, { recursive: true });
    for (const [name, data] of files) {
      await writeFileSynced(path.join(tmp, name), data);
      fault?.(name);
    }
    fault?.('before-commit');
  } catch (e) {
    // A write that failed (a full disk) leaves no half-written checkpoint taking space; a crash
    // leaves the temp dir, which the next write of this checkpoint removes first.
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  const old = `${dir}.old-${process.pid}`;
  let hadOld = false;
  try {
    await fs.rename(dir, old);
    hadOld = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await fs.rename(tmp, dir);
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
  // Make the renames durable (best effort: not every platform can fsync a directory).
  try {
    const fh = await fs.open(path.dirname(dir), 'r');
    await fh.sync().catch(() => undefined);
    await fh.close();
  } catch {
    /* ignore */
  }
}

/**
 * The directory to load for `dir`: `dir` itself, or the `<dir>.old-<pid>` left by a crash between
 * the two renames. Null if neither holds a checkpoint.json.
 */
export async function resolveCheckpointDir(dir: string): Promise<string | null> {
  const ok = async (d: string) => fs.access(path.join(d, 'checkpoint.json')).then(() => true, () => false);
  if (await ok(dir)) return dir;
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  const entries = await fs.readdir(parent).catch(() => [] as string[]);
  for (const e of entries.filter((n) => n.startsWith(`${base}.old-`)).sort()) {
    if (await ok(path.join(parent, e))) return path.join(parent, e);
  }
  return null;
}

export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const meta = JSON.parse(await fs.readFile(path.join(dir, 'checkpoint.json'), 'utf8')) as CheckpointMeta;
  if (meta.formatVersion > CHECKPOINT_FORMAT_VERSION)
    throw new Error('This checkpoint was written by a newer version of GAN Augment; update the app to resume it.');
  return meta;
}
