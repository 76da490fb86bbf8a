import { describe, expect, it } from 'vitest';
import type { Job } from '../../shared/contract';
import { makeJob } from '../../../test/helpers/job';
import { progressLine } from './progress';

const job = (over: Omit<Partial<Job>, 'progress'> & { progress?: Partial<Job['progress']> } = {}): Job =>
  makeJob({ type: 'train', title: 'Train run-1', ...over, progress: { done: 0, total: 12, unit: 'steps', ratePerSecond: null, etaSeconds: null, ...over.progress } });

describe('progressLine', () => {
  it('says what a job is doing before anything is counted (a run loading its images), then counts', () => {
    expect(progressLine(job({ message: 'Loading 25,331 training images…' }))).toBe('Train run-1 · 0/12 steps (0%) · Loading 25,331 training images…');
    expect(progressLine(job({ message: 'Step 3 of 12', progress: { done: 3, ratePerSecond: 2, etaSeconds: 4.5 } }))).toBe(
      'Train run-1 · 3/12 steps (25%) · 2.0 steps/s · ETA 5 s',
    );
    expect(progressLine(job({ status: 'completed', message: 'Done.', progress: { done: 12 } }))).toBe('Train run-1 · 12/12 steps (100%) · completed');
  });
});
