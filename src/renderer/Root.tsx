import { MantineProvider } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import type { ReactNode } from 'react';
import type { AppClient } from './api/client';
import { ClientProvider } from './api/hooks';
import { colorSchemeManager, theme } from './theme';

/** Providers shared by the app and the render tests (tests pass `env="test"` and a fake client). */
export function Root({ client, children, env }: { client: AppClient; children: ReactNode; env?: 'default' | 'test' }) {
  return (
    <MantineProvider theme={theme} colorSchemeManager={colorSchemeManager} defaultColorScheme="auto" env={env}>
      <Notifications position="bottom-right" limit={4} />
      <ClientProvider client={client}>{children}</ClientProvider>
    </MantineProvider>
  );
}
