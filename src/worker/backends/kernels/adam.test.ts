/**
 * The fused Adam (./adam) against tfjs's own AdamOptimizer on WebGPU (lavapipe here), step by step,
 * including a checkpoint round trip through getWeights / setWeights. Skipped, with the reason
 * printed, when no WebGPU adapter exists. Its own file: the tfjs backend is process-wide.
 */
import { describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { adamTwins, maxRelDiff, webgpuSkipReason, withOurKernelsOff } from './test-support';
import { createAdam, type FusedAdamOptimizer } from './adam';
import { AdamInPlace } from './adam-in-place';
import type { InPlaceBackendInternals } from './in-place';
import { Prng } from '../../training/rng';
import { randomArray } from './test-support';

const reason = await webgpuSkipReason('fused Adam tests');

/** Shapes of a small network's variables, one of them larger than one dispatch's threads. */
const SHAPES: number[][] = [[4, 4, 3, 8], [8], [7], [100, 33], [1], [5000, 900]];

describe.skipIf(reason !== '')('fused Adam (WebGPU)', () => {
  it("matches tfjs's Adam over several steps, survives a getWeights / setWeights round trip, leaks nothing", async () => {
    const rng = new Prng(5);
    const { ours, theirs, optOurs, optTheirs, grads, step } = adamTwins(SHAPES, ['fused', 'tfjs'], 9);
    step(rng.int(1e9)); // creates the accumulators
    const before = tf.memory().numTensors;
    for (let s = 0; s < 4; s++) step(rng.int(1e9));
    expect(tf.memory().numTensors).toBe(before);
    expect(optOurs.lastStepFused).toBe(true);
    for (let i = 0; i < ours.length; i++) expect(await maxRelDiff(theirs[i]!, ours[i]!)).toBeLessThan(1e-5);

    // Same state layout as tfjs's: names and values of the moments.
    const wOurs = await optOurs.getWeights();
    const wTheirs = await optTheirs.getWeights();
    expect(wOurs.map((w) => w.name.replace(/^fused/, 'x'))).toEqual(wTheirs.map((w) => w.name.replace(/^tfjs/, 'x')));
    for (let i = 1; i < wOurs.length; i++) expect(await maxRelDiff(wTheirs[i]!.tensor, wOurs[i]!.tensor)).toBeLessThan(1e-5);

    // A fresh fused optimizer restored from tfjs's state continues exactly like tfjs's.
    const restored = createAdam(2e-3, 0.5, 0.999, 1e-7);
    await restored.setWeights(wTheirs.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })));
    const copies = theirs.map((v, i) => tf.variable(tf.clone(v), true, `copy_${i}_${rng.int(1e9)}`));
    const seed = rng.int(1e9);
    const gC = grads(copies, seed);
    const gT = grads(theirs, seed);
    restored.applyGradients(gC);
    optTheirs.applyGradients(gT);
    for (let i = 0; i < copies.length; i++) expect(await maxRelDiff(theirs[i]!, copies[i]!)).toBeLessThan(1e-5);

    tf.dispose([...ours, ...theirs, ...copies, ...Object.values(gC), ...Object.values(gT)]);
    optOurs.dispose();
    optTheirs.dispose();
    restored.dispose();
  });

  /** Variables whose data nothing else holds (the initial tensor freed), as a trained model's are after its first step. */
  const ownVariables = (tag: string, seed: number): tf.Variable[] => {
    const r = new Prng(seed);
    return SHAPES.map((s, i) => tf.tidy(() => tf.variable(tf.tensor(randomArray(s.reduce((a, b) => a * b, 1), r), s), true, `${tag}_${i}_${r.int(1e9)}`)));
  };
  const gradsFor = (vars: tf.Variable[], seed: number): tf.NamedTensorMap => {
    const r = new Prng(seed);
    return Object.fromEntries(vars.map((v) => [v.name, tf.tensor(randomArray(v.size, r), v.shape)]));
  };
  /** An optimizer that keeps the three programs (GAN_AUGMENT_IN_PLACE=0 while it steps). */
  const threePrograms = (opt: FusedAdamOptimizer): ((g: tf.NamedTensorMap) => void) => (g) => {
    const saved = process.env.GAN_AUGMENT_IN_PLACE;
    process.env.GAN_AUGMENT_IN_PLACE = '0';
    try {
      opt.applyGradients(g);
    } finally {
      if (saved === undefined) delete process.env.GAN_AUGMENT_IN_PLACE;
      else process.env.GAN_AUGMENT_IN_PLACE = saved;
    }
  };
  const backendInternals = (): InPlaceBackendInternals => tf.engine().backend as unknown as InPlaceBackendInternals;

  it('updates each variable in one dispatch, in place, to the bits of the three programs', async () => {
    const inPlace = ownVariables('inplace', 11);
    const three = ownVariables('three', 11);
    const optIn = createAdam(2e-3, 0.5, 0.999, 1e-7);
    const optThree = createAdam(2e-3, 0.5, 0.999, 1e-7);
    const stepThree = threePrograms(optThree);
    const dataIds = inPlace.map((v) => v.dataId);
    const rng = new Prng(3);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 4; s++) {
      const seed = rng.int(1e9);
      const gIn = gradsFor(inPlace, seed);
      const gThree = gradsFor(three, seed);
      optIn.applyGradients(gIn);
      stepThree(gThree);
      tf.dispose([...Object.values(gIn), ...Object.values(gThree)]);
    }
    expect(optIn.inPlace?.stats).toEqual({ inPlace: 4 * SHAPES.length, declined: 0 });
    expect(optIn.inPlace?.betaPowerStats).toEqual({ inPlace: 4, declined: 0 }); // both powers, one dispatch a step
    expect(optThree.inPlace).toBeNull();
    const powers = (o: FusedAdamOptimizer) => {
      const st = o as unknown as { accBeta1: tf.Variable; accBeta2: tf.Variable };
      return Promise.all([st.accBeta1.data(), st.accBeta2.data()]).then((d) => d.map((a) => a[0]));
    };
    expect(await powers(optIn)).toEqual(await powers(optThree));
    // The weights kept their data (in place); the moments were made on the first step.
    expect(inPlace.map((v) => v.dataId)).toEqual(dataIds);
    expect(tf.memory().numTensors).toBe(before + 2 * SHAPES.length * 2);
    for (let i = 0; i < inPlace.length; i++) expect(Array.from(await inPlace[i]!.data())).toEqual(Array.from(await three[i]!.data()));
    const [wIn, wThree] = [await optIn.getWeights(), await optThree.getWeights()];
    for (let i = 1; i < wIn.length; i++) expect(Array.from(await wIn[i]!.tensor.data())).toEqual(Array.from(await wThree[i]!.tensor.data()));
    tf.dispose([...inPlace, ...three]);
    optIn.dispose();
    optThree.dispose();
  });

  it('leaves shared data alone, and no stale copy on the CPU', async () => {
    const [a, b] = [ownVariables('sa', 21), ownVariables('sb', 21)];
    const optA = createAdam(1e-2, 0.9, 0.999);
    const optB = createAdam(1e-2, 0.9, 0.999);
    const stepB = threePrograms(optB);
    const step = (seed: number) => {
      const [gA, gB] = [gradsFor(a, seed), gradsFor(b, seed)];
      optA.applyGradients(gA);
      stepB(gB);
      tf.dispose([...Object.values(gA), ...Object.values(gB)]);
    };
    step(1);
    // A clone shares variable 0's data: that variable takes the three programs, and the clone keeps its values.
    const clone = tf.clone(a[0]!);
    const cloned = Array.from(await clone.data());
    // Variable 1's values cached on the CPU by a finished read, and variable 2's read still in flight.
    const cachedBefore = Array.from(await a[1]!.data());
    const before2 = Array.from(await b[2]!.data());
    const inFlight = a[2]!.data(); // no await between this and the step
    const stats = { ...optA.inPlace!.stats };
    step(2);
    expect(optA.inPlace!.stats.declined - stats.declined).toBe(1);
    expect(optA.inPlace!.stats.inPlace - stats.inPlace).toBe(SHAPES.length - 1);
    expect(Array.from(await clone.data())).toEqual(cloned);
    const after = Array.from(await a[1]!.data());
    expect(after).not.toEqual(cachedBefore);
    expect(after).toEqual(Array.from(await b[1]!.data()));
    // The read begun before the step gives the values before it, and leaves them not cached.
    expect(Array.from(await inFlight)).toEqual(before2);
    expect(Array.from(await a[2]!.data())).toEqual(Array.from(await b[2]!.data()));
    expect(Array.from(await a[2]!.data())).not.toEqual(before2);
    for (let i = 0; i < a.length; i++) expect(Array.from(await a[i]!.data())).toEqual(Array.from(await b[i]!.data()));
    tf.dispose([...a, ...b, clone]);
    optA.dispose();
    optB.dispose();
  });

  it('destroys its uniform buffers when the optimizer is disposed, and is not used after', () => {
    const backend = backendInternals();
    const created: Array<{ destroyed: boolean }> = [];
    const originalCreate = backend.device.createBuffer;
    backend.device.createBuffer = function createBuffer(this: unknown, d: { size: number; usage: number }) {
      const buffer = originalCreate.call(this, d);
      const record = { destroyed: false };
      created.push(record);
      const destroy = buffer.destroy.bind(buffer);
      buffer.destroy = () => {
        record.destroyed = true;
        destroy();
      };
      return buffer;
    } as typeof originalCreate;
    try {
      const vars = ownVariables('disposed', 31);
      const opt = createAdam(1e-3, 0.9, 0.999);
      const g = gradsFor(vars, 1);
      opt.applyGradients(g);
      const inPlace = opt.inPlace!;
      expect(inPlace.stats.inPlace).toBe(SHAPES.length);
      expect(created.length).toBeGreaterThan(0); // one per distinct size, at least
      opt.dispose();
      expect(created.every((b) => b.destroyed)).toBe(true);
      expect(() => inPlace.update(vars[0]!, vars[0]!, vars[0]!, vars[0]!, vars[0]!, vars[0]!, { beta1: 0.9, beta2: 0.999, c1: 0.1, c2: 0.001, lr: 1e-3, eps: 1e-7 })).toThrow(/disposed/);
      tf.dispose([...vars, ...Object.values(g)]);
    } finally {
      backend.device.createBuffer = originalCreate;
    }
  });

  it('makes its in-place update anew for a new backend (a lost GPU is replaced)', () => {
    const vars = ownVariables('newbackend', 41);
    const opt = createAdam(1e-3, 0.9, 0.999);
    const stale = new AdamInPlace({ read: async () => null, commandEncoder: null } as unknown as InPlaceBackendInternals);
    opt.inPlace = stale;
    const g = gradsFor(vars, 2);
    opt.applyGradients(g);
    expect(opt.inPlace).not.toBe(stale);
    expect(opt.inPlace!.backend).toBe(tf.engine().backend);
    expect(opt.inPlace!.stats.inPlace).toBe(SHAPES.length);
    expect(() => stale.update(vars[0]!, vars[0]!, vars[0]!, vars[0]!, vars[0]!, vars[0]!, { beta1: 0.9, beta2: 0.999, c1: 0.1, c2: 0.001, lr: 1e-3, eps: 1e-7 })).toThrow(/disposed/);
    tf.dispose([...vars, ...Object.values(g)]);
    opt.dispose();
  });

  it("uses tfjs's own update with GAN_AUGMENT_WGSL_KERNELS=0", () => {
    withOurKernelsOff(() => {
      const v = tf.variable(tf.ones([3]), true, `off_${Date.now()}`);
      const opt = createAdam(1e-3, 0.9, 0.999);
      const g = tf.ones([3]);
      opt.applyGradients({ [v.name]: g });
      expect(opt.lastStepFused).toBe(false);
      tf.dispose([v, g]);
      opt.dispose();
    });
  });
});
