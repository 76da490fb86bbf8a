import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { presetBatch } from '../../../shared/training-defaults';
import { migrate } from '../migrate';

describe('migration 004 (3 -> 4)', () => {
  it("records the batch the worker trained with for runs that chose none, and keeps a chosen one", () => {
    const db = new Database(':memory:');
    migrate(db, 3);
    const now = new Date().toISOString();
    const insert = db.prepare(
      `INSERT INTO runs (id, model, classes, resolution, preset, batch, total_steps, seed, checkpoint_every, settings, backend_choice, status, created_at, updated_at)
       VALUES (?, 'dcgan', '["DF"]', ?, ?, ?, 10, 1, 5, ?, 'cpu', 'completed', ?, ?)`,
    );
    insert.run('tiny', 32, 'tiny', 8, '{"preset":"tiny"}', now, now);
    insert.run('px128', 128, 'default', 64, '{"preset":"default"}', now, now);
    insert.run('px64', 64, 'default', 64, '{"preset":"default"}', now, now);
    insert.run('chosen', 128, 'default', 16, '{"preset":"default","batch":16}', now, now);
    expect(migrate(db, 4)).toBe(4);
    const batch = Object.fromEntries((db.prepare('SELECT id, batch FROM runs').all() as { id: string; batch: number }[]).map((r) => [r.id, r.batch]));
    expect(batch).toEqual({ tiny: presetBatch('tiny', 32), px128: presetBatch('default', 128), px64: presetBatch('default', 64), chosen: 16 });
    expect(batch).toMatchObject({ tiny: 4, px128: 32, px64: 64 });
    db.close();
  });
});
