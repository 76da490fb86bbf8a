/**
 * The projection head (./projection-head.ts) on the processor's backends, the pure-JS one and
 * WebAssembly: the four layers' own operations, so the same bits as Dense, Embedding, Dot and Add
 * give, scores and every gradient a critic's training takes (the penalty's double backward included).
 * Its own file: the tfjs backend is process-wide.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tf } from '../backends/tf';
import { initBackend } from '../backends';
import { expectSameBits } from './layer-test-support';
import { HEAD_CASES, headInputs, headModel, headResults, setSameWeights } from './projection-head-test-support';

afterAll(() => {
  tf.disposeVariables();
});

describe.each(['cpu', 'wasm'] as const)('the projection head on %s', (backend) => {
  it.each(HEAD_CASES.map((c) => [`B ${c.batch}, F ${c.features}, K ${c.classes}`, c] as const))(
    '%s: the same bits as the four layers',
    async (_, c) => {
      await initBackend(backend);
      const ours = headModel('ours', c.features, c.classes);
      const theirs = headModel('four layers', c.features, c.classes);
      setSameWeights([ours, theirs], c, 3);
      const { phi, labels, w } = headInputs(c, 5);
      const a = headResults(ours, phi, labels, w);
      const b = headResults(theirs, phi, labels, w);
      expect(a.names).toEqual(b.names);
      for (const [i, name] of a.names.entries()) await expectSameBits(a.tensors[i]!, b.tensors[i]!, `${backend} ${name}`);
      tf.dispose([phi, labels, w, ...a.tensors, ...b.tensors]);
      ours.dispose();
      theirs.dispose();
    },
  );
});
