import { useCallback, useState } from 'react';
import { useClient, asApiError } from '../../api/hooks';
import { notifyError } from '../../lib/notify';

/**
 * The native folder dialog. In the browser mode the app answers `unsupported`; from then on
 * `available` is false and the forms ask the person to type the path.
 * Returns `[available, pick]`; `pick` resolves to the chosen path or null.
 */
export function useFolderPicker(): [boolean, (title: string) => Promise<string | null>] {
  const client = useClient();
  const [available, setAvailable] = useState(true);
  const pick = useCallback(
    async (title: string) => {
      try {
        const { path } = await client.call('dialog.pickFolder', { title });
        return path;
      } catch (err) {
        if (asApiError(err).kind === 'unsupported') setAvailable(false);
        else notifyError(err);
        return null;
      }
    },
    [client],
  );
  return [available, pick];
}

/** The native file dialog, like useFolderPicker: `[available, pick(title, extensions)]`. */
export function useFilePicker(): [boolean, (title: string, extensions?: string[]) => Promise<string | null>] {
  const client = useClient();
  const [available, setAvailable] = useState(true);
  const pick = useCallback(
    async (title: string, extensions?: string[]) => {
      try {
        const { path } = await client.call('dialog.pickFile', { title, ...(extensions ? { extensions } : {}) });
        return path;
      } catch (err) {
        if (asApiError(err).kind === 'unsupported') setAvailable(false);
        else notifyError(err);
        return null;
      }
    },
    [client],
  );
  return [available, pick];
}
