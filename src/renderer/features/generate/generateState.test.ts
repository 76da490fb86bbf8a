import { describe, expect, it } from 'vitest';
import { makeRun } from '../training/testData';
import { chunk, defaultCount, groupByClass, provenance, usableRuns, type GeneratedImage } from './generateState';

const img = (id: number, className: string): GeneratedImage => ({
  id,
  runId: 'run-1',
  checkpointStep: 600,
  className,
  seed: 7,
  latentIndex: id,
  file: `/p/generated/${id}.png`,
  thumb: null,
  createdAt: '2025-01-01T10:00:00.000Z',
});

describe('generation helpers', () => {
  it('offers runs that finished or paused with a checkpoint', () => {
    const runs = [
      makeRun({ id: 'done', status: 'completed' }),
      makeRun({ id: 'paused', status: 'paused' }),
      makeRun({ id: 'running', status: 'running' }),
      makeRun({ id: 'none', status: 'stopped', checkpointStep: null }),
      makeRun({ id: 'failed', status: 'failed' }),
    ];
    expect(usableRuns(runs).map((r) => r.id)).toEqual(['done', 'paused']);
  });

  it('defaults the count to what the class needs, capped', () => {
    expect(defaultCount(120)).toBe(120);
    expect(defaultCount(5000)).toBe(1000);
    expect(defaultCount(0)).toBe(16);
    expect(defaultCount(undefined)).toBe(16);
  });

  it('groups by class and chunks into rows', () => {
    const newer = { ...img(4, 'nevus'), latentIndex: 0, createdAt: '2025-01-02T10:00:00.000Z' };
    const groups = groupByClass([img(3, 'nevus'), img(2, 'melanoma'), img(1, 'nevus'), newer]);
    expect(groups.map((g) => [g.className, g.images.map((i) => i.id)])).toEqual([
      ['melanoma', [2]],
      ['nevus', [4, 1, 3]],
    ]);
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([1], 0)).toEqual([[1]]);
    expect(provenance(img(3, 'nevus'))).toBe('Made by run-1 at checkpoint step 600; seed 7, latent index 3');
  });
});
