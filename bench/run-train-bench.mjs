#!/usr/bin/env node
/**
 * Runs our training benchmark and the PyTorch reference on the same machine in one go, and prints
 * both JSON lines and the ratio (ours ms/step / PyTorch ms/step). The reference is
 * ../shared/bench/torch_dcgan.py for the DCGAN and bench/torch_cwgan_gp.py (the same conditional
 * WGAN-GP as ours) for --model cwgan-gp.
 *
 *   node bench/run-train-bench.mjs [--model dcgan|cwgan-gp] [--resolution 32] [--batch 16]
 *     [--classes K] [--backend webgpu] [--steps 3] [--warmup 1] [--torch-steps 20]
 *     [--torch-script PATH] [--python /usr/bin/python3] [--torch-threads N]
 *
 * PyTorch runs on `cuda` when nvidia-smi exists, else on the CPU (Debian: apt-get install python3-torch).
 * On the CPU it gets as many threads as our WebAssembly backend uses (GAN_AUGMENT_WASM_THREADS, else
 * one per logical processor up to 8), through OMP_NUM_THREADS: Debian's PyTorch 1.13 otherwise uses 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const model = arg('model', 'dcgan');
const res = arg('resolution', '32');
const batch = arg('batch', '16');
const backend = arg('backend', 'webgpu');
const steps = arg('steps', '3');
const warmup = arg('warmup', '1');
const torchSteps = arg('torch-steps', '20');
const readEvery = arg('read-every', null); // ours: the app's cadence unless given (bench/train.bench.ts)
const wgan = model === 'cwgan-gp';
const classes = arg('classes', wgan ? '2' : '1');
const torchScript = arg('torch-script', wgan ? path.resolve(root, 'bench/torch_cwgan_gp.py') : path.resolve(root, '../shared/bench/torch_dcgan.py'));
const python = arg('python', '/usr/bin/python3');
const hasNvidia = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).status === 0;
const torchDevice = arg('torch-device', hasNvidia ? 'cuda' : 'cpu');
const oursThreads = Math.min(Number(process.env.GAN_AUGMENT_WASM_THREADS ?? availableParallelism()), 8); // as wasmThreadCount caps it
const torchThreads = arg('torch-threads', String(oursThreads));

function lastJsonLine(text) {
  const lines = text.trim().split('\n').filter((l) => l.startsWith('{'));
  return lines.length ? JSON.parse(lines[lines.length - 1]) : null;
}

const oursArgs = ['tsx', 'bench/train.bench.ts', '--model', model, '--resolution', res, '--batch', batch, '--classes', classes, '--backend', backend, '--steps', steps, '--warmup', warmup, ...(readEvery === null ? [] : ['--read-every', readEvery]), '--json'];
console.error(`> npx ${oursArgs.join(' ')}`);
const ours = spawnSync('npx', oursArgs, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
const oursJson = lastJsonLine(ours.stdout ?? '');
if (!oursJson) console.error(`ours failed (exit ${ours.status}):\n${ours.stderr}`);
else console.log(JSON.stringify({ run: 'tfjs', ...oursJson }));

let torchJson = null;
if (!existsSync(torchScript)) console.error(`PyTorch reference not found at ${torchScript}`);
else {
  const torchArgs = [torchScript, res, batch, torchDevice, torchSteps, ...(wgan ? [classes] : [])];
  console.error(`> ${python} ${torchArgs.join(' ')}`);
  const torchEnv = { ...process.env, OMP_NUM_THREADS: torchThreads, MKL_NUM_THREADS: torchThreads };
  const torch = spawnSync(python, torchArgs, { encoding: 'utf8', maxBuffer: 1 << 26, env: torchDevice === 'cpu' ? torchEnv : process.env });
  torchJson = lastJsonLine(torch.stdout ?? '');
  if (!torchJson) console.error(`PyTorch reference failed (exit ${torch.status}): ${torch.stderr?.trim().split('\n').slice(-3).join(' ')}`);
  else console.log(JSON.stringify({ run: 'pytorch', ...torchJson }));
}

if (oursJson && torchJson) {
  const ratio = oursJson.msPerStep / torchJson.msPerStep;
  console.log(
    JSON.stringify({
      run: 'ratio',
      model,
      resolution: Number(res),
      batch: Number(batch),
      oursBackend: oursJson.backend,
      oursDevice: oursJson.device,
      torchDevice,
      torchThreads: torchJson.threads,
      oursMsPerStep: oursJson.msPerStep,
      torchMsPerStep: torchJson.msPerStep,
      slowdown: Math.round(ratio * 10) / 10,
    }),
  );
  // "1.3x slower" when ours takes longer, else "1.2x faster" (PyTorch's time over ours).
  const factor = ratio >= 1 ? ratio : 1 / ratio;
  console.error(`tfjs (${oursJson.device}) is ${factor.toFixed(1)}x ${ratio >= 1 ? 'slower' : 'faster'} than PyTorch (${torchDevice}${torchDevice === 'cpu' ? `, ${torchJson.threads} threads` : ''}).`);
}
process.exit(oursJson && torchJson ? 0 : 1);
