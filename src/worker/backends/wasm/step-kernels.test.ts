/**
 * The rest of a training step on WebAssembly: Sum and Mean over leading axes (./reduce.ts),
 * BatchMatMul and the dense layer's _FusedMatMul (./matmul.ts) and the fused Adam (../kernels/adam.ts), each
 * against what tfjs computes without it: the same bits where the operations are the same (Sum, Mean,
 * Adam), within float32 rounding where the order of a sum changes (BatchMatMul). Its own file: the
 * tfjs backend is process-wide.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../tf';
import { initBackend } from '../index';
import { Prng } from '../../training/rng';
import { adamTwins, randomArray } from '../kernels/test-support';
import { createAdam } from '../kernels/adam';
import { leadingAxes } from './reduce';
import { type GemmPlan, gemmPlan } from './matmul';

beforeAll(async () => {
  await initBackend('wasm');
});
afterAll(() => {
  tf.disposeVariables();
});

const rng = new Prng(17);
const random = (shape: number[]) => tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), rng), shape);

/** Float32 column sums, each column's values added in row order, rounded at every addition. */
function columnSums(values: Float32Array, rows: number, cols: number, divisor: number): Float32Array {
  const out = new Float32Array(cols);
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s = Math.fround(s + values[r * cols + j]!);
    out[j] = Math.fround(s / Math.fround(divisor));
  }
  return out;
}

describe('Sum and Mean over leading axes (wasm)', () => {
  it('knows which reductions are over leading axes', () => {
    expect(leadingAxes([0, 1, 2], [4, 5, 6, 7])).toBe(3);
    expect(leadingAxes([2, 0, 1], [4, 5, 6, 7])).toBe(3);
    expect(leadingAxes([-4, -3], [4, 5, 6, 7])).toBe(2);
    expect(leadingAxes(0, [4, 5])).toBe(1);
    expect(leadingAxes([0, 2], [4, 5, 6])).toBe(0); // a gap
    expect(leadingAxes([1, 2], [4, 5, 6])).toBe(0); // not from the first axis
    expect(leadingAxes([0, 1], [4, 5])).toBe(0); // every axis: already innermost
  });

  // Columns: 16-wide blocks, 4-wide blocks and single columns (and all three at once: 16 + 4 + 3).
  const shapes: Array<[number[], number[]]> = [
    [[16, 8, 8, 128], [0, 1, 2]],
    [[3, 5, 7, 23], [0, 1, 2]],
    [[2, 3, 4, 3], [0, 1, 2]],
    [[9, 4], [0]],
    [[1, 1, 1, 64], [0, 1, 2]],
    [[5, 6, 7], [0, 1]],
  ];
  for (const [shape, axes] of shapes) {
    it(`sums and averages [${shape}] over axes [${axes}] as tfjs's own kernel does, to the bit`, async () => {
      const x = random(shape);
      const rows = shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
      const cols = x.size / rows;
      const values = (await x.data()) as Float32Array;
      // The backend's own kernels: the same sum over innermost axes (what they do after transposing).
      const perm = [...shape.keys()].slice(axes.length).concat(axes);
      const inner = perm.map((_, i) => i).slice(shape.length - axes.length);
      const xt = tf.transpose(x, perm);
      for (const mean of [false, true]) {
        const ours = mean ? tf.mean(x, axes) : tf.sum(x, axes);
        const theirs = mean ? tf.mean(xt, inner) : tf.sum(xt, inner);
        expect(ours.shape).toEqual(shape.slice(axes.length));
        const got = (await ours.data()) as Float32Array;
        expect(Array.from(got)).toEqual(Array.from((await theirs.data()) as Float32Array));
        expect(Array.from(got)).toEqual(Array.from(columnSums(values, rows, cols, mean ? rows : 1)));
        const kept = mean ? tf.mean(x, axes, true) : tf.sum(x, axes, true);
        expect(kept.shape).toEqual(shape.map((d, i) => (i < axes.length ? 1 : d)));
        expect(Array.from(await kept.data())).toEqual(Array.from(got));
        tf.dispose([ours, theirs, kept]);
      }
      tf.dispose([x, xt]);
    });
  }

  it("leaves other reductions to the backend's own kernel (int32, inner axes, every axis)", async () => {
    const i = tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], 'int32');
    expect(Array.from(await tf.sum(i, 0).data())).toEqual([9, 12]);
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]);
    expect(Array.from(await tf.sum(x, 2).data())).toEqual([3, 7, 11, 15]);
    expect(Array.from(await tf.mean(x).data())).toEqual([4.5]);
    expect(Array.from(await tf.sum(x, [0, 2]).data())).toEqual([14, 22]);
    tf.dispose([i, x]);
  });

  it('gives the gradient of a sum over leading axes (its backward pass) and leaks nothing', () => {
    const x = random([4, 3, 3, 8]);
    const before = tf.memory().numTensors;
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [0, 1, 2]), tf.sum(t, [0, 1, 2]))))(x);
    expect(g.shape).toEqual(x.shape);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

/** a [.., M, K] x b [.., K, N] in double, from row-major values. */
function matmulRef(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < k; q++) s += a[i * k + q]! * b[q * n + j]!;
    out[i * n + j] = s;
  }
  return out;
}

/** The largest error relative to 1 + |want|. */
function worstError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  return worst;
}

function transposeValues(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = v[r * cols + c]!;
  return out;
}

describe('BatchMatMul and the dense layer (wasm)', () => {
  const cases: Array<{ m: number; k: number; n: number; tA: boolean; tB: boolean; rank3: boolean; plan: GemmPlan | null }> = [
    { m: 16, k: 100, n: 8192, tA: false, tB: false, rank3: true, plan: 'transposed' }, // DCGAN's first generator layer (more rows transposed)
    { m: 100, k: 16, n: 64, tA: true, tB: false, rank3: true, plan: 'direct' }, // its weight gradient x^T dy
    { m: 16, k: 64, n: 100, tA: false, tB: true, rank3: true, plan: 'transposed' }, // its input gradient dy W^T
    { m: 6, k: 12, n: 32, tA: true, tB: true, rank3: false, plan: 'direct' },
    { m: 32, k: 12, n: 16, tA: false, tB: false, rank3: false, plan: 'direct' }, // both apply: more rows directly
    { m: 32, k: 20, n: 12, tA: true, tB: true, rank3: false, plan: 'transposed' },
    { m: 32, k: 9, n: 8, tA: true, tB: false, rank3: false, plan: 'transposed' }, // k odd: A read where it lies
    { m: 16, k: 64, n: 100, tA: false, tB: false, rank3: false, plan: 'transposed' },
    { m: 16, k: 64, n: 1, tA: false, tB: false, rank3: true, plan: 'transposed' }, // a critic's last layer (one output)
    { m: 16, k: 1, n: 64, tA: false, tB: true, rank3: true, plan: 'transposed' }, // its input gradient dy W^T (vectors: no copies)
    { m: 32, k: 1, n: 16, tA: false, tB: true, rank3: false, plan: 'direct' }, // B a vector read transposed where it lies
    { m: 64, k: 16, n: 1, tA: true, tB: false, rank3: true, plan: 'transposed' }, // its weight gradient x^T dy
    { m: 16, k: 8, n: 1, tA: false, tB: true, rank3: false, plan: 'transposed' },
    { m: 16, k: 6, n: 1, tA: false, tB: false, rank3: false, plan: null }, // A [16, 6] not copied transposed: XNNPACK
    { m: 16, k: 6, n: 2, tA: true, tB: true, rank3: false, plan: null }, // XNNPACK after a transpose
    { m: 0, k: 4, n: 16, tA: false, tB: false, rank3: false, plan: null }, // empty: the backend's
    { m: 16, k: 4, n: 0, tA: false, tB: false, rank3: false, plan: null },
    { m: 7, k: 5, n: 3, tA: true, tB: true, rank3: false, plan: null },
    { m: 1, k: 9, n: 13, tA: false, tB: true, rank3: false, plan: null },
  ];
  for (const c of cases) {
    it(`computes [${c.m}x${c.k}] x [${c.k}x${c.n}] with transposeA ${c.tA}, transposeB ${c.tB} (rank ${c.rank3 ? 3 : 2}; ${c.plan ?? "the backend's kernel"})`, async () => {
      const aVals = randomArray(c.m * c.k, rng);
      const bVals = randomArray(c.k * c.n, rng);
      const lead = c.rank3 ? [1] : [];
      const a = tf.tensor(c.tA ? transposeValues(aVals, c.m, c.k) : aVals, [...lead, ...(c.tA ? [c.k, c.m] : [c.m, c.k])]);
      const b = tf.tensor(c.tB ? transposeValues(bVals, c.k, c.n) : bVals, [...lead, ...(c.tB ? [c.n, c.k] : [c.k, c.n])]);
      expect(gemmPlan(a, b, { transposeA: c.tA, transposeB: c.tB })).toBe(c.plan);
      const before = tf.memory().numTensors;
      const dataBefore = tf.backend().numDataIds();
      const out = tf.matMul(a, b, c.tA, c.tB);
      expect(tf.backend().numDataIds()).toBe(dataBefore + 1); // the scratch and transposed copies are freed
      expect(out.shape).toEqual([...lead, c.m, c.n]);
      const want = matmulRef(aVals, bVals, c.m, c.k, c.n);
      expect(worstError(await out.data(), want)).toBeLessThan(1e-5);
      // A dense layer: the product and its bias in one kernel.
      const bias = tf.tensor1d(randomArray(c.n, rng));
      const fused = tf.fused.matMul({ a, b, transposeA: c.tA, transposeB: c.tB, bias });
      const biasVals = await bias.data();
      expect(worstError(await fused.data(), want.map((v, i) => v + biasVals[i % c.n]!))).toBeLessThan(1e-5);
      tf.dispose([out, bias, fused]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([a, b]);
    });
  }

  it('adds a bias of n values along each row, and leaves a bias down the columns to the backend (which refuses it in words)', async () => {
    const a = tf.tensor2d(randomArray(16 * 4, rng), [16, 4]);
    const b = tf.tensor2d(randomArray(4 * 16, rng), [4, 16]);
    const want = matmulRef((await a.data()) as Float32Array, (await b.data()) as Float32Array, 16, 4, 16);
    const biasVals = randomArray(16, rng);
    const row = tf.tensor2d(biasVals, [1, 16]);
    const fused = tf.fused.matMul({ a, b, bias: row });
    expect(worstError(await fused.data(), want.map((v, i) => v + biasVals[i % 16]!))).toBeLessThan(1e-5);
    // [16, 1] has n values too, but one per row: once added as if [16] (wrong values, no error).
    const column = tf.tensor2d(biasVals, [16, 1]);
    expect(() => tf.fused.matMul({ a, b, bias: column })).toThrow(/rank-1 bias/);
    tf.dispose([a, b, row, fused, column]);
  });

  it('gives a dense layer its gradients (both operands and the bias) and leaks nothing', async () => {
    const x = tf.tensor2d(randomArray(16 * 20, rng), [16, 20]);
    const w = tf.tensor2d(randomArray(20 * 32, rng), [20, 32]);
    const bias = tf.tensor1d(randomArray(32, rng));
    const dy = tf.tensor2d(randomArray(16 * 32, rng), [16, 32]);
    const before = tf.memory().numTensors;
    const [dx, dw, db] = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(tf.fused.matMul({ a: xi as tf.Tensor2D, b: wi as tf.Tensor2D, bias: bi }), dy)),
    )([x, w, bias]);
    const [xv, wv, dyv] = (await Promise.all([x.data(), w.data(), dy.data()])) as [Float32Array, Float32Array, Float32Array];
    expect(worstError(await dx!.data(), matmulRef(dyv, transposeValues(wv, 20, 32), 16, 32, 20))).toBeLessThan(1e-5);
    expect(worstError(await dw!.data(), matmulRef(transposeValues(xv, 16, 20), dyv, 20, 16, 32))).toBeLessThan(1e-5);
    const dbWant = new Float64Array(32);
    dyv.forEach((v, i) => (dbWant[i % 32] = dbWant[i % 32]! + v));
    expect(worstError(await db!.data(), dbWant)).toBeLessThan(1e-5);
    tf.dispose([dx!, dw!, db!]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, bias, dy]);
  });
});

describe('fused Adam (wasm)', () => {
  /** Shapes of a small network's variables: not multiples of 4 too (the helper's scalar tail). */
  const SHAPES: number[][] = [[4, 4, 3, 8], [8], [7], [100, 33], [1], [300, 90]];
  it("updates every variable and both moments as tfjs's Adam does, to the bit, and leaks nothing", async () => {
    const { ours, theirs, optOurs, optTheirs, step } = adamTwins(SHAPES, ['fusedWasm', 'tfjsWasm'], 3);
    step(rng.int(1e9)); // creates the moments
    const before = tf.memory().numTensors;
    for (let s = 0; s < 6; s++) step(rng.int(1e9));
    expect(tf.memory().numTensors).toBe(before);
    expect(optOurs.lastStepFused).toBe(true);
    for (let i = 0; i < ours.length; i++) expect(Array.from(await ours[i]!.data())).toEqual(Array.from(await theirs[i]!.data()));
    const wOurs = await optOurs.getWeights();
    const wTheirs = await optTheirs.getWeights();
    expect(wOurs.map((w) => w.name.replace(/^fusedWasm/, 'x'))).toEqual(wTheirs.map((w) => w.name.replace(/^tfjsWasm/, 'x')));
    for (let i = 0; i < wOurs.length; i++) expect(Array.from(await wOurs[i]!.tensor.data())).toEqual(Array.from(await wTheirs[i]!.tensor.data()));
    tf.dispose([...ours, ...theirs]);
    optOurs.dispose();
    optTheirs.dispose();
  });

  it('casts an int32 gradient, skips a variable without one, and leaves shared data untouched', async () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3, 4, 5]), true, `int_${rng.int(1e9)}`);
    const idle = tf.variable(tf.tensor1d([7, 8]), true, `idle_${rng.int(1e9)}`);
    const snapshot = tf.clone(w); // shares w's data (Identity shares on wasm): an update must not write it
    const opt = createAdam(0.1, 0.9, 0.999);
    opt.applyGradients([
      { name: w.name, tensor: tf.tensor1d([1, -1, 2, 0, 3], 'int32') },
      { name: idle.name, tensor: null as unknown as tf.Tensor },
    ]);
    expect(opt.lastStepFused).toBe(true);
    // First step: m / (1 - beta1) = g and v / (1 - beta2) = g^2, so each value moves by lr * sign(g).
    const got = Array.from(await w.data());
    [0.9, 2.1, 2.9, 4, 4.9].forEach((want, i) => expect(got[i]).toBeCloseTo(want, 5));
    expect(Array.from(await idle.data())).toEqual([7, 8]);
    expect(Array.from(await snapshot.data())).toEqual([1, 2, 3, 4, 5]);
    tf.dispose([w, idle, snapshot]);
    opt.dispose();
  });

  it("broadcasts a smaller gradient as tfjs's Adam does, and refuses moments of another size in words", async () => {
    const twins = [0, 1].map((i) => tf.variable(tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 8]), true, `bcast${i}_${rng.int(1e9)}`));
    const [ours, theirs] = twins as [tf.Variable, tf.Variable];
    const fused = createAdam(0.1, 0.9, 0.999);
    const plain = new tf.AdamOptimizer(0.1, 0.9, 0.999);
    fused.applyGradients({ [ours.name]: tf.scalar(1) });
    plain.applyGradients([{ name: theirs.name, tensor: tf.scalar(1) }]);
    expect(fused.lastStepFused).toBe(true);
    expect(Array.from(await ours.data())).toEqual(Array.from(await theirs.data()));
    // An optimizer state whose moments do not fit the weight (restored for another model).
    const w = tf.variable(tf.zeros([8]), true, `mismatch_${rng.int(1e9)}`);
    const opt = createAdam(0.1, 0.9, 0.999);
    await opt.setWeights([
      { name: 'iter', tensor: tf.scalar(0) },
      { name: `${w.name}/m`, tensor: tf.zeros([4]) },
      { name: `${w.name}/v`, tensor: tf.zeros([4]) },
    ]);
    expect(() => opt.applyGradients({ [w.name]: tf.ones([8]) })).toThrow(/moments for .* do not match the weight/);
    expect(Array.from(await w.data())).toEqual(Array(8).fill(0));
    tf.dispose([ours, theirs, w]);
    [fused, plain, opt].forEach((o) => o.dispose());
  });
});
