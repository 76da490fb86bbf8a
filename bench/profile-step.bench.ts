/**
 * Where a training step's time goes, kernel by kernel (not a test). Builds the same trainer as
 * bench/train.bench.ts, runs warm-up steps, times --steps plain steps, then runs one step under
 * tf.profile and prints one JSON line: the plain ms/step, how much of a step is spent enqueueing
 * work on the CPU (enqueueMs) and waiting for the device to finish it (drainMs), the profiled step's
 * wall time, the GPU
 * time per kernel name (count, total ms, share; from WebGPU timestamp queries where the adapter has
 * them, else 0) and the time outside kernels (JS, dispatch, uploads, our directly-run programs such
 * as the fused Adam), and on WebGPU the programs a step dispatches through tfjs's runner, by kind.
 *
 *   npx tsx bench/profile-step.bench.ts --model dcgan|cwgan-gp --resolution 64 --batch 256 \
 *     [--backend webgpu] [--classes 8] [--steps 5] [--warmup 3] [--top 25]
 */
import { arg, runBench, trainerFromArgs } from './support';
import { tf } from '../src/worker/backends/tf';
import { recordPrograms } from '../src/worker/backends/kernels/record-programs';

async function main(): Promise<void> {
  const { model, resolution, batch, backend, trainer } = await trainerFromArgs({ resolution: 64, batch: 64, backend: 'webgpu', cwganClasses: 8 });
  const steps = Number(arg('steps', '5'));
  const warmup = Number(arg('warmup', '3'));
  const top = Number(arg('top', '25'));
  // As in bench/train.bench.ts: read back every 4th warm-up step and the last (the dispatch cache settles).
  for (let i = 0; i < warmup; i++) await trainer.step({ forceRead: i % 4 === 3 || i === warmup - 1 });
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step({ forceRead: i === steps - 1 });
  const msPerStep = (performance.now() - t0) / steps;

  // CPU-bound or device-bound? Time the step's enqueueing (no read-back) apart from the wait for the
  // queue to drain (a read-back of a one-value tensor waits for all work submitted before it).
  let enqueueMs = 0;
  let drainMs = 0;
  for (let i = 0; i < steps; i++) {
    const a = performance.now();
    await trainer.step({ forceRead: false });
    const b = performance.now();
    // A reduction of G's first weight: on the device (a small CPU-resident tensor would be computed
    // on the CPU and wait for nothing), and it depends on this step's update.
    const probe = tf.sum(trainer.generator.trainableWeights[0]!.read());
    await probe.data();
    probe.dispose();
    enqueueMs += b - a;
    drainMs += performance.now() - b;
  }
  enqueueMs /= steps;
  drainMs /= steps;

  // WebGPU: the programs one plain step dispatches through tfjs's runner, by kind (the shader key's
  // first word: tfjs's 'binary', 'unary', 'reduce', ... or ours, 'ganAugment...'); in-place updates of
  // ours (Adam's, batch norm's moving averages) are dispatched outside it and not counted here.
  const programs = new Map<string, number>();
  const onWebGpu = typeof (tf.backend() as { runWebGPUProgram?: unknown }).runWebGPUProgram === 'function';
  if (onWebGpu) {
    const recorded = recordPrograms(() => trainer.step({ forceRead: true }));
    await recorded.result;
    for (const p of recorded.programs) {
      const kind = /^[A-Za-z0-9]+/.exec(p.shaderKey)?.[0] ?? p.shaderKey;
      programs.set(kind, (programs.get(kind) ?? 0) + 1);
    }
  }
  const programsPerStep = Object.fromEntries([...programs].sort((a, b) => b[1] - a[1]));

  const w0 = performance.now();
  const info = await tf.profile(async () => {
    await trainer.step({ forceRead: true });
  });
  const profiledWallMs = performance.now() - w0;
  const byName = new Map<string, { count: number; ms: number }>();
  let kernelMs = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    kernelMs += ms;
    const e = byName.get(k.name) ?? { count: 0, ms: 0 };
    e.count += 1;
    e.ms += ms;
    byName.set(k.name, e);
  }
  const r2 = (v: number) => Math.round(v * 100) / 100;
  // --detail Sub,Multiply: those kernels' time by input shapes (which calls are the slow ones)
  const detailNames = new Set(arg('detail', '').split(',').filter(Boolean));
  const byShape = new Map<string, { count: number; ms: number }>();
  for (const k of info.kernels) {
    if (!detailNames.has(k.name)) continue;
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s?.join(',') ?? ''}]`).join(' ')}`;
    const e = byShape.get(key) ?? { count: 0, ms: 0 };
    e.count += 1;
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byShape.set(key, e);
  }
  const detail = [...byShape].sort((a, b) => b[1].ms - a[1].ms).map(([call, e]) => ({ call, count: e.count, ms: r2(e.ms) }));
  const kernels = [...byName]
    .sort((a, b) => b[1].ms - a[1].ms || b[1].count - a[1].count)
    .slice(0, top)
    .map(([name, e]) => ({ name, count: e.count, ms: r2(e.ms), share: r2(e.ms / Math.max(kernelMs, 1e-9)) }));
  console.log(
    JSON.stringify({
      bench: 'profile-step',
      model,
      resolution,
      batch,
      device: backend.device,
      msPerStep: r2(msPerStep),
      enqueueMs: r2(enqueueMs),
      drainMs: r2(drainMs),
      profiledWallMs: r2(profiledWallMs),
      kernelCount: info.kernels.length,
      kernelMs: r2(kernelMs),
      outsideKernelsMs: r2(profiledWallMs - kernelMs),
      kernels,
      ...(onWebGpu ? { programsPerStep } : {}),
      ...(detail.length > 0 ? { detail } : {}),
      date: new Date().toISOString(),
    }),
  );
  trainer.dispose();
}

runBench(main);
