import { describe, expect, it } from 'vitest';
import { MetricsWindow } from './train-tasks';
import type { StepMetrics } from './training';

const step = (n: number, ms: number, synced: boolean): StepMetrics => ({
  step: n,
  dLoss: synced ? 0.5 + n : null,
  gLoss: synced ? 1.5 + n : null,
  stepMs: ms,
  synced,
});

describe('MetricsWindow (loss-curve points when losses are read every few steps)', () => {
  it('makes one point per read-back step, its time averaged over the steps since the last point', () => {
    const w = new MetricsWindow(64);
    // Steps 1-3 only enqueue (fast); step 4 reads back and waits for all four.
    expect(w.add(step(1, 10, false))).toBeNull();
    expect(w.add(step(2, 10, false))).toBeNull();
    expect(w.add(step(3, 10, false))).toBeNull();
    const p = w.add(step(4, 370, true))!;
    expect(p).toMatchObject({ step: 4, dLoss: 4.5, gLoss: 5.5, stepMs: 100, wasserstein: null, gradientPenalty: null });
    expect(p.imagesPerSec).toBeCloseTo(640, 6);
    // Reading every step (the CPU) gives every step its own point and time.
    expect(w.add(step(5, 42, true))).toMatchObject({ step: 5, stepMs: 42 });
  });
});
