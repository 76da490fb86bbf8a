/**
 * Adam with fused updates on WebGPU and WebAssembly (issue 5: "the Adam update ... one fused kernel").
 *
 * tfjs's AdamOptimizer (tfjs-core 4.22) updates each variable with 14 element-wise ops (mul, add,
 * square, div, sqrt, ...), each its own GPU dispatch with its own bind group and uniform buffer. A
 * DCGAN has about 20 trainable variables per network, so one training step spent some 600
 * dispatches on Adam alone, and the WGAN-GP critic, updated 5 times per step, far more. On a real GPU
 * these dispatches are tiny and their CPU-side cost is what counts.
 *
 * Here each variable takes one dispatch that rewrites the weight and both moments in place where
 * nothing else holds their data (./adam-in-place.ts); otherwise (and with GAN_AUGMENT_IN_PLACE=0)
 * 3 programs of tfjs's runner, each with a new output, all reading the old state (so their order does
 * not matter):
 *   m'     = beta1 * m + (1 - beta1) * g
 *   v'     = beta2 * v + (1 - beta2) * g^2
 *   value' = value - lr * (m' / (1 - accBeta1)) / (sqrt(v' / (1 - accBeta2)) + eps)
 * then the three variables are re-pointed with assign() (no copy). The two ways give the same bits
 * (tested). The arithmetic is tfjs's, in the
 * same order, so results agree with tfjs's Adam to float32 rounding (tested). accBeta1 / accBeta2
 * stay the GPU scalars tfjs keeps (read by the kernel, never read back), and the optimizer state
 * (accumulatedFirstMoment / SecondMoment, getWeights / setWeights) is tfjs's own, so checkpoints are
 * unchanged.
 *
 * On WebAssembly each variable's update is one pass of our SIMD helper over the heap, with the same
 * operations in the same order (`applyInHeap` below). On any other backend, or on WebGPU with
 * GAN_AUGMENT_WGSL_KERNELS=0, tfjs's own applyGradients runs.
 */
import { AdamOptimizer, broadcastTo, cast, engine, getBackend, mul, tidy, zerosLike } from '@tensorflow/tfjs-core';
import type { NamedTensorMap, Tensor, TensorInfo, Variable } from '@tensorflow/tfjs-core';

/** tfjs-core's NamedTensor (tensor_types.d.ts; not re-exported from the package root). */
interface NamedTensor {
  name: string;
  tensor: Tensor;
}
import { ourKernelsRequested, type WebGpuBackendLike, type WebGpuProgramLike } from './common';
import { AdamInPlace } from './adam-in-place';
import { type InPlaceBackendInternals, inPlaceRequested } from './in-place';
import { type Heap, activeHeap, uninitialised } from '../wasm/heap';

const WORKGROUP = 256;
/** Workgroups per dispatch at most (WebGPU's default limit is 65535 per dimension); threads loop. */
const MAX_WORKGROUPS = 16384;

type Part = 'm' | 'v' | 'value';

/** AdamOptimizer's private state (tfjs-core 4.22 adam_optimizer.js), which the fused path shares. */
interface AdamState {
  accBeta1: Variable;
  accBeta2: Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: Variable } | undefined>;
}

/** One of the three element-wise update programs. */
class AdamUpdateProgram implements WebGpuProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  uniforms = 'beta1 : f32, beta2 : f32, c1 : f32, c2 : f32, lr : f32, eps : f32, threads : i32,';
  size = true;
  readonly threads: number;
  private readonly part: Part;

  constructor(part: Part, shape: number[]) {
    this.part = part;
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    const size = shape.reduce((a, b) => a * b, 1);
    const groups = Math.max(1, Math.min(MAX_WORKGROUPS, Math.ceil(size / WORKGROUP)));
    this.threads = groups * WORKGROUP;
    this.dispatch = [groups, 1, 1];
    this.variableNames = part === 'm' ? ['m', 'g'] : part === 'v' ? ['v', 'g'] : ['w', 'm', 'v', 'g', 'accB1', 'accB2'];
    this.shaderKey = `ganAugmentAdam_${part}`;
  }

  getUserCode(): string {
    // Same operation order as tfjs's AdamOptimizer.applyGradients.
    const body =
      this.part === 'm'
        ? 'result[i] = m[i] * uniforms.beta1 + g[i] * uniforms.c1;'
        : this.part === 'v'
          ? 'result[i] = v[i] * uniforms.beta2 + (g[i] * g[i]) * uniforms.c2;'
          : `let gi = g[i];
          let m1 = m[i] * uniforms.beta1 + gi * uniforms.c1;
          let v1 = v[i] * uniforms.beta2 + (gi * gi) * uniforms.c2;
          let mHat = m1 / oneMinusB1;
          let vHat = v1 / oneMinusB2;
          result[i] = (mHat / (sqrt(vHat) + uniforms.eps)) * (-uniforms.lr) + w[i];`;
    const pre = this.part === 'value' ? 'let oneMinusB1 = 1.0 - accB1[0];\n      let oneMinusB2 = 1.0 - accB2[0];' : '';
    return `
    fn main(index : i32) {
      ${pre}
      for (var i = index; i < uniforms.size; i = i + uniforms.threads) {
          ${body}
      }
    }
    `;
  }
}

/** An AdamOptimizer whose per-variable update is one dispatch (or 3) on 'webgpu' and one pass on 'wasm', instead of 14 ops. */
export class FusedAdamOptimizer extends AdamOptimizer {
  /** Whether the last applyGradients took the fused path (tests). */
  lastStepFused = false;
  /** The one-dispatch update on WebGPU, made on first use (its counters say how often it applied). */
  inPlace: AdamInPlace | null = null;
  /** Milliseconds spent in applyGradients so far: on WebGPU, the processor's time recording the updates (benchmarks). */
  applyMs = 0;

  override applyGradients(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const started = performance.now();
    try {
      this.applyGradientsOnce(variableGradients);
    } finally {
      this.applyMs += performance.now() - started;
    }
  }

  private applyGradientsOnce(variableGradients: NamedTensorMap | NamedTensor[]): void {
    const heap = activeHeap(); // null unless the backend is WebAssembly
    if (heap) {
      this.applyInHeap(variableGradients, heap);
      return;
    }
    if (getBackend() !== 'webgpu' || !ourKernelsRequested()) {
      this.lastStepFused = false;
      super.applyGradients(variableGradients as Parameters<AdamOptimizer['applyGradients']>[0]);
      return;
    }
    const backend = engine().backend as unknown as WebGpuBackendLike;
    const eps = this.epsilon;
    const st = this as unknown as AdamState;
    // Made for the backend that runs now (a new one after a lost GPU gets its own).
    if (this.inPlace && this.inPlace.backend !== (backend as unknown)) {
      this.inPlace.dispose();
      this.inPlace = null;
    }
    const inPlace = inPlaceRequested() ? (this.inPlace ??= new AdamInPlace(backend as unknown as InPlaceBackendInternals)) : null;
    // 1 - beta in double, then rounded, as tfjs does (1 - 0.999 in float32 is 1.3e-5 off).
    const constants = { beta1: this.beta1, beta2: this.beta2, c1: 1 - this.beta1, c2: 1 - this.beta2, lr: this.learningRate, eps };
    this.eachVariable(variableGradients, (value, m, v, gradient) => {
      if (inPlace?.update(value, m, v, gradient, st.accBeta1, st.accBeta2, constants)) return;
      const run = (part: Part, inputs: Tensor[]): Tensor => {
        const program = new AdamUpdateProgram(part, value.shape);
        const uniforms = [
          { type: 'float32', data: [constants.beta1] },
          { type: 'float32', data: [constants.beta2] },
          { type: 'float32', data: [constants.c1] },
          { type: 'float32', data: [constants.c2] },
          { type: 'float32', data: [constants.lr] },
          { type: 'float32', data: [constants.eps] },
          { type: 'int32', data: [program.threads] },
        ];
        const info: TensorInfo = backend.runWebGPUProgram(program, inputs, 'float32', uniforms);
        return engine().makeTensorFromTensorInfo(info);
      };
      const newValue = run('value', [value, m, v, gradient, st.accBeta1, st.accBeta2]);
      const newM = run('m', [m, gradient]);
      const newV = run('v', [v, gradient]);
      m.assign(newM);
      v.assign(newV);
      value.assign(newValue);
    }, inPlace ? (acc1, acc2) => inPlace.advanceBetaPowers(acc1, acc2, this.beta1, this.beta2) : undefined);
  }

  /** tfjs's state, and the in-place update's GPU buffers. */
  override dispose(): void {
    this.inPlace?.dispose();
    this.inPlace = null;
    super.dispose();
  }

  /**
   * On WebAssembly: each variable's update in one pass over the heap (../wasm/simd/gather-gemm.wat
   * `adamUpdate`), reading w, m, v and g once and writing the three new tensors, where tfjs's 14 ops
   * each read and write whole tensors (with DCGAN-64's 6.3 million parameters, some 40 passes over
   * 25 MB each per step). Each operation is the one tfjs does, in its order, in float32: the same bits.
   * `heap.at` asks the backend's data storage, which first moves a tensor held by another backend
   * into the heap (tfjs's DataStorage.get), as it does for any kernel's inputs.
   */
  private applyInHeap(variableGradients: NamedTensorMap | NamedTensor[], heap: Heap): void {
    const st = this as unknown as AdamState;
    this.eachVariable(variableGradients, (value, m, v, gradient) => {
      const outs = [value, m, v].map((t) => uninitialised(heap, t.shape)); // may grow the heap: addresses after
      const [newValue, newM, newV] = outs as [Tensor, Tensor, Tensor];
      heap.kernels.adamUpdate(
        heap.at(value), heap.at(m), heap.at(v), heap.at(gradient), heap.at(newValue), heap.at(newM), heap.at(newV), value.size,
        // 1 - beta in double, then rounded, as tfjs does (1 - 0.999 in float32 is 1.3e-5 off).
        this.beta1, this.beta2, 1 - this.beta1, 1 - this.beta2, -this.learningRate, this.epsilon,
        heap.at(st.accBeta1), heap.at(st.accBeta2),
      );
      m.assign(newM);
      v.assign(newV);
      value.assign(newValue);
    });
  }

  /**
   * tfjs's applyGradients around a per-variable update: the moments created (zero) on first use, a
   * gradient cast to float32, the accumulated betas advanced after every variable, the iteration
   * counted; all inside one tidy. `update` computes and assigns value, m and v.
   */
  private eachVariable(
    variableGradients: NamedTensorMap | NamedTensor[],
    update: (value: Variable, m: Variable, v: Variable, gradient: Tensor) => void,
    advanceInPlace?: (accBeta1: Variable, accBeta2: Variable) => boolean,
  ): void {
    this.lastStepFused = true;
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const st = this as unknown as AdamState;
    tidy(() => {
      names.forEach((name, i) => {
        const value = engine().registeredVariables[name]!;
        st.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tidy(() => zerosLike(value).variable(false)) };
        st.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tidy(() => zerosLike(value).variable(false)) };
        const gradient = Array.isArray(variableGradients) ? variableGradients[i]!.tensor : variableGradients[name];
        if (gradient == null) return;
        const g32 = gradient.dtype === 'float32' ? gradient : cast(gradient, 'float32');
        // The fused updates read value.size floats of each: a smaller gradient is broadcast first, as
        // tfjs's arithmetic would (it fails, as tfjs's would, where the shapes cannot broadcast), and
        // moments of another size (an optimizer state restored for another model) are refused.
        const g = g32.size === value.size ? g32 : broadcastTo(g32, value.shape);
        const m = st.accumulatedFirstMoment[i]!.variable;
        const v = st.accumulatedSecondMoment[i]!.variable;
        if (m.size !== value.size || v.size !== value.size) {
          throw new Error(`Adam: the optimizer's moments for ${name} (${m.shape}, ${v.shape}) do not match the weight (${value.shape})`);
        }
        update(value, m, v, g);
      });
      if (!advanceInPlace?.(st.accBeta1, st.accBeta2)) {
        st.accBeta1.assign(mul(st.accBeta1, this.beta1));
        st.accBeta2.assign(mul(st.accBeta2, this.beta2));
      }
    });
    this.incrementIterations();
  }
}

/** Adam for the trainer: fused on WebGPU and WebAssembly (see above), tfjs's own elsewhere. */
export function createAdam(learningRate: number, beta1: number, beta2: number, epsilon?: number): FusedAdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2, epsilon);
}
