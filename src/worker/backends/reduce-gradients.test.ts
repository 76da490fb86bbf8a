/**
 * Our Sum and Mean gradients (./tf, registerBroadcastReduceGradients) give exactly what tfjs-core's
 * give (dy broadcast over the reduced axes, / n for Mean) without building ones(x.shape) on the CPU
 * and without taking x as an input; also second order (the WGAN-GP penalty differentiates through
 * gradients). On the CPU backend (a multiply by ones filled on the device) and on WebGPU (one
 * broadcast program; skipped, with the reason printed, without an adapter).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from './tf';
import { initBackend } from './index';
import { webgpuSkipReason } from './kernels/test-support';

const webgpuReason = await webgpuSkipReason('Sum / Mean gradients on WebGPU');

/** The programs a Sum's and a Mean's gradient run, by backend (Reshape and Identity move no data). */
const PROGRAMS = {
  cpu: { sum: ['Fill', 'Multiply'], mean: ['Fill', 'Multiply', 'RealDiv'] },
  webgpu: { sum: ['Tile'], mean: ['RealDiv', 'Tile'] },
} as const;

/** tfjs-core's own formulas (gradients/Sum_grad.js, Mean_grad.js), written out. */
function reference(kind: 'sum' | 'mean', x: tf.Tensor, dy: tf.Tensor, axis: number[] | null): tf.Tensor {
  const axes = axis === null ? x.shape.map((_, i) => i) : tf.util.parseAxisParam(axis, x.shape);
  const shape = x.shape.slice();
  for (const a of axes) shape[a] = 1;
  const g = tf.mul(tf.reshape(dy, shape), tf.ones(x.shape));
  return kind === 'sum' ? g : tf.div(g, axes.reduce((n, a) => n * x.shape[a]!, 1));
}

for (const backend of ['cpu', 'webgpu'] as const) {
  describe.skipIf(backend === 'webgpu' && webgpuReason !== '')(`Sum / Mean gradients without ones(x.shape) (${backend})`, () => {
    let x: tf.Tensor;
    beforeAll(async () => {
      await initBackend(backend);
      x = tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 7);
    });
    const cases: Array<{ axis: number[] | null; keepDims: boolean }> = [
      { axis: [0, 1, 2], keepDims: false }, // batch-norm statistics
      { axis: [0, 1, 2], keepDims: true },
      { axis: [-1], keepDims: false },
      { axis: [1, 3], keepDims: false },
      { axis: null, keepDims: false }, // everything
    ];
    for (const kind of ['sum', 'mean'] as const) {
      for (const c of cases) {
        it(`${kind} over ${JSON.stringify(c.axis)}${c.keepDims ? ' (keepDims)' : ''} matches tfjs-core's gradient bit for bit`, async () => {
          const op = (t: tf.Tensor) => (kind === 'sum' ? tf.sum(t, c.axis ?? undefined, c.keepDims) : tf.mean(t, c.axis ?? undefined, c.keepDims));
          const y = op(x);
          const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 11);
          const [got] = tf.grads((t: tf.Tensor) => op(t))([x], dy);
          const want = reference(kind, x, dy, c.axis);
          expect(got!.shape).toEqual(x.shape);
          expect(Array.from(await got!.data())).toEqual(Array.from(await want.data()));
          tf.dispose([y, dy, got!, want]);
        });
      }
    }

    it(`broadcasts dy without ones(x.shape): ${PROGRAMS[backend].sum.join(' + ')} for a Sum's gradient, ${PROGRAMS[backend].mean.join(' + ')} for a Mean's`, async () => {
      for (const [op, want] of [
        [(t: tf.Tensor) => tf.sum(t, [0, 1, 2]), PROGRAMS[backend].sum],
        [(t: tf.Tensor) => tf.mean(t, [0, 1, 2]), PROGRAMS[backend].mean],
      ] as const) {
        const y = op(x);
        const dy = tf.onesLike(y);
        const info = await tf.profile(() => {
          const [g] = tf.grads(op)([x], dy);
          g!.dispose();
        });
        // ('unnamed scope' is a custom gradient's own record, not a program.)
        const names = info.kernels.map((k) => k.name).filter((n) => !['Reshape', 'Identity', 'Sum', 'Mean', 'unnamed scope'].includes(n));
        expect(names).toEqual(want);
        tf.dispose([y, dy]);
      }
    });

    it('does not make the broadcast depend on x: a second backward pass sends nothing back into x', async () => {
      // d/dw of sum(grad_v sum(v * w)) = d/dw sum(w) : the inner gradient is w broadcast, whatever v
      // is. With onesLike(v * w) the outer pass also differentiated the ones (zeros) back into v * w.
      const v = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 5);
      const w = tf.variable(tf.randomNormal([2, 3, 4], 0, 1, 'float32', 6));
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.grad((u: tf.Tensor) => tf.sum(tf.mul(u, w)))(v)) as tf.Scalar, [w]);
        tf.dispose([value, grads[w.name]!]);
      });
      expect(info.kernels.map((k) => k.name)).not.toContain('ZerosLike');
      w.dispose();
      v.dispose();
    });

    it('keeps second derivatives cheap: no per-repetition slices (Tile gradient), any rank', async () => {
      // The WGAN-GP penalty differentiates through the critic's backward pass, which holds these.
      const x4 = tf.randomNormal([2, 8, 8, 16], 0, 1, 'float32', 3);
      const x5 = tf.randomNormal([2, 3, 4, 5, 6], 0, 1, 'float32', 4);
      for (const t of [x4, x5]) {
        const axes = t.shape.slice(1).map((_, i) => i + 1);
        const inner = (u: tf.Tensor) => tf.sum(tf.square(tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.mean(v, axes))))(u)));
        const info = await tf.profile(() => {
          tf.grad(inner)(t).dispose();
        });
        const slices = info.kernels.filter((k) => k.name === 'Slice').length;
        expect(slices).toBe(0);
        expect(info.kernels.length).toBeLessThan(200);
      }
      tf.dispose([x4, x5]);
    });

    it('works under a second derivative (as in the gradient penalty)', async () => {
      // f(x) = sum(mean(x^2, axis 0)^2); d/dx of sum((df/dx)^2) computed twice, compared to its closed form.
      const xs = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const inner = (t: tf.Tensor) => tf.sum(tf.square(tf.mean(tf.square(t), 0)));
      const outer = (t: tf.Tensor) => tf.sum(tf.square(tf.grad(inner)(t)));
      const g2 = tf.grad(outer)(xs);
      // Closed form: m_j = mean_i x_ij^2 (n = 3); df/dx_ij = 4 m_j x_ij / n; h = sum_ij (4 m_j x_ij / n)^2
      // = (16 / n^2) sum_j m_j^2 s_j with s_j = sum_i x_ij^2 = n m_j, so h = (16 / n) sum_j m_j^3 and
      // dh/dx_ij = (16 / n) * 3 m_j^2 * 2 x_ij / n.
      const n = 3;
      const x = [[1, 2], [3, 4], [5, 6]];
      const m = [0, 1].map((j) => x.reduce((s, r) => s + r[j]! ** 2, 0) / n);
      const want = x.map((r) => r.map((v, j) => ((16 / n) * 3 * m[j]! ** 2 * 2 * v) / n));
      const got = (await g2.array()) as number[][];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) expect(got[i]![j]!).toBeCloseTo(want[i]![j]!, 1);
      tf.dispose([xs, g2]);
    });
  });
}
