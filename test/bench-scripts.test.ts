/**
 * The device machine's scripts name the benchmark layers themselves (they run Python beside bundles,
 * not TypeScript): their copy must stay the layers that bench/support.ts times.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYERS_64 } from '../bench/support';

describe('scripts/gpu/run-bench.sh', () => {
  it("passes PyTorch's per-layer benchmark the layers of bench/support.ts", () => {
    const script = readFileSync(join(__dirname, '..', 'scripts', 'gpu', 'run-bench.sh'), 'utf8');
    const json = /^LAYERS64_JSON='(.*)'$/m.exec(script)?.[1];
    expect(json).toBeDefined();
    expect(JSON.parse(json!)).toEqual(LAYERS_64);
  });
});
