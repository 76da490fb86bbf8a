/**
 * BatchMatMul and _FusedMatMul (a dense layer with its bias) for tfjs-backend-wasm, batch 1, float32.
 *
 * 4.22 runs XNNPACK's fully connected operator only when neither operand is transposed, and packs its
 * B operand again for every new B tensor, that is for every new weight at every training step:
 * DCGAN's first generator layer (latent 100 -> 8,192) at batch 16 took 5.6-9.3 ms forward, where its
 * 26 million multiply-adds take well under 1 ms. With transposeA or transposeB it falls back to a
 * plain scalar loop (x^T dy 26.7 ms, dy W^T 11.1 ms on the build machine).
 *
 * So, where the shapes suit it, our gather-GEMM (./simd/gather-gemm.wat) computes C [M, N] =
 * op(A) op(B) straight from the heap: it reads its left operand through two tables of addresses, so
 * op(A) is read where A lies whether transposed or not, and its right operand as [K, N] rows:
 *  - 'direct' (N a multiple of 16, M even): C = op(A) op(B), with B copied transposed first
 *    (./simd transposeBlock) when transposeB;
 *  - 'transposed' (M a multiple of 16, N a multiple of 4): C^T = op(B)^T op(A)^T on the kernel (A
 *    copied transposed when not transposeA), then C^T transposed into C: dy W^T of a dense layer
 *    with few inputs, and its forward pass at batch 16 (more rows for the threads to share).
 * DCGAN's first generator layer at batch 16, 2 threads, ms, before (tf.profile of a training step) /
 * after (best of 29 calls): forward 5.6-9.3 / 0.73-0.77, x^T dy 1.7-1.8 /
 * 0.80-0.84, dy W^T 7.1-9.0 / 0.38-0.45.
 * Each output value sums over k in order (the same bits on any number of threads; not XNNPACK's
 * order, so the results differ from the backend's in the last bits). Anything else (batched
 * products, other dtypes, other shapes) goes as before: a transposed operand (batch 1) is transposed
 * by the backend's Transpose kernel and XNNPACK's fast path runs; the rest is the backend's own.
 * (That also mends 4.22's _FusedMatMul, which adds the bias to the wrong elements when an operand is
 * transposed.)
 */
import { tf } from '../tf';
import { type Heap, activeHeap } from './heap';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

interface FusedMatMulAttrs extends MatMulAttrs {
  activation?: string;
}

/** k rows per chunk inside the kernel (a chunk of B stays in the L1 cache). */
const CHUNK_ROWS = 64;

/** Whether t is one matrix (every axis before the last two of size 1). */
const single = (t: tf.TensorInfo) => t.shape.length >= 2 && tf.util.sizeFromShape(t.shape.slice(0, -2)) === 1;

/** [..., r, c] as a transposed [1, c, r] by the backend's Transpose kernel (the caller frees it). */
function transposed(x: tf.TensorInfo, transpose: tf.KernelFunc, backend: tf.KernelBackend): tf.TensorInfo {
  const [r, c] = x.shape.slice(-2) as [number, number];
  const view = { dataId: x.dataId, dtype: x.dtype, shape: [1, r, c] };
  return transpose({ inputs: { x: view }, attrs: { perm: [0, 2, 1] }, backend }) as tf.TensorInfo;
}

/** The product's sizes: C [m, n] = op(A) [m, k] op(B) [k, n]. */
function sizes(a: tf.TensorInfo, b: tf.TensorInfo, { transposeA, transposeB }: MatMulAttrs): { m: number; n: number; k: number } {
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  return { m: transposeA ? ac : ar, k: transposeA ? ar : ac, n: transposeB ? br : bc };
}

export type GemmPlan = 'direct' | 'transposed';

/** How our kernel computes this product, or null where it does not (the backend's path then). */
export function gemmPlan(a: tf.TensorInfo, b: tf.TensorInfo, attrs: MatMulAttrs): GemmPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !single(a) || !single(b)) return null;
  const { m, n, k } = sizes(a, b, attrs);
  if (k === 0 || (k !== (attrs.transposeB ? b.shape.at(-1) : b.shape.at(-2)))) return null; // the backend reports a mismatch
  // The copies transposed in the heap take multiples of 4.
  const direct = n % 16 === 0 && m % 2 === 0 && m > 0 && (!attrs.transposeB || k % 4 === 0);
  const transposed = m % 16 === 0 && n % 4 === 0 && n > 0 && (attrs.transposeA || k % 4 === 0);
  // Where both apply, the one with more output rows on the kernel: its rows are what the threads
  // share (a dense layer's forward pass at batch 16 is one slice of 16 rows directly, 1.6 ms on 2
  // threads; transposed, 8,192 rows, 0.75 ms with both transposes).
  if (direct && transposed) return m >= n ? 'direct' : 'transposed';
  return direct ? 'direct' : transposed ? 'transposed' : null;
}

/** C = op(A) op(B) by `plan`, into a new tensor of shape [...batch axes, M, N] (the caller owns it). */
function byGatherGemm(a: tf.TensorInfo, b: tf.TensorInfo, attrs: MatMulAttrs, plan: GemmPlan, heap: Heap): tf.TensorInfo {
  const { m, n, k } = sizes(a, b, attrs);
  const { transposeA, transposeB } = attrs;
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = heap.backend.makeOutput([...outer, m, n], 'float32');
  // On the kernel: rows x cols = left [rows, k] right [k, cols]; 'transposed' computes C^T.
  const [rows, cols] = plan === 'direct' ? [m, n] : [n, m];
  // Scratch: the right operand transposed where it must be, the result before its transpose, the tables.
  const copyRight = plan === 'direct' ? transposeB : !transposeA;
  const scratch = heap.backend.makeOutput([(copyRight ? k * cols : 0) + (plan === 'transposed' ? m * n : 0) + k + rows], 'float32');
  try {
    const base = heap.at(scratch);
    const right = base;
    const product = right + (copyRight ? 4 * k * cols : 0);
    const table = product + (plan === 'transposed' ? 4 * m * n : 0);
    const rowOff = table + 4 * k;
    const { helpers } = heap.kernels;
    // The left operand L [rows, k], read at table[kk] + rowOff[r]; element (r, kk) of stored X
    // [R, C] lies at X + 4 * (r * C + kk), or of a stored X^T at X + 4 * (kk * R + r).
    let leftAt: number, leftStoredT: boolean, rightAt: number;
    if (plan === 'direct') {
      [leftAt, leftStoredT] = [heap.at(a), transposeA];
      if (transposeB) helpers.transposeBlock(heap.at(b), right, n, k); // B [n, k] -> [k, n]
      rightAt = transposeB ? right : heap.at(b);
    } else {
      // left = op(B)^T [n, k]: B itself when transposeB, else B [k, n] read transposed.
      [leftAt, leftStoredT] = [heap.at(b), !transposeB];
      if (!transposeA) helpers.transposeBlock(heap.at(a), right, m, k); // A [m, k] -> [k, m]
      rightAt = transposeA ? heap.at(a) : right;
    }
    const i32 = new Int32Array(heap.memory.buffer);
    for (let kk = 0; kk < k; kk++) i32[table / 4 + kk] = leftAt + 4 * (leftStoredT ? kk * rows : kk);
    for (let r = 0; r < rows; r++) i32[rowOff / 4 + r] = 4 * (leftStoredT ? r : r * k);
    const result = plan === 'direct' ? heap.at(out) : product;
    const sliceRows = heap.kernels.rowSlice(rows);
    heap.kernels.gatherGemm({
      table, b: rightAt, mOff: rowOff, m: rows, co: cols, kCount: k,
      split: 'm', sliceRows, slices: Math.ceil(rows / sliceRows), out: result, partialBytes: 0, chunkRows: CHUNK_ROWS,
    });
    if (plan === 'transposed') helpers.transposeBlock(product, heap.at(out), n, m); // C^T [n, m] -> C [m, n]
    return out;
  } catch (e) {
    heap.backend.disposeData(out.dataId);
    throw e;
  } finally {
    heap.backend.disposeData(scratch.dataId);
  }
}

/**
 * A product with a transposed operand (batch 1, float32) as the backend's own kernel computes it
 * without transposes: the operand transposed first by its Transpose kernel (XNNPACK's fast path then
 * runs; and 4.22's _FusedMatMul adds its bias to the wrong elements when an operand is transposed).
 * Null where that does not apply.
 */
function transposedFirst(args: Parameters<tf.KernelFunc>[0], original: tf.KernelFunc): tf.TensorInfo | null {
  const a = args.inputs.a as tf.TensorInfo;
  const b = args.inputs.b as tf.TensorInfo;
  const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
  const transpose = tf.getKernel('Transpose', 'wasm')?.kernelFunc;
  if (!(transposeA || transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' || !single(a) || !single(b) || !transpose) return null;
  const backend = args.backend as tf.KernelBackend & { disposeData(dataId: object): boolean };
  const made: tf.TensorInfo[] = [];
  try {
    const aa = transposeA ? transposed(a, transpose, backend) : a;
    if (transposeA) made.push(aa);
    const bb = transposeB ? transposed(b, transpose, backend) : b;
    if (transposeB) made.push(bb);
    const out = original({ ...args, inputs: { ...args.inputs, a: aa, b: bb }, attrs: { ...args.attrs, transposeA: false, transposeB: false } }) as tf.TensorInfo;
    // The shape the caller expects: the operands' (all 1) batch axes broadcast, then rows and columns.
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
    out.shape = [...outer, ...out.shape.slice(-2)];
    return out;
  } finally {
    for (const t of made) backend.disposeData(t.dataId);
  }
}

/** The BatchMatMul kernel for 'wasm': ours where it applies, else the backend's own (a transposed operand transposed first). */
export function batchMatMulKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const a = args.inputs.a as tf.TensorInfo;
    const b = args.inputs.b as tf.TensorInfo;
    const attrs = args.attrs as unknown as MatMulAttrs;
    const heap = activeHeap();
    const plan = heap ? gemmPlan(a, b, attrs) : null;
    if (heap && plan) return byGatherGemm(a, b, attrs, plan, heap);
    return transposedFirst(args, original) ?? original(args);
  };
}

/**
 * _FusedMatMul (tfjs-layers' Dense: the product and its bias) for 'wasm': ours and then the bias, where
 * ours applies, the activation is linear and the bias (if any) is a vector of N; else the backend's
 * own, with a transposed operand transposed first.
 */
export function fusedMatMulKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const attrs = args.attrs as unknown as FusedMatMulAttrs;
    const heap = activeHeap();
    const linear = !preluActivationWeights && (attrs.activation ?? 'linear') === 'linear';
    const plan = heap && a && b && linear ? gemmPlan(a, b, attrs) : null;
    const n = a && b ? sizes(a, b, attrs).n : 0;
    const biasFits = !bias || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === n);
    if (!heap || !plan || !a || !b || !biasFits) return transposedFirst(args, original) ?? original(args);
    const out = byGatherGemm(a, b, attrs, plan, heap);
    if (bias) heap.kernels.helpers.addRowVector(heap.at(out), sizes(a, b, attrs).m, heap.at(bias), n);
    return out;
  };
}
