import { describe, expect, it } from 'vitest';
import { useTmp } from '../../../test/helpers/tmp';
import { Project } from '../store/project';
import { getSplits, setSplits } from './dataset';
import { resplit } from './import';

const tmp = useTmp();

/** Adds `n` usable images of class `name` (created if new) straight to the project's database. */
function addImages(project: Project, name: string, n: number): void {
  const now = new Date().toISOString();
  project.db.prepare('INSERT OR IGNORE INTO classes (name, created_at) VALUES (?, ?)').run(name, now);
  const { id } = project.db.prepare('SELECT id FROM classes WHERE name = ?').get(name) as { id: number };
  const ins = project.db.prepare('INSERT INTO images (class_id, sha256, source_path, imported_at) VALUES (?, ?, ?, ?)');
  const base = (project.db.prepare('SELECT COUNT(*) AS n FROM images').get() as { n: number }).n;
  for (let i = 0; i < n; i++) ins.run(id, `${name}-${base + i}`, `/src/${name}/${base + i}.jpg`, now);
}

function splits(project: Project): Map<number, string> {
  const rows = project.db.prepare('SELECT image_id AS id, split FROM image_splits').all() as { id: number; split: string }[];
  return new Map(rows.map((r) => [r.id, r.split]));
}

describe('resplit (after an import or a decided label conflict)', () => {
  it('keeps every image in the split it had and places only the new ones, so the ratios still hold', () => {
    const project = Project.create(tmp(), 'splits');
    try {
      addImages(project, 'nevus', 200);
      addImages(project, 'melanoma', 40);
      resplit(project);
      const before = splits(project);
      expect(before.size).toBe(240);

      addImages(project, 'nevus', 100);
      addImages(project, 'melanoma', 60);
      addImages(project, 'dermatofibroma', 30);
      resplit(project);
      const after = splits(project);
      expect(after.size).toBe(430);
      const moved = [...before].filter(([id, split]) => after.get(id) !== split);
      expect(moved).toEqual([]); // a model may have trained on them: none goes to validation or test
      for (const c of getSplits(project).classes) {
        const total = c.train + c.val + c.test;
        expect(c.train / total).toBeGreaterThan(0.65);
        expect(c.train / total).toBeLessThan(0.75);
        expect(c.test / total).toBeGreaterThan(0.1);
      }

      // choosing another seed draws every image again, as asked
      setSplits(project, 7, { train: 0.7, val: 0.15, test: 0.15 });
      const redrawn = splits(project);
      expect([...after].filter(([id, split]) => redrawn.get(id) !== split).length).toBeGreaterThan(50);
    } finally {
      project.close();
    }
  });
});
