/** A Job as main reports it, for tests on either side of the contract. */
import type { Job } from '../../src/shared/contract';

export function makeJob(over: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    type: 'verify',
    title: 'Verify project files',
    status: 'running',
    progress: { done: 0, total: 100, unit: 'files', ratePerSecond: null, etaSeconds: null },
    message: null,
    error: null,
    result: null,
    createdAt: '2025-01-01T10:00:00.000Z',
    startedAt: '2025-01-01T10:00:00.000Z',
    finishedAt: null,
    ...over,
  };
}
