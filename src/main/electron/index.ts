/**
 * The Electron entry (out/main/index.js). A thin shell: one sandboxed window, the app:// protocol
 * that serves the built renderer, the IPC transport, the menu, and the utility-process worker.
 * Everything else is AppSession, the same services the CLI and the browser mode run.
 */
import { app, BrowserWindow, dialog, Menu, net, protocol, session as electronSession, shell, type MenuItemConstructorOptions } from 'electron';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Job } from '../../shared/contract';
import { errorTitle } from '../../shared/errors';
import { activeJobs, closeSentence } from '../../shared/jobs-text';
import { AppSession } from '../services/session';
import { resolveProjectDir } from '../store/project';
import { registerIpc } from './ipc';
import { sqliteNativeBindingStatus } from './native';
import {
  allowedOrigins,
  APP_INDEX_URL,
  APP_SCHEME,
  appResponseHeaders,
  buildCsp,
  isAllowedOrigin,
  isPermissionAllowed,
  isSafeExternalUrl,
  parseDevServerUrl,
  resolveAppFile,
} from './policy';
import { utilityWorkerLauncher } from './utility-worker';

const PRODUCT_NAME = 'GAN Augment';
const isMac = process.platform === 'darwin';

// The dev server only in development: a packaged app never loads a URL from the environment.
const devServerUrl = app.isPackaged ? null : parseDevServerUrl(process.env['ELECTRON_RENDERER_URL']);
const origins = allowedOrigins(devServerUrl);
const csp = buildCsp({ devServerUrl });

// Every renderer sandboxed, whatever a webPreferences says.
app.enableSandbox();
app.setName(PRODUCT_NAME);
// Tests and portable setups point GAN_AUGMENT_HOME at a folder of their own; keep Chromium's
// profile (and so the single-instance lock) there too, so parallel test runs do not collide.
if (process.env['GAN_AUGMENT_HOME']) app.setPath('userData', join(process.env['GAN_AUGMENT_HOME'], 'electron'));

// Must run before `ready`: app:// behaves like https (standard URL parsing, a real origin,
// secure context, fetch and module scripts work). See policy.ts for why not file://.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);

let mainWindow: BrowserWindow | null = null;
let appSession: AppSession | null = null;
let disposed = false;

if (!app.requestSingleInstanceLock()) {
  // Another GAN Augment is running: it gets focus (second-instance below), we leave.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
  });
  app
    .whenReady()
    .then(start)
    .catch((err: unknown) => fail(err));
}

async function start(): Promise<void> {
  hardenSession();
  registerAppProtocol();

  const native = sqliteNativeBindingStatus({
    isPackaged: app.isPackaged,
    appRoot: app.getAppPath(),
    electronVersion: process.versions.electron,
  });
  if (native.problem) console.warn(`[gan-augment] ${native.problem}`);

  appSession = new AppSession({
    mode: 'electron',
    launchWorker: utilityWorkerLauncher(),
    pickFolder,
    pickFile,
    ...(native.nativeBinding ? { nativeBinding: native.nativeBinding } : {}),
  });
  registerIpc({ session: appSession, getWindow: () => mainWindow, origins });

  app.setAboutPanelOptions({
    applicationName: PRODUCT_NAME,
    applicationVersion: app.getVersion(),
    copyright: 'MIT licence. GAN Augment developers.',
    credits: 'Balances medical image datasets with generated images, without code.',
    iconPath: iconPath(),
  });
  Menu.setApplicationMenu(buildMenu());
  createWindow();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 960,
    minHeight: 640,
    show: false,
    title: PRODUCT_NAME,
    backgroundColor: '#f8f9fa',
    icon: iconPath(),
    webPreferences: {
      preload: join(__dirname, '..', 'preload', 'index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      devTools: !app.isPackaged,
    },
  });
  mainWindow = win;
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  win.webContents.on('render-process-gone', (_event, details) => {
    if (details.reason === 'clean-exit') return;
    console.error(`[gan-augment] window content stopped (${details.reason}, exit code ${details.exitCode})`);
    void dialog
      .showMessageBox(win, {
        type: 'error',
        title: PRODUCT_NAME,
        message: 'The window stopped working.',
        detail: 'Your project is safe: running jobs continue in the background. Reload the window to carry on.',
        buttons: ['Reload', 'Quit'],
        defaultId: 0,
      })
      .then(({ response }) => (response === 0 && !win.isDestroyed() ? win.reload() : app.quit()));
  });

  void (devServerUrl ? win.loadURL(devServerUrl) : win.loadURL(APP_INDEX_URL));
}

/** Serves out/renderer under app://gan-augment/, and nothing outside it. */
function registerAppProtocol(): void {
  const root = join(app.getAppPath(), 'out', 'renderer');
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(root, request.url);
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('Method not allowed', { status: 405 });
    if (!file || !isFile(file)) return new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain' } });
    const res = await net.fetch(pathToFileURL(file).toString());
    return new Response(res.body, { status: res.status, headers: appResponseHeaders(file, csp) });
  });
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Session-wide rules for the default session (the only one the window uses). */
function hardenSession(): void {
  const ses = electronSession.defaultSession;
  // CSP as a header too (the renderer's meta tag has the same policy). The app:// handler sets
  // it itself; this covers the dev server's responses.
  ses.webRequest.onHeadersReceived((details, callback) => {
    if (!isAllowedOrigin(details.url, origins)) return callback({});
    const headers = { ...details.responseHeaders };
    for (const key of Object.keys(headers)) if (key.toLowerCase() === 'content-security-policy') delete headers[key];
    headers['Content-Security-Policy'] = [csp];
    callback({ responseHeaders: headers });
  });
  ses.setPermissionRequestHandler((webContents, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details.requestingUrl || webContents?.getURL() || '', origins));
  });
  ses.setPermissionCheckHandler((_webContents, permission, requestingOrigin) =>
    isPermissionAllowed(permission, requestingOrigin, origins),
  );
  ses.setDevicePermissionHandler(() => false);
  ses.on('will-download', (event) => event.preventDefault());
}

// Applies to every webContents that will ever exist (the window, devtools, anything new).
app.on('web-contents-created', (_event, contents) => {
  contents.on('will-navigate', (event, url) => {
    if (isAllowedOrigin(url, origins)) return;
    event.preventDefault();
    openExternally(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAllowedOrigin(url, origins)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
});

/** http(s) links go to the system browser; anything else is dropped. */
function openExternally(url: string): void {
  if (isSafeExternalUrl(url)) void shell.openExternal(url).catch((err: unknown) => console.warn('[gan-augment] could not open link', err));
  else console.warn(`[gan-augment] blocked navigation to ${url.slice(0, 200)}`);
}

async function pickFolder(title?: string): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: title ?? 'Choose a folder',
    properties: ['openDirectory', 'createDirectory', 'promptToCreate'],
  };
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

async function pickFile(title?: string, extensions?: string[]): Promise<string | null> {
  const options: Electron.OpenDialogOptions = {
    title: title ?? 'Choose a file',
    properties: ['openFile'],
    ...(extensions?.length ? { filters: [{ name: extensions.map((e) => e.toUpperCase()).join(', '), extensions }, { name: 'All files', extensions: ['*'] }] } : {}),
  };
  const result = mainWindow ? await dialog.showOpenDialog(mainWindow, options) : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

/** Menu actions go through the contract like the window's own calls; the window hears project.changed. */
async function runMenuCall(name: string, input: unknown): Promise<void> {
  if (!appSession) return;
  const result = await appSession.dispatch(name, input);
  if (result.ok) return;
  const options: Electron.MessageBoxOptions = {
    type: 'warning',
    title: PRODUCT_NAME,
    message: errorTitle(result.error.kind),
    detail: result.error.message,
  };
  if (mainWindow) await dialog.showMessageBox(mainWindow, options);
  else await dialog.showMessageBox(options);
}

/**
 * Before the menu closes the project (or opens another in its place) while tasks are under way: says
 * what happens to them, as the window's Close project does (`closeSentence`), and asks. True to go on.
 */
async function leaveProjectFromMenu(action: string): Promise<boolean> {
  const jobs = appSession ? await appSession.dispatch('jobs.list', {}) : null;
  const active = jobs?.ok ? activeJobs(jobs.value as Job[]) : [];
  if (active.length === 0) return true;
  const options: Electron.MessageBoxOptions = {
    type: 'question',
    title: PRODUCT_NAME,
    message: 'Close the project while tasks are under way?',
    detail: closeSentence(active),
    buttons: ['Keep it open', action],
    defaultId: 0,
    cancelId: 0,
  };
  const { response } = mainWindow ? await dialog.showMessageBox(mainWindow, options) : await dialog.showMessageBox(options);
  return response === 1;
}

async function openProjectFromMenu(): Promise<void> {
  const path = await pickFolder('Open a GAN Augment project folder');
  if (!path) return;
  const same = appSession?.project?.dir === resolveProjectDir(path); // (opening the open project changes nothing)
  if (same || (await leaveProjectFromMenu('Open the other project'))) await runMenuCall('projects.open', { path });
}

async function closeProjectFromMenu(): Promise<void> {
  if (await leaveProjectFromMenu('Close project')) await runMenuCall('projects.close', {});
}

function buildMenu(): Menu {
  const about: MenuItemConstructorOptions = { label: `About ${PRODUCT_NAME}`, click: () => app.showAboutPanel() };
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Project Folder…', accelerator: 'CmdOrCtrl+O', click: () => void openProjectFromMenu() },
        { label: 'Close Project', click: () => void closeProjectFromMenu() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(app.isPackaged ? [] : [{ role: 'forceReload' as const }, { role: 'toggleDevTools' as const }]),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    { role: 'help', submenu: [about] },
  ];
  return Menu.buildFromTemplate(template);
}

function iconPath(): string | undefined {
  const icon = join(app.getAppPath(), 'resources', 'icon.png');
  return existsSync(icon) ? icon : undefined;
}

// Close the project (releasing its lock) and stop the worker before the process ends.
app.on('before-quit', (event) => {
  if (disposed || !appSession) return;
  event.preventDefault();
  disposed = true;
  const s = appSession;
  appSession = null;
  // A stuck dispose must not keep the app from quitting.
  const timeout = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
  void Promise.race([s.dispose(), timeout])
    .catch((err: unknown) => console.error('[gan-augment] error while closing', err))
    .finally(() => app.quit());
});

app.on('window-all-closed', () => {
  if (!isMac) app.quit();
});

function fail(err: unknown): void {
  console.error('[gan-augment] could not start', err);
  dialog.showErrorBox(PRODUCT_NAME, `GAN Augment could not start: ${err instanceof Error ? err.message : String(err)}`);
  app.exit(1);
}
