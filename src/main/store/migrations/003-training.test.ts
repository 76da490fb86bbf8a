import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../migrate';

describe('migration 003 (2 -> 3)', () => {
  it('keeps imported data and adds runs, metrics and generated images', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, 2);
    const now = new Date().toISOString();
    db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)').run('DF', now);
    db.prepare('INSERT INTO images (class_id, sha256, source_path, imported_at) VALUES (1, ?, ?, ?)').run('aa', '/x/a.jpg', now);
    expect(migrate(db, 3)).toBe(3);
    expect(db.prepare('SELECT COUNT(*) AS n FROM images').get()).toEqual({ n: 1 });
    db.prepare(
      `INSERT INTO runs (id, model, classes, resolution, preset, batch, total_steps, seed, checkpoint_every, settings, backend_choice, status, created_at, updated_at)
       VALUES ('r1', 'dcgan', '["DF"]', 32, 'tiny', 4, 10, 1, 5, '{}', 'cpu', 'queued', ?, ?)`,
    ).run(now, now);
    expect(() => db.prepare(`UPDATE runs SET model = 'vae' WHERE id = 'r1'`).run()).toThrow(/CHECK/);
    db.prepare(`INSERT INTO run_metrics (run_id, step, d_loss, g_loss, step_ms, images_per_sec) VALUES ('r1', 1, 0.5, 0.7, 10, 400)`).run();
    db.prepare(
      `INSERT INTO generated_images (run_id, checkpoint_step, class_name, seed, latent_index, file, created_at) VALUES ('r1', 10, 'DF', 7, 0, 'generated/r1/DF/a.png', ?)`,
    ).run(now);
    // a run with generated images cannot vanish and orphan their provenance
    expect(() => db.prepare(`DELETE FROM runs WHERE id = 'r1'`).run()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});
