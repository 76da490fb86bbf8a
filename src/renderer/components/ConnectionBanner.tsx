import { Alert, Loader } from '@mantine/core';
import { useConnectionState } from '../api/hooks';

/** Shown only in the browser mode, while the event channel to the app is down. */
export function ConnectionBanner() {
  const state = useConnectionState();
  if (state !== 'reconnecting') return null;
  return (
    <Alert
      role="status"
      color="yellow"
      variant="filled"
      radius="md"
      icon={<Loader size={16} color="white" />}
      data-testid="connection-banner"
      style={{ position: 'fixed', bottom: 16, left: '50%', transform: 'translateX(-50%)', width: 'min(560px, calc(100vw - 32px))', zIndex: 1000, boxShadow: 'var(--mantine-shadow-lg)' }}
      title="Disconnected from GAN Augment — reconnecting…"
    >
      Check that GAN Augment is still running. Your project is safe; this page will catch up once it is back.
    </Alert>
  );
}
