// The desktop shell end to end: Playwright's `_electron` starts the built app (out/main/index.js),
// the window shows the projects screen, and the security settings hold. Needs the Electron
// binary; where it could not be downloaded (ELECTRON_SKIP_BINARY_DOWNLOAD) the suite is skipped
// with the reason in its name and on stderr. `npm test` builds out/ first.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');

/** The Electron executable, or null where the package has no binary. */
function electronBinary(): string | null {
  try {
    const path: unknown = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null;
  }
}

const electronPath = electronBinary();
const hasElectron = electronPath !== null;
const SKIP_REASON = 'skipped: Electron binary not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)';
if (!hasElectron) console.warn(`[e2e/electron] ${SKIP_REASON}; the browser-mode e2e tests cover the UI here.`);

describe.skipIf(!hasElectron)(`Electron shell${hasElectron ? '' : ` (${SKIP_REASON})`}`, () => {
  let app: ElectronApplication;
  let page: Page;
  let home: string;

  beforeAll(async () => {
    if (!existsSync(join(root, 'out', 'main', 'index.js'))) throw new Error('out/main/index.js is missing: run `npm run build` first.');
    home = mkdtempSync(join(tmpdir(), 'gan-augment-electron-e2e-'));
    mkdirSync(join(home, 'projects'));
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'ELECTRON_RUN_AS_NODE') env[k] = v;
    app = await _electron.launch({
      executablePath: electronPath!,
      args: [root],
      cwd: root,
      env: { ...env, GAN_AUGMENT_HOME: join(home, 'app'), GAN_AUGMENT_PROJECTS_DIR: join(home, 'projects') },
      timeout: 60_000,
    });
    page = await app.firstWindow();
    page.on('console', (m) => {
      if (m.type() === 'error') console.warn(`[renderer] ${m.text()}`);
    });
  });

  afterAll(async () => {
    await app?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('opens the projects screen and takes a screenshot', async () => {
    await page.waitForLoadState('domcontentloaded');
    expect(page.url()).toMatch(/^app:\/\/gan-augment\//);
    const projectsScreen = page.getByRole('button', { name: /create project/i }).or(page.getByRole('heading', { name: /project/i }));
    await projectsScreen.first().waitFor({ state: 'visible', timeout: 60_000 });
    mkdirSync(join(root, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(root, 'test-results', 'electron-shell.png') });
    expect(await page.title()).toMatch(/GAN Augment/);
  });

  it('runs the window sandboxed and isolated, with only window.ganAugment exposed', async () => {
    const prefs = await app.evaluate(({ BrowserWindow }) => {
      const win = BrowserWindow.getAllWindows()[0]!;
      // Undocumented but long-standing: the preferences the renderer was created with.
      type Prefs = { contextIsolation?: boolean; sandbox?: boolean; nodeIntegration?: boolean; webSecurity?: boolean };
      const p = (win.webContents as unknown as { getLastWebPreferences?: () => Prefs | null }).getLastWebPreferences?.();
      return p ? { contextIsolation: p.contextIsolation, sandbox: p.sandbox, nodeIntegration: p.nodeIntegration, webSecurity: p.webSecurity } : null;
    });
    if (prefs) expect(prefs).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });

    const exposed = await page.evaluate(() => ({
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
      bridgeKeys: Object.keys(window.ganAugment ?? {}).sort(),
    }));
    expect(exposed).toEqual({ require: 'undefined', process: 'undefined', bridgeKeys: ['invoke', 'subscribe'] });
  });

  it('answers contract calls over IPC', async () => {
    const result = await page.evaluate(() => window.ganAugment!.invoke('app.info', {}));
    expect(result).toMatchObject({ ok: true, value: { mode: 'electron', name: expect.any(String) } });
    const bad = await page.evaluate(() => window.ganAugment!.invoke('no.such.call', {}));
    expect(bad).toMatchObject({ ok: false });
  });

  it('refuses to navigate away or open windows', async () => {
    const before = page.url();
    await page.evaluate(() => {
      window.open('file:///etc/hosts'); // not http(s): denied and not handed to the system browser
      window.location.href = 'file:///etc/passwd';
    });
    await page.waitForTimeout(500);
    expect(page.url()).toBe(before);
    expect(app.windows()).toHaveLength(1);
  });
});
