/** The recent-projects list, kept as a small JSON file in the app's home folder (not in any project). */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { RecentProject } from '../../shared/contract';
import { DB_FILE } from '../store/project';

const Stored = z.array(z.object({ path: z.string(), name: z.string(), lastOpenedAt: z.string() }));
const MAX_RECENT = 20;

export class RecentProjects {
  readonly #file: string;
  constructor(home: string) {
    this.#file = join(home, 'recent-projects.json');
  }

  #read(): z.infer<typeof Stored> {
    try {
      const parsed = Stored.safeParse(JSON.parse(readFileSync(this.#file, 'utf8')));
      return parsed.success ? parsed.data : [];
    } catch {
      return []; // missing or damaged: start over rather than refuse to start
    }
  }

  #write(list: z.infer<typeof Stored>): void {
    const dir = join(this.#file, '..');
    mkdirSync(dir, { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(list, null, 2));
    renameSync(tmp, this.#file);
  }

  list(): RecentProject[] {
    return this.#read().map((p) => ({ ...p, available: existsSync(join(p.path, DB_FILE)) }));
  }

  touch(path: string, name: string): void {
    const rest = this.#read().filter((p) => p.path !== path);
    this.#write([{ path, name, lastOpenedAt: new Date().toISOString() }, ...rest].slice(0, MAX_RECENT));
  }

  forget(path: string): void {
    this.#write(this.#read().filter((p) => p.path !== path));
  }
}
