/** Where things are: the app's own state folder, the default projects folder, the installed app. */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { AppError } from '../shared/errors';

export function appHome(): string {
  if (process.env.GAN_AUGMENT_HOME) return process.env.GAN_AUGMENT_HOME;
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'GAN Augment');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'GAN Augment');
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'gan-augment');
}

export function defaultProjectsDir(): string {
  return process.env.GAN_AUGMENT_PROJECTS_DIR ?? join(homedir(), 'GAN Augment Projects');
}

let cachedRoot: string | undefined;

/**
 * Root of the installed app (the folder holding our package.json, out/ and resources/). Found by
 * walking up from this file, because bundling moves code between out/main and out/main/chunks.
 */
export function appRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'gan-augment') return (cachedRoot = dir);
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const up = dirname(dir);
    if (up === dir) return (cachedRoot = join(__dirname, '..', '..'));
    dir = up;
  }
}

/** The small imbalanced sample set (Fashion-MNIST, MIT licence) offered as "Try with sample data". */
export function sampleDataDir(): string {
  return join(appRoot(), 'resources', 'sample', 'fashion-mnist-imbalanced');
}

export function appVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(appRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/**
 * A path as a person typed it into the app's window: `~` stands for their home folder; a relative path
 * is refused in words, because the app's process has a working folder of its own that means nothing to
 * them (in browser mode, wherever `serve` was started). The CLI resolves its relative paths against the
 * terminal's folder before they get this far. `what`: the thing, for the sentence ("The image folder").
 */
export function typedPath(path: string, what: string): string {
  const p = path.trim();
  const home = /^~(?=$|[\\/])/.test(p) ? join(homedir(), p.slice(1)) : p;
  if (!isAbsolute(home)) {
    const example = process.platform === 'win32' ? 'C:\\Users\\you\\images' : '/home/you/images, or ~/images';
    throw new AppError('validation', `${what} "${p}" is not a full path. Type it from the top of the disk, such as ${example}.`);
  }
  return home;
}
