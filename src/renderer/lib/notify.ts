/** Errors and notices as notifications: a title from the error kind and a sentence, never a stack. */
import { notifications } from '@mantine/notifications';
import { errorTitle } from '../../shared/errors';
import { asApiError } from '../api/hooks';

export function notifyError(err: unknown): void {
  const e = asApiError(err);
  notifications.show({ color: 'red', title: errorTitle(e.kind), message: e.message, autoClose: 10_000 });
}

export function notifyNotice(notice: { color: string; title: string; message: string }): void {
  notifications.show({ ...notice, autoClose: notice.color === 'red' ? false : 6_000 });
}
