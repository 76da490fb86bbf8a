/**
 * The IPC transport of the contract: one channel for calls (`gan:call`, request/response via
 * ipcMain.handle) and one for events (`gan:event`, main -> window). AppSession validates every
 * input against the contract; this file only checks who is asking.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent } from 'electron';
import type { CallResult, EventName } from '../../shared/contract';
import { toErrorData } from '../../shared/errors';
import { isTrustedSender } from './policy';

export const CALL_CHANNEL = 'gan:call';
export const EVENT_CHANNEL = 'gan:event';

/** The part of AppSession the transport needs (structural, so tests can pass a fake). */
export interface SessionPort {
  dispatch(name: string, rawInput: unknown): Promise<CallResult<unknown>>;
  onEvent(listener: (name: EventName, payload: unknown) => void): () => void;
}

export interface IpcOptions {
  session: SessionPort;
  /** The one window allowed to call; null while there is none. */
  getWindow: () => BrowserWindow | null;
  /** From policy.allowedOrigins(): app://gan-augment, plus the dev server in development. */
  origins: readonly string[];
}

/** Registers the call handler and event forwarding; returns a function that removes both. */
export function registerIpc({ session, getWindow, origins }: IpcOptions): () => void {
  ipcMain.handle(CALL_CHANNEL, async (event: IpcMainInvokeEvent, name: unknown, input: unknown): Promise<CallResult<unknown>> => {
    if (!isFromOurWindow(event, getWindow(), origins)) {
      console.warn(`[ipc] refused ${String(name).slice(0, 80)} from ${event.senderFrame?.url ?? 'a destroyed frame'}`);
      return { ok: false, error: { kind: 'unauthorized', message: 'This request did not come from the GAN Augment window.' } };
    }
    if (typeof name !== 'string') {
      return { ok: false, error: { kind: 'validation', message: 'The request named no call.' } };
    }
    try {
      return await session.dispatch(name, input);
    } catch (err) {
      // dispatch reports failures as data; this only catches a bug in it.
      return { ok: false, error: toErrorData(err) };
    }
  });

  const unsubscribe = session.onEvent((name, payload) => {
    const win = getWindow();
    if (!win || win.isDestroyed() || win.webContents.isDestroyed()) return;
    win.webContents.send(EVENT_CHANNEL, name, payload);
  });

  return () => {
    ipcMain.removeHandler(CALL_CHANNEL);
    unsubscribe();
  };
}

function isFromOurWindow(event: IpcMainInvokeEvent, win: BrowserWindow | null, origins: readonly string[]): boolean {
  const frame = event.senderFrame; // null once the frame has navigated away or been destroyed
  return isTrustedSender(
    {
      fromMainWindow: win !== null && !win.isDestroyed() && event.sender === win.webContents,
      topFrame: frame !== null && frame.parent === null,
      frameUrl: frame?.url ?? null,
    },
    origins,
  );
}
