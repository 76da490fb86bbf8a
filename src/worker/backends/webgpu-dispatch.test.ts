/**
 * The cached WebGPU dispatch path (./webgpu-dispatch) against tfjs's own: uniform bytes identical to
 * makeUniforms', the same results for ops of every kind a training step runs (bit for bit, also a
 * whole DCGAN and WGAN-GP step), bind groups reused, uploads without staging buffers, and a clean
 * uninstall. On lavapipe here; skipped, with the reason printed, without a WebGPU adapter.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from './tf';
import { webgpuSkipReason } from './kernels/test-support';
import { fastDispatchStats } from './index';
import { encodeUniforms, installFastDispatch, type WebGpuBackendInternals } from './webgpu-dispatch';
import { makeConfig } from '../models/config';
import { createTrainer } from '../training/trainer';
import { randomDataset } from '../../../test/helpers/training';
import { Prng } from '../training/rng';

const reason = await webgpuSkipReason('fast dispatch tests');
const backend = () => tf.backend() as unknown as WebGpuBackendInternals & {
  makeUniforms(u: Array<{ type: string; data: number[] }>): unknown;
};

/** Runs fn with the backend's own methods (the fast path uninstalled for its duration). */
async function withTfjsDispatch<T>(fn: () => Promise<T>): Promise<T> {
  const be = backend();
  const saved = { record: be.recordAndSubmit, upload: be.uploadToGPU, acquire: be.bufferManager.acquireBuffer, dispose: be.bufferManager.dispose };
  const proto = Object.getPrototypeOf(be) as WebGpuBackendInternals;
  const poolProto = Object.getPrototypeOf(be.bufferManager) as WebGpuBackendInternals['bufferManager'];
  be.recordAndSubmit = proto.recordAndSubmit;
  be.uploadToGPU = proto.uploadToGPU;
  be.bufferManager.acquireBuffer = poolProto.acquireBuffer;
  be.bufferManager.dispose = poolProto.dispose;
  try {
    return await fn();
  } finally {
    Object.assign(be, { recordAndSubmit: saved.record, uploadToGPU: saved.upload });
    Object.assign(be.bufferManager, { acquireBuffer: saved.acquire, dispose: saved.dispose });
  }
}

/** A mix of the programs a training step runs: broadcasting, reductions, transposes, slices, convs, int and bool uploads. */
async function opMix(): Promise<Float32Array[]> {
  const out = tf.tidy(() => {
    const rng = new Prng(7);
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 9 * 7 * 5 }, () => rng.next() * 2 - 1), [2, 9, 7, 5]);
    const w = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 5 * 6 }, () => rng.next() - 0.5), [3, 3, 5, 6]);
    const b = tf.tensor1d([0.1, -0.2, 0.3, 0.05, 0, -0.4]);
    const conv = tf.conv2d(x, w, 2, 'same');
    const fused = tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'valid', bias: b, activation: 'leakyrelu', leakyreluAlpha: 0.2 });
    const [dx, dw] = tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(tf.square(tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 2, 'same'))))([x, w]);
    const ints = tf.tensor1d([3, 1, 2], 'int32');
    const bools = tf.tensor1d([true, false, true], 'bool');
    const picked = tf.where(bools, tf.cast(ints, 'float32'), tf.fill([3], -1));
    const stats = tf.moments(conv, [0, 1, 2]);
    return [
      conv,
      fused,
      dx!,
      dw!,
      tf.mul(tf.add(x, 1.5), tf.scalar(0.25)),
      tf.sub(tf.mean(x, [1, 2], true), x),
      tf.transpose(x, [0, 3, 1, 2]),
      tf.slice(x, [1, 2, 0, 1], [1, 5, 7, 3]),
      tf.concat([x, x], 3),
      tf.sigmoid(tf.max(x, 3)),
      picked,
      stats.mean,
      stats.variance,
    ];
  });
  const data = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(out);
  return data;
}

async function dcganLosses(family: 'dcgan' | 'cwgan-gp'): Promise<number[]> {
  const ds = randomDataset(3, [0, 1, 0, 1]);
  const config = makeConfig(family, 32, { preset: 'tiny', batchSize: 4, numClasses: 2 });
  const t = createTrainer(family === 'cwgan-gp' ? { ...config, nCritic: 2 } : config, ds, { seed: 5 });
  const losses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await t.step();
    losses.push(m.dLoss!, m.gLoss!);
  }
  const weights = await Promise.all(t.generator.getWeights().map((w) => w.data()));
  t.dispose();
  return [...losses, ...weights.flatMap((w) => Array.from(w.slice(0, 8)))];
}

describe.skipIf(reason !== '')('cached WebGPU dispatch', () => {
  afterAll(() => tf.disposeVariables());

  it('is installed by initBackend and counts its work', () => {
    expect(fastDispatchStats()).not.toBeNull();
  });

  it("lays out uniforms byte for byte as tfjs's makeUniforms", () => {
    const be = backend();
    const cases: Array<Array<{ type: string; data: number[] }>> = [
      [{ type: 'float32', data: [NaN] }, { type: 'float32', data: [Infinity] }, { type: 'int32', data: [] }, { type: 'int32', data: [] }],
      [
        { type: 'float32', data: [NaN] },
        { type: 'float32', data: [Infinity] },
        { type: 'int32', data: [2, 9, 7, 5] },
        { type: 'int32', data: [315, 35, 5] },
        { type: 'int32', data: [4, 5] },
        { type: 'int32', data: [5] },
        { type: 'int32', data: [630] },
        { type: 'float32', data: [0.2] },
        { type: 'int32', data: [1, 2] },
      ],
      [
        { type: 'int32', data: [1, 2, 3, 4, 5] },
        { type: 'float32', data: [0.5] },
        { type: 'int32', data: [1, 2, 3, 4, 5, 6] },
        { type: 'uint32', data: [7, 8, 9] },
        { type: 'int32', data: [1, 2] },
      ],
    ];
    for (const fields of cases) {
      let written: Uint8Array | null = null;
      const queue = be.queue as unknown as { writeBuffer: (b: unknown, o: unknown, data: ArrayBuffer, dataOffset?: number, size?: number) => void };
      const original = queue.writeBuffer;
      queue.writeBuffer = (_b, _o, data, dataOffset = 0, size) => {
        written = new Uint8Array(data, dataOffset, size ?? data.byteLength).slice();
      };
      try {
        be.makeUniforms(fields.map((f) => ({ type: f.type, data: [...f.data] })));
      } finally {
        queue.writeBuffer = original;
      }
      expect(written).not.toBeNull();
      expect(Array.from(new Uint8Array(encodeUniforms(fields)))).toEqual(Array.from(written!));
    }
  });

  it("gives tfjs's results bit for bit, reuses bind groups, and uploads without staging buffers", async () => {
    const reference = await withTfjsDispatch(opMix);
    const stats = fastDispatchStats()!;
    const first = await opMix();
    expect(first).toEqual(reference);
    const created = stats.bindGroupsCreated;
    const reused = stats.bindGroupsReused;
    const uniforms = stats.uniformBuffersCreated;
    // The same ops again: the same programs on (mostly) the same pooled buffers.
    const device = backend().device as unknown as { createBuffer: (d: { usage: number }) => unknown };
    const createBuffer = device.createBuffer;
    let staging = 0;
    device.createBuffer = function (this: unknown, d) {
      if (d.usage & (globalThis as unknown as { GPUBufferUsage: { MAP_WRITE: number } }).GPUBufferUsage.MAP_WRITE) staging++;
      return createBuffer.call(this, d);
    };
    let again: Float32Array[];
    try {
      again = await opMix();
    } finally {
      device.createBuffer = createBuffer;
    }
    expect(again).toEqual(reference);
    expect(staging).toBe(0);
    expect(stats.uniformBuffersCreated).toBe(uniforms);
    expect(stats.bindGroupsReused - reused).toBeGreaterThan(stats.bindGroupsCreated - created);
    expect(stats.uploadsWritten).toBeGreaterThan(0);
  });

  it("trains DCGAN and WGAN-GP steps exactly as tfjs's dispatch does", async () => {
    for (const family of ['dcgan', 'cwgan-gp'] as const) {
      const reference = await withTfjsDispatch(() => dcganLosses(family));
      const ours = await dcganLosses(family);
      expect(ours.every(Number.isFinite)).toBe(true);
      expect(ours).toEqual(reference);
    }
  }, 300_000);

  it('stays correct when its caches overflow, and destroys the uniform buffers it drops', async () => {
    const be = backend();
    const reference = await withTfjsDispatch(opMix);
    const proto = (globalThis as unknown as { GPUBuffer: { prototype: { destroy(): void } } }).GPUBuffer.prototype;
    const destroy = proto.destroy;
    let destroyed = 0;
    proto.destroy = function (this: unknown) {
      destroyed++;
      return destroy.call(this);
    };
    const fd = installFastDispatch(be, { bindGroups: 3, uniformBuffers: 4 });
    try {
      expect(await opMix()).toEqual(reference);
      expect(await opMix()).toEqual(reference);
      expect(destroyed).toBeGreaterThan(0);
      expect(fd.stats.uniformBuffersCreated).toBeGreaterThan(4);
    } finally {
      fd.uninstall();
      proto.destroy = destroy;
    }
  });

  it('uninstalls cleanly, leaving no tensors behind', async () => {
    const be = backend();
    const before = tf.memory().numTensors;
    const fd = installFastDispatch(be); // a second layer over the installed one
    const own = be.recordAndSubmit;
    const r = await opMix();
    expect(fd.stats.dispatches).toBeGreaterThan(0);
    fd.uninstall();
    expect(be.recordAndSubmit).not.toBe(own);
    expect(await opMix()).toEqual(r);
    expect(tf.memory().numTensors).toBe(before);
  });
});
