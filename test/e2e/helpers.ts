import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const ROOT = join(__dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return join(SCREENSHOTS, name);
}

export interface Served {
  url: string;
  home: string;
  projectsDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the built `gan-augment serve` with its own app home and projects folder (and `env` added). */
export async function serve(args: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  if (!existsSync(join(ROOT, 'out', 'web', 'index.html'))) throw new Error('Build first: npm run build');
  const home = mkdtempSync(join(tmpdir(), 'gan-augment-e2e-'));
  const projectsDir = join(home, 'projects');
  mkdirSync(projectsDir);
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'gan-augment.js'), 'serve', ...args], {
    env: { ...process.env, ...env, GAN_AUGMENT_HOME: join(home, 'app'), GAN_AUGMENT_PROJECTS_DIR: projectsDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${out}`)));
  });
  return {
    url,
    home,
    projectsDir,
    child,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
