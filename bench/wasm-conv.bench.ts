/**
 * The WebAssembly backend's convolution passes per DCGAN critic layer (not a test): the forward
 * conv2d (the kernel's choice, and ours, Winograd's where it applies and tfjs-backend-wasm's XNNPACK),
 * our filter and input gradients (src/worker/backends/wasm/: the kernel's choice, and each of its
 * methods, Winograd's where it applies: src/worker/backends/wasm/winograd.ts), with each
 * pass's time as a ratio of the forward pass's: issue 5 asks for a filter gradient no slower than the
 * forward pass on any device; of the default forward pass and filter gradient also the time inside our
 * kernel (the rest is copies, tables, partials and allocation). One JSON line per layer (--json) or a
 * readable line.
 *
 *   npx tsx bench/wasm-conv.bench.ts [--net 32|64] [--batch 16] [--reps 9] [--warmup 30] [--layers D1,D2] [--alternate] [--cold] [--json]
 *     [--torch] [--python /usr/bin/python3] [--torch-threads N] [--torch-script bench/torch_conv_layers.py]
 *
 * --torch: first PyTorch's own three passes on the same shapes (bench/torch_conv_layers.py, on the
 * CPU with as many threads as ours, medians of alternated rounds), then each of our passes as a
 * multiple of PyTorch's, and PyTorch's filter and input gradients as multiples of its forward pass:
 * the reference for issue 5's "filter gradient no slower than the forward pass".
 *
 * --cold: before every timed call an element-wise op over a 32 MB tensor, so that the call finds the
 * caches full of other data, as in a training step.
 *
 * --alternate: every pass and method once per round, in turn, for --warmup rounds and then --reps timed
 * rounds, reporting medians: on a machine whose speed drifts (this build machine's by up to 2x within
 * minutes) the ratios between passes then compare calls made in the same seconds. Without it, each
 * pass's calls run one after another and the best is reported.
 *
 * Every call gets fresh copies of its inputs (new tensors, as in training, where the weights and
 * activations are new each step): XNNPACK caches a convolution's packed filter by tensor, so reusing
 * one tensor would time a cache hit that training never gets (and our input gradient's cache of
 * rearranged filters is cleared before each call: its worst case). wasm kernels run synchronously,
 * so no read-back is timed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { arg, convLayerFlop, LAYERS_32, LAYERS_64, runBench, type ConvLayer } from './support';
import { initBackend } from '../src/worker/backends';
import { tf } from '../src/worker/backends/tf';
import { conv2dBackpropFilter, type FilterGradMethod } from '../src/worker/backends/wasm/conv2d-backprop-filter';
import { clearInputGradFilterCache, conv2dBackpropInput, type InputGradMethod } from '../src/worker/backends/wasm/conv2d-backprop-input';
import { conv2dForward, type ForwardMethod } from '../src/worker/backends/wasm/conv2d';
import { wasmThreadCount } from '../src/worker/backends/wasm/threads';
import { activeHeap } from '../src/worker/backends/wasm/heap';

/** One timed call: f on fresh copies of its inputs. */
interface Job {
  inputs: tf.Tensor[];
  f: (...fresh: tf.Tensor[]) => tf.Tensor;
}

/** ms spent inside our gather-GEMM kernel (on every thread) since the last reset; see `timeKernelCalls`. */
let kernelMs = 0;

/**
 * Times every call of our gather-GEMM kernel (./simd/gather-gemm.wat), so that a pass's time splits
 * into the kernel's sums and the rest of the call (copies of x, tables, partials, allocation).
 */
function timeKernelCalls(): void {
  const kernels = activeHeap()?.kernels;
  if (!kernels) return;
  const gemm = kernels.gatherGemm.bind(kernels);
  kernels.gatherGemm = (job) => {
    const t0 = performance.now();
    gemm(job);
    kernelMs += performance.now() - t0;
  };
}

/**
 * --cold: a 32 MB tensor that an element-wise op reads and a new one is written from before every
 * timed call, so that the call starts with the caches holding something else, as a pass does in a
 * training step (the passes' own inputs are fresh copies either way, so they start in the cache).
 */
let cold: tf.Tensor | null = null;

/** ms of one call of `job` on fresh copies of its inputs (new tensors, as in training), and of our kernel in it. */
function timeOnce(job: Job): { ms: number; kernelMs: number } {
  if (cold) tf.mul(cold, 1.0001).dispose();
  const fresh = job.inputs.map((t) => tf.add(t, 0));
  clearInputGradFilterCache(); // the copies have the same values: time the input gradient's first call
  kernelMs = 0;
  const t0 = performance.now();
  const out = job.f(...fresh);
  const ms = performance.now() - t0;
  out.dispose();
  tf.dispose(fresh);
  return { ms, kernelMs };
}

/**
 * Each job's time (ms) after `warmup` untimed calls: our SIMD kernel starts its worker threads on its
 * first call, and V8 runs its baseline code for the first 20 or so calls (on the RGB layer at batch 16
 * about 1.5-2x slower, with pauses of 3-6 ms while it optimises in the background; compared with
 * --no-wasm-dynamic-tiering), as for any WebAssembly function; training makes thousands of calls.
 * The best of `reps` calls, each job's after another's; or, `alternate`, the median of `reps` rounds
 * that call every job once in turn.
 */
function timeJobs(jobs: Record<string, Job>, reps: number, warmup: number, alternate: boolean): Record<string, { ms: number; kernelMs: number }> {
  const times: Record<string, Array<{ ms: number; kernelMs: number }>> = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  if (alternate) {
    for (let round = 0; round < warmup + reps; round++) {
      for (const [name, job] of Object.entries(jobs)) {
        const t = timeOnce(job);
        if (round >= warmup) times[name]!.push(t);
      }
    }
  } else {
    for (const [name, job] of Object.entries(jobs)) {
      for (let i = 0; i < warmup + reps; i++) {
        const t = timeOnce(job);
        if (i >= warmup) times[name]!.push(t);
      }
    }
  }
  // The kernel's share: its median too (alternated), or its time in the best call.
  const stat = (v: Array<{ ms: number; kernelMs: number }>) => {
    if (!alternate) return v.reduce((best, t) => (t.ms < best.ms ? t : best));
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    return { ms: median(v.map((t) => t.ms)), kernelMs: median(v.map((t) => t.kernelMs)) };
  };
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, stat(v)]));
}

const WARMUP = Number(arg('warmup', '30'));

/** One layer's passes by PyTorch (bench/torch_conv_layers.py's JSON line). */
interface TorchLayer {
  layer: string; torch: string; threads: number; forwardMs: number; filterMs: number; inputMs: number;
  filterVsForward: number; inputVsForward: number;
}

/** PyTorch's passes on `layers` on the CPU, by layer name; null (and why, on stderr) where it cannot run. */
function torchReference(layers: ConvLayer[], batch: number, reps: number): Map<string, TorchLayer> | null {
  const python = arg('python', '/usr/bin/python3');
  const threads = arg('torch-threads', String(wasmThreadCount()));
  const script = arg('torch-script', join(__dirname, 'torch_conv_layers.py'));
  const args = [script, String(batch), 'cpu', threads, String(Math.max(reps, 21)), '5', JSON.stringify(layers)];
  const run = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const rows = (run.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as TorchLayer);
  if (run.status !== 0 || rows.length !== layers.length) {
    console.error(`PyTorch reference failed (${python}, exit ${run.status}): ${(run.stderr ?? String(run.error)).trim().split('\n').slice(-2).join(' ')}`);
    return null;
  }
  return new Map(rows.map((r) => [r.layer, r]));
}

async function main(): Promise<void> {
  const batch = Number(arg('batch', '16'));
  const reps = Number(arg('reps', '9'));
  const net = arg('net', '32');
  if (net !== '32' && net !== '64') throw new Error('--net must be 32 or 64');
  const layers = net === '64' ? LAYERS_64 : LAYERS_32;
  const which = arg('layers', layers.map((l) => l.name.split(' ')[0]).join(',')).split(',');
  const json = process.argv.includes('--json');
  const alternate = process.argv.includes('--alternate');
  const chosen = layers.filter((l) => which.includes(l.name.split(' ')[0]!));
  // PyTorch first, alone on the processor: its threads and ours would otherwise compete.
  const torch = process.argv.includes('--torch') ? torchReference(chosen, batch, reps) : null;
  const backend = await initBackend('wasm');
  timeKernelCalls();
  if (process.argv.includes('--cold')) cold = tf.randomNormal([8 * 1024 * 1024]);
  if (!json) console.log(`${backend.device}; batch ${batch}; ${alternate ? `median of ${reps} alternated rounds` : `best of ${reps} calls`} on fresh inputs${cold ? ', each after a 32 MB element-wise op (--cold)' : ''}`);

  for (const layer of chosen) {
    const [h, w, ci] = layer.input;
    const { k, co, stride } = layer;
    const x = tf.randomNormal([batch, h, w, ci]) as tf.Tensor4D;
    const filter = tf.randomNormal([k, k, ci, co]) as tf.Tensor4D;
    const dy = tf.randomNormal([batch, h / stride, w / stride, co]) as tf.Tensor4D;
    const common = { strides: stride, pad: 'same' as const, dataFormat: 'NHWC' as const };
    const filterAttrs = { ...common, filterShape: [k, k, ci, co] as [number, number, number, number] };
    const inputAttrs = { ...common, inputShape: [batch, h, w, ci] as [number, number, number, number] };

    const winogradToo = ci % 4 === 0 && k === 4 && stride === 2;
    const filterMethods: FilterGradMethod[] = ['dyFilter', 'xFilter', 'direct', 'directNhwc', 'directRows', 'directRowsNhwc', ...(winogradToo ? (['winograd', 'winogradRows', 'winograd4'] as const) : [])];
    const inputMethods = (['subPixel', 'phases', 'phasesInHeap', 'patches', 'winograd', 'winograd4', 'winogradScatter', 'winograd4Scatter'] as InputGradMethod[]).filter(
      (m) => (m !== 'phasesInHeap' && !m.startsWith('winograd')) || (ci % 16 === 0 && (!m.endsWith('Scatter') || co % 16 === 0)),
    );
    // Winograd where it applies (Ci a multiple of 4: not the RGB layer)
    const forwardMethods: ForwardMethod[] = winogradToo ? ['gemm', 'winograd', 'winograd4', 'xnnpack'] : ['gemm', 'xnnpack'];
    const jobs: Record<string, Job> = {
      forward: { inputs: [x, filter], f: (a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, 'same') },
      ...Object.fromEntries(forwardMethods.map((m) => [`forward:${m}`, { inputs: [x, filter], f: (a: tf.Tensor, b: tf.Tensor) => conv2dForward(a as tf.Tensor4D, b as tf.Tensor4D, common, m) }])),
      filter: { inputs: [x, dy], f: (a, b) => conv2dBackpropFilter(a as tf.Tensor4D, b as tf.Tensor4D, filterAttrs) },
      ...Object.fromEntries(filterMethods.map((m) => [`filter:${m}`, { inputs: [x, dy], f: (a: tf.Tensor, b: tf.Tensor) => conv2dBackpropFilter(a as tf.Tensor4D, b as tf.Tensor4D, filterAttrs, m) }])),
      input: { inputs: [dy, filter], f: (a, b) => conv2dBackpropInput(a as tf.Tensor4D, b as tf.Tensor4D, inputAttrs) },
      ...Object.fromEntries(inputMethods.map((m) => [`input:${m}`, { inputs: [dy, filter], f: (a: tf.Tensor, b: tf.Tensor) => conv2dBackpropInput(a as tf.Tensor4D, b as tf.Tensor4D, inputAttrs, m) }])),
    };
    const timed = timeJobs(jobs, reps, WARMUP, alternate);
    const t = Object.fromEntries(Object.entries(timed).map(([k, v]) => [k, v.ms]));
    const forwardMs = t.forward!;
    const forwardByMethod = { gemm: t['forward:gemm']!, winograd: t['forward:winograd'], winograd4: t['forward:winograd4'], xnnpack: t['forward:xnnpack']! };
    const filterMs = t.filter!;
    const byMethod = Object.fromEntries(filterMethods.map((m) => [m, t[`filter:${m}`]!])) as Record<FilterGradMethod, number>;
    const inputMs = t.input!;
    const inputByMethod = Object.fromEntries(inputMethods.map((m) => [m, t[`input:${m}`]!])) as Partial<Record<InputGradMethod, number>>;
    const ms = (v: number | undefined) => (v === undefined ? null : r2(v));
    tf.dispose([x, filter, dy]);

    const r2 = (v: number) => Math.round(v * 100) / 100;
    const row = {
      bench: 'wasm-conv',
      layer: layer.name,
      batch,
      device: backend.device,
      stat: alternate ? `median of ${reps} alternated rounds` : `best of ${reps} calls`,
      cold: cold !== null,
      forwardMs: r2(forwardMs),
      forwardGflops: r2(convLayerFlop(layer, batch) / (forwardMs * 1e6)),
      forwardMethodMs: { gemm: r2(forwardByMethod.gemm), winograd: ms(forwardByMethod.winograd), winograd4: ms(forwardByMethod.winograd4), xnnpack: r2(forwardByMethod.xnnpack) },
      // Of each default pass, the time inside our kernel (the rest: copies, tables, partials, allocation).
      forwardKernelMs: r2(timed.forward!.kernelMs),
      filterMs: r2(filterMs),
      filterKernelMs: r2(timed.filter!.kernelMs),
      filterVsForward: r2(filterMs / forwardMs),
      filterMethodMs: { dyFilter: r2(byMethod.dyFilter), xFilter: r2(byMethod.xFilter), direct: r2(byMethod.direct), directNhwc: r2(byMethod.directNhwc), directRows: r2(byMethod.directRows), directRowsNhwc: r2(byMethod.directRowsNhwc), winograd: ms(byMethod.winograd), winogradRows: ms(byMethod.winogradRows), winograd4: ms(byMethod.winograd4) },
      inputMs: r2(inputMs),
      inputVsForward: r2(inputMs / forwardMs),
      inputMethodMs: { subPixel: ms(inputByMethod.subPixel), phases: ms(inputByMethod.phases), phasesInHeap: ms(inputByMethod.phasesInHeap), patches: ms(inputByMethod.patches), winograd: ms(inputByMethod.winograd), winograd4: ms(inputByMethod.winograd4), winogradScatter: ms(inputByMethod.winogradScatter), winograd4Scatter: ms(inputByMethod.winograd4Scatter) },
      date: new Date().toISOString(),
      ...torchColumns(torch?.get(layer.name), { forward: forwardMs, filter: filterMs, input: inputMs }),
    };
    if (json) console.log(JSON.stringify(row));
    else {
      console.log(
        `${layer.name}: forward ${row.forwardMs} ms (${row.forwardGflops} GFLOP/s; kernel ${row.forwardKernelMs}; ours ${row.forwardMethodMs.gemm}, Winograd ${row.forwardMethodMs.winograd ?? '-'}, Winograd 4x4 ${row.forwardMethodMs.winograd4 ?? '-'}, XNNPACK ${row.forwardMethodMs.xnnpack}) | ` +
          `filter gradient ${row.filterMs} ms = ${row.filterVsForward}x forward (kernel ${row.filterKernelMs}; dyFilter ${row.filterMethodMs.dyFilter}, ` +
          `xFilter ${row.filterMethodMs.xFilter}, direct ${row.filterMethodMs.direct}, directNhwc ${row.filterMethodMs.directNhwc}, directRows ${row.filterMethodMs.directRows}, directRowsNhwc ${row.filterMethodMs.directRowsNhwc}, winograd ${row.filterMethodMs.winograd ?? '-'}, winogradRows ${row.filterMethodMs.winogradRows ?? '-'}, winograd4 ${row.filterMethodMs.winograd4 ?? '-'}) | ` +
          `input gradient ${row.inputMs} ms = ${row.inputVsForward}x forward (subPixel ${row.inputMethodMs.subPixel}, phases ${row.inputMethodMs.phases}, ` +
          `phasesInHeap ${row.inputMethodMs.phasesInHeap ?? '-'}, patches ${row.inputMethodMs.patches ?? '-'}, winograd ${row.inputMethodMs.winograd ?? '-'}, winograd4 ${row.inputMethodMs.winograd4 ?? '-'}, winogradScatter ${row.inputMethodMs.winogradScatter ?? '-'}, winograd4Scatter ${row.inputMethodMs.winograd4Scatter ?? '-'})`,
      );
      if (row.pytorch) {
        const p = row.pytorch;
        const v = row.oursVsPytorch!;
        console.log(
          `  PyTorch ${p.version} (${p.threads} threads): forward ${p.forwardMs} ms, filter gradient ${p.filterMs} ms = ${p.filterVsForward}x its forward, ` +
            `input gradient ${p.inputMs} ms = ${p.inputVsForward}x | ours / PyTorch: forward ${v.forward}x, filter gradient ${v.filter}x, input gradient ${v.input}x`,
        );
      }
    }
  }
}

/** The row's PyTorch columns: its figures, and ours as multiples of them (none without --torch). */
function torchColumns(t: TorchLayer | undefined, ours: { forward: number; filter: number; input: number }) {
  if (!t) return {};
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return {
    pytorch: {
      version: t.torch, threads: t.threads, forwardMs: t.forwardMs, filterMs: t.filterMs, inputMs: t.inputMs,
      filterVsForward: t.filterVsForward, inputVsForward: t.inputVsForward,
    },
    oursVsPytorch: { forward: r2(ours.forward / t.forwardMs), filter: r2(ours.filter / t.filterMs), input: r2(ours.input / t.inputMs) },
  };
}

runBench(main);
