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

  it('keeps a decided conflict decided: a label ruled out for a picture brings no new conflict; a new label does', () => {
    // h1 was decided MEL (its NV copy ruled out); h2 was kept out of both labels
    const existing = [
      { sha256: 'h1', label: 'MEL', file: '/old/MEL/a.jpg' },
      { sha256: 'h1', label: 'NV', file: '/old/NV/a.jpg', excluded: true },
      { sha256: 'h2', label: 'MEL', file: '/old/MEL/b.jpg', excluded: true },
      { sha256: 'h2', label: 'NV', file: '/old/NV/b.jpg', excluded: true },
    ];
    const again = classify([ok('MEL/a.jpg', 'MEL', 'h1', 0), ok('NV/a.jpg', 'NV', 'h1', 1), ok('MEL/b.jpg', 'MEL', 'h2', 2), ok('NV/b.jpg', 'NV', 'h2', 3)], existing);
    expect(summary(again)).toEqual([
      'MEL/a.jpg duplicate /old/MEL/a.jpg',
      'NV/a.jpg duplicate /old/NV/a.jpg',
      'MEL/b.jpg duplicate /old/MEL/b.jpg',
      'NV/b.jpg duplicate /old/NV/b.jpg',
    ]);
    expect(again.existingConflicts).toEqual([]);
    // the picture under a third label: a conflict with the label decided, to be decided again
    const third = classify([ok('BCC/a.jpg', 'BCC', 'h1', 0)], existing);
    expect(summary(third)).toEqual(['BCC/a.jpg conflict BCC+MEL']);
    expect(third.existingConflicts).toEqual([{ sha256: 'h1', label: 'MEL', file: '/old/MEL/a.jpg', conflictLabels: ['BCC', 'MEL'] }]);
  });

  it('refuses an ok entry without a hash (a bug in the caller)', () => {
    expect(() => classify([{ status: 'ok', relPath: 'a', file: '/a', label: 'A' }])).toThrow(/no sha256/);
  });
});
