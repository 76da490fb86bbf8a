/**
 * BatchMatMul and _FusedMatMul (a dense layer with its bias) for tfjs-backend-wasm, batch 1, float32.
 *
 * 4.22 runs XNNPACK's fully connected operator only when neither operand is transposed, and packs its
 * B operand again for every new B tensor, that is for every new weight at every training step:
 * DCGAN's first generator layer (latent 100 -> 8,192) at batch 16 took 5.6-9.3 ms forward for 13
 * million multiply-adds. With transposeA or transposeB it falls back to a plain scalar loop.
 *
 * So, where the shapes suit it, our gather-GEMM (./simd/gather-gemm.wat) computes C [M, N] =
 * op(A) op(B) straight from the heap: it reads its left operand through two tables of addresses, so
 * op(A) is read where A lies whether transposed or not, and its right operand as [K, N] rows:
 *  - 'direct' (N a multiple of 16, M even): C = op(A) op(B), with B copied transposed first
 *    (./simd transposeBlock) when transposeB;
 *  - 'transposed' (M a multiple of 16, N a multiple of 4 or 1): C^T = op(B)^T op(A)^T on the kernel
 *    (A copied transposed when not transposeA), then C^T transposed into C: dy W^T of a dense layer
 *    with few inputs, its forward pass at batch 16 (more rows for the threads to share), and a
 *    critic's last layer (one output) and its gradients.
 * A vector needs no copy to be read transposed. Each output value sums over k in order (the same bits
 * on any number of threads; not XNNPACK's order, so the results differ from the backend's in the last
 * bits). DCGAN's first generator layer at batch 16, 2 threads, ms, before (tf.profile of a training
 * step) / after (best of 29 calls): forward 5.6-9.3 / 0.73-0.77, x^T dy 1.7-1.8 / 0.80-0.84, dy W^T
 * 7.1-9.0 / 0.38-0.45.
 *
 * Anything else (batched products, other dtypes, other shapes) goes as before: a transposed operand
 * (batch 1) is transposed by the backend's Transpose kernel and XNNPACK's fast path runs (which also
 * mends 4.22's _FusedMatMul: it adds the bias to the wrong elements when an operand is transposed);
 * the rest is the backend's own.
 */
import { tf } from '../tf';
import { type Heap, activeHeap, inPanels, panelFloats } from './heap';

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

interface FusedMatMulAttrs extends MatMulAttrs {
  activation?: string;
}

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

/**
 * Whether a stored [r, c] matrix must be copied to be read transposed as rows: a vector ([1, c] or
 * [r, 1]) lies in memory as its transpose does. Copies are made 4 x 4 at a time.
 */
function copyToTranspose(r: number, c: number): boolean | null {
  if (r === 1 || c === 1) return false;
  return r % 4 === 0 && c % 4 === 0 ? true : null;
}

/** How our kernel computes this product, or null where it does not (the backend's path then). */
export function gemmPlan(a: tf.TensorInfo, b: tf.TensorInfo, attrs: MatMulAttrs): GemmPlan | null {
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || !single(a) || !single(b)) return null;
  const { m, n, k } = sizes(a, b, attrs);
  // Empty products are the backend's (the kernel computes at least one block); so is a mismatch (it reports it).
  if (m === 0 || n === 0 || k === 0 || k !== (attrs.transposeB ? b.shape.at(-1) : b.shape.at(-2))) return null;
  const direct = n % 16 === 0 && m % 2 === 0 && (!attrs.transposeB || copyToTranspose(n, k) !== null);
  // C^T [n, m] is transposed into C at the end (a copy when n is 1: a critic's last layer).
  const transposed = m % 16 === 0 && copyToTranspose(n, m) !== null && (attrs.transposeA || copyToTranspose(m, k) !== null);
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
  // On the kernel: rows x cols = left [rows, k] right [k, cols]; 'transposed' computes C^T into
  // scratch. The kernel adds two rows at a time: C^T of one row (n = 1) gets a copy of it.
  const [rows, cols] = plan === 'direct' ? [m, n] : [n, m];
  const rowsPad = rows + (rows % 2); // odd only for n = 1 (direct needs m even)
  // The right operand [k, cols] as rows: op(B) directly, op(A)^T transposed; stored as [sr, sc], read
  // transposed where `flip`.
  const [rightStored, flip, sr, sc] = plan === 'direct' ? [b, transposeB, n, k] : [a, !transposeA, m, k];
  const copyRight = flip && copyToTranspose(sr, sc) === true;
  const viaProduct = plan === 'transposed';
  // Scratch: the right operand's copy, the product before its transpose, the tables, the right
  // operand in panels (`inPanels`).
  const scratch = heap.backend.makeOutput([(copyRight ? k * cols : 0) + (viaProduct ? rowsPad * cols : 0) + k + rowsPad + panelFloats(k, cols)], 'float32');
  try {
    const right = heap.at(scratch);
    const product = right + (copyRight ? 4 * k * cols : 0);
    const table = product + (viaProduct ? 4 * rowsPad * cols : 0);
    const rowOff = table + 4 * k;
    const panels = rowOff + 4 * rowsPad;
    const kernels = heap.kernels;
    if (copyRight) kernels.transposeBlock(heap.at(rightStored), right, sr, sc); // [sr, sc] -> [sc, sr] = [k, cols]
    const rightAt = copyRight ? right : heap.at(rightStored);
    // The left operand L [rows, k] (op(A); or op(B)^T: B itself when transposeB, else B read
    // transposed), read at table[kk] + rowOff[r]: element (r, kk) of a stored X [rows, k] lies at
    // X + 4 * (r * k + kk), of a stored X^T [k, rows] at X + 4 * (kk * rows + r).
    const [leftAt, leftStoredT] = plan === 'direct' ? [heap.at(a), transposeA] : [heap.at(b), !transposeB];
    const i32 = new Int32Array(heap.memory.buffer);
    for (let kk = 0; kk < k; kk++) i32[table / 4 + kk] = leftAt + 4 * (leftStoredT ? kk * rows : kk);
    for (let r = 0; r < rowsPad; r++) {
      const row = Math.min(r, rows - 1);
      i32[rowOff / 4 + r] = 4 * (leftStoredT ? row : row * k);
    }
    const sliceRows = heap.kernels.rowSlice(rowsPad);
    heap.kernels.gatherGemm({
      table, mOff: rowOff, m: rowsPad, co: cols, kCount: k, ...inPanels(heap, rightAt, k, cols, panels),
      split: 'm', sliceRows, slices: Math.ceil(rowsPad / sliceRows), out: viaProduct ? product : heap.at(out), partialBytes: 0,
    });
    if (plan === 'transposed' && copyToTranspose(n, m)) {
      kernels.transposeBlock(product, heap.at(out), n, m); // C^T [n, m] -> C [m, n]
    } else if (viaProduct) {
      // C^T [1, m] lies as C [m, 1] does (its padding row dropped).
      const f32 = new Float32Array(heap.memory.buffer);
      f32.copyWithin(heap.at(out) / 4, product / 4, product / 4 + m * n);
    }
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

/** out [m, n] += bias [n] on every row: in the heap 4 columns at a time, else (one output: a critic's last layer) here. */
function addBias(heap: Heap, out: tf.TensorInfo, bias: tf.TensorInfo, m: number, n: number): void {
  if (n % 4 === 0) {
    heap.kernels.helpers.addRowVector(heap.at(out), m, heap.at(bias), n);
    return;
  }
  const f32 = new Float32Array(heap.memory.buffer);
  const [o, v] = [heap.at(out) / 4, heap.at(bias) / 4];
  for (let i = 0; i < m * n; i++) f32[o + i] = f32[o + i]! + f32[v + (i % n)]!;
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
    // Added along every row: [n], or [1, ..., 1, n]. Other shapes go to the backend's kernel (which
    // refuses them in words; adding one here as [n] gave wrong values).
    const biasFits = !bias || (bias.dtype === 'float32' && bias.shape.at(-1) === n && tf.util.sizeFromShape(bias.shape) === n);
    if (!heap || !plan || !a || !b || !biasFits) return transposedFirst(args, original) ?? original(args);
    const out = byGatherGemm(a, b, attrs, plan, heap);
    if (bias) addBias(heap, out, bias, sizes(a, b, attrs).m, n);
    return out;
  };
}
