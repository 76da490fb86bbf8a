import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../migrate';

describe('migration 002 (1 -> 2)', () => {
  it('keeps existing classes and images, and adds the import tables and columns', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, 1);
    const now = new Date().toISOString();
    db.prepare('INSERT INTO classes (name, created_at) VALUES (?, ?)').run('nevus', now);
    db.prepare('INSERT INTO images (class_id, sha256, source_path, imported_at) VALUES (1, ?, ?, ?)').run('aa', '/x/a.jpg', now);

    expect(migrate(db, 2)).toBe(2);
    expect(db.prepare('SELECT sha256, rel_path, import_id FROM images').all()).toEqual([{ sha256: 'aa', rel_path: null, import_id: null }]);
    db.prepare(`INSERT INTO imports (source, source_key, status, started_at) VALUES ('{}', '{}', 'running', ?)`).run(now);
    db.prepare(`INSERT INTO import_files (import_id, seq, file, rel_path, probe_status) VALUES (1, 0, '/x/a.jpg', 'a.jpg', 'ok')`).run();
    expect(() => db.prepare(`INSERT INTO import_files (import_id, seq, file, rel_path, probe_status) VALUES (1, 1, '/x/a.jpg', 'a.jpg', 'ok')`).run()).toThrow(/UNIQUE/);
    db.prepare(`INSERT INTO image_splits (image_id, split) VALUES (1, 'train')`).run();
    expect(() => db.prepare(`INSERT INTO image_splits (image_id, split) VALUES (1, 'holdout')`).run()).toThrow();
    // deleting an import removes its staged rows
    db.prepare('DELETE FROM imports WHERE id = 1').run();
    expect(db.prepare('SELECT COUNT(*) AS n FROM import_files').get()).toEqual({ n: 0 });
    db.close();
  });
});
