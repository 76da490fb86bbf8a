import { describe, expect, it } from 'vitest';
import { makeRun } from '../training/testData';
import { chunk, defaultCount, groupByClass, preferredRun, provenance, usableRuns, type GeneratedImage } from './generateState';

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

  it('starts on the newest run that finished its steps, else the newest usable one', () => {
    const stoppedEarly = makeRun({ id: 'stopped', status: 'stopped', step: 84, checkpointStep: 84 });
    const done = makeRun({ id: 'done', status: 'completed' });
    expect(preferredRun([stoppedEarly, done])?.id).toBe('done');
    expect(preferredRun([stoppedEarly])?.id).toBe('stopped');
    expect(preferredRun([])).toBeUndefined();
  });

  it('defaults the count to what the class needs, capped', () => {
    expect(defaultCount(120)).toBe(120);
    expect(defaultCount(5000)).toBe(1000);
    expect(defaultCount(0)).toBe(16);
    expect(defaultCount(undefined)).toBe(16);
  });

  it('groups by class and keeps the order of the list: the newest generation first, each in latent order', () => {
    // as generated.list returns them: each image has the time it was written, the later latents later
    const at = (ms: number) => new Date(Date.UTC(2025, 0, 1, 10) + ms).toISOString();
    const listed: GeneratedImage[] = [
      { ...img(7, 'nevus'), seed: 9, latentIndex: 0, createdAt: at(5000) },
      { ...img(8, 'nevus'), seed: 9, latentIndex: 1, createdAt: at(5010) },
      { ...img(9, 'nevus'), seed: 9, latentIndex: 2, createdAt: at(5020) },
      { ...img(2, 'melanoma'), latentIndex: 0, createdAt: at(100) },
      { ...img(1, 'nevus'), latentIndex: 0, createdAt: at(0) },
      { ...img(3, 'nevus'), latentIndex: 1, createdAt: at(10) },
    ];
    expect(groupByClass(listed).map((g) => [g.className, g.images.map((i) => `${i.seed}:${i.latentIndex}`)])).toEqual([
      ['melanoma', ['7:0']],
      ['nevus', ['9:0', '9:1', '9:2', '7:0', '7:1']],
    ]);
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([1], 0)).toEqual([[1]]);
    expect(provenance(img(3, 'nevus'))).toBe('Made by run-1 at checkpoint step 600; seed 7, latent index 3');
  });
});
