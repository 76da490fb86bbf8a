/**
 * A legacy checkpoint (test/fixtures/checkpoints/legacy-probe.ts) on WebAssembly, the backend of
 * machines without a GPU: it loads, computes what the saving code computed on the pure-JS backend to
 * float32 rounding (our kernels sum in other orders), and trains on. Its own file: the tfjs backend
 * is process-wide.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backends';
import { FAMILIES, resumeLegacy } from '../../../test/fixtures/checkpoints/legacy-probe';

let tmp: string;

beforeAll(async () => {
  await initBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'gan-legacy-wasm-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe.each(FAMILIES)('a %s checkpoint saved before the fused layers, on WebAssembly', (family) => {
  it('loads, computes what it did, and trains on', async () => {
    const r = await resumeLegacy(family, tmp);
    expect(r.generatorLayers).toEqual(r.expected.generatorLayers);
    expect(r.probeDifference).toBeLessThanOrEqual(1e-6); // 1e-9 today
    expect(r.step).toBe(r.expected.step + 1);
    expect(Math.max(r.dLossRelative, r.gLossRelative)).toBeLessThanOrEqual(1e-5); // 2e-7 today
  });
});
