import { describe, expect, it } from 'vitest';
import { classify, type ClassifyInput } from './import-classify';

const ok = (relPath: string, label: string, sha256: string, order?: number): ClassifyInput => ({
  status: 'ok',
  relPath,
  file: `/data/${relPath}`,
  label,
  sha256,
  ...(order === undefined ? {} : { order }),
});
const bad = (relPath: string, order?: number): ClassifyInput => ({
  status: 'rejected',
  relPath,
  file: `/data/${relPath}`,
  label: 'MEL',
  ...(order === undefined ? {} : { order }),
});

const summary = (r: ReturnType<typeof classify>) =>
  r.items.map((i) => [i.entry.relPath, i.outcome, i.duplicateOf ?? i.conflictLabels?.join('+') ?? ''].join(' '));

describe('classify', () => {
  it('imports distinct content, imports a duplicate once, and excludes every copy of a conflict', () => {
    const r = classify([
      ok('MEL/a.jpg', 'MEL', 'h1', 0),
      ok('MEL/b.jpg', 'MEL', 'h2', 1),
      ok('MEL/sub/a-copy.jpg', 'MEL', 'h1', 2),
      ok('MEL/same.jpg', 'MEL', 'h3', 3),
      bad('NV/broken.jpg', 4),
      ok('NV/same.jpg', 'NV', 'h3', 5),
      ok('NV/same-again.jpg', 'NV', 'h3', 6),
    ]);
    expect(summary(r)).toEqual([
      'MEL/a.jpg imported ',
      'MEL/b.jpg imported ',
      'MEL/sub/a-copy.jpg duplicate /data/MEL/a.jpg',
      'MEL/same.jpg conflict MEL+NV',
      'NV/broken.jpg rejected ',
      'NV/same.jpg conflict MEL+NV',
      'NV/same-again.jpg conflict MEL+NV',
    ]);
    expect(r.existingConflicts).toEqual([]);
  });

  it('is deterministic: input order does not matter, `order` (then relPath) does', () => {
    const entries = [ok('x/2.jpg', 'A', 'h', 2), ok('x/1.jpg', 'A', 'h', 1), ok('x/3.jpg', 'A', 'h', 3)];
    const forward = summary(classify(entries));
    const reversed = summary(classify([...entries].reverse()));
    expect(forward).toEqual(reversed);
    expect(forward[0]).toBe('x/1.jpg imported ');
    // Without order: relPath order.
    expect(summary(classify([ok('b.jpg', 'A', 'h'), ok('a.jpg', 'A', 'h')]))).toEqual(['a.jpg imported ', 'b.jpg duplicate /data/a.jpg']);
  });

  it('takes images already in the project into account (re-import, adding images later)', () => {
    const existing = [
      { sha256: 'h1', label: 'MEL', file: '/old/a.jpg' },
      { sha256: 'h2', label: 'MEL', file: '/old/b.jpg' },
    ];
    const r = classify([ok('MEL/a.jpg', 'MEL', 'h1', 0), ok('NV/b.jpg', 'NV', 'h2', 1), ok('NV/c.jpg', 'NV', 'h3', 2)], existing);
    expect(summary(r)).toEqual(['MEL/a.jpg duplicate /old/a.jpg', 'NV/b.jpg conflict MEL+NV', 'NV/c.jpg imported ']);
    expect(r.existingConflicts).toEqual([{ sha256: 'h2', label: 'MEL', file: '/old/b.jpg', conflictLabels: ['MEL', 'NV'] }]);
  });

  it('refuses an ok entry without a hash (a bug in the caller)', () => {
    expect(() => classify([{ status: 'ok', relPath: 'a', file: '/a', label: 'A' }])).toThrow(/no sha256/);
  });
});
