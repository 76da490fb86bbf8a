import { useCallback, useState } from 'react';
import { useClient, asApiError } from '../../api/hooks';
import { notifyError } from '../../lib/notify';

/**
 * A native dialog behind a contract call. In the browser mode the app answers `unsupported`; from
 * then on `available` is false and the forms ask the person to type the path.
 */
function useNativePicker<A extends unknown[]>(call: (...args: A) => Promise<{ path: string | null }>): [boolean, (...args: A) => Promise<string | null>] {
  const [available, setAvailable] = useState(true);
  const pick = useCallback(
    async (...args: A) => {
      try {
        return (await call(...args)).path;
      } catch (err) {
        if (asApiError(err).kind === 'unsupported') setAvailable(false);
        else notifyError(err);
        return null;
      }
    },
    [call],
  );
  return [available, pick];
}

/** The native folder dialog: `[available, pick(title)]`; `pick` resolves to the chosen path or null. */
export function useFolderPicker(): [boolean, (title: string) => Promise<string | null>] {
  const client = useClient();
  const call = useCallback((title: string) => client.call('dialog.pickFolder', { title }), [client]);
  return useNativePicker(call);
}

/** The native file dialog: `[available, pick(title, extensions)]`. */
export function useFilePicker(): [boolean, (title: string, extensions?: string[]) => Promise<string | null>] {
  const client = useClient();
  const call = useCallback(
    (title: string, extensions?: string[]) => client.call('dialog.pickFile', { title, ...(extensions ? { extensions } : {}) }),
    [client],
  );
  return useNativePicker(call);
}
