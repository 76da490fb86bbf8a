/** Runs, metrics and balance for the Training and Gallery render tests. */
import type { MetricPoint, Run } from '../../../shared/contract';
import type { Balance } from './trainingState';

export function makeRun(over: Partial<Run> = {}): Run {
  return {
    id: 'run-1',
    model: 'cwgan-gp',
    classes: ['melanoma', 'dermatofibroma'],
    resolution: 32,
    preset: 'tiny',
    batch: 4,
    totalSteps: 600,
    seed: 42,
    backendChoice: 'auto',
    backend: 'webgpu',
    device: 'GPU: llvmpipe (Vulkan), WebGPU',
    backendWarning: null,
    status: 'running',
    step: 120,
    checkpointStep: 100,
    sampleStep: 100,
    imagesPerSec: 48,
    etaSeconds: 300,
    health: [],
    error: null,
    jobId: 'job-train-1',
    preparing: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    updatedAt: '2025-01-01T10:05:00.000Z',
    ...over,
  };
}

export function makeMetrics(from: number, to: number): MetricPoint[] {
  const out: MetricPoint[] = [];
  for (let step = from; step <= to; step++) {
    out.push({ step, dLoss: -1 + 1 / step, gLoss: 0.5 + Math.sin(step) / 10, wasserstein: 1 - 1 / step, gradientPenalty: 0.1, stepMs: 40, imagesPerSec: 100 });
  }
  return out;
}

export const testBalance: Balance = {
  classes: [
    { name: 'nevus', count: 1294, share: 0.9, target: 1294, needed: 0, tooSmall: false },
    { name: 'melanoma', count: 120, share: 0.0835, target: 1294, needed: 1174, tooSmall: false },
    { name: 'dermatofibroma', count: 24, share: 0.0165, target: 1294, needed: 1270, tooSmall: true },
  ],
  imbalanceRatio: 1294 / 24,
  targetCount: 1294,
  totalNeeded: 2444,
  target: { mode: 'max' },
  conflicts: 0,
};
