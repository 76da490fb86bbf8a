import { createTheme, localStorageColorSchemeManager } from '@mantine/core';

export const theme = createTheme({
  primaryColor: 'teal',
  defaultRadius: 'md',
  fontFamily:
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif',
});

/** The person's light/dark choice survives restarts; "auto" (the default) follows the OS. */
export const colorSchemeManager = localStorageColorSchemeManager({ key: 'gan-augment-color-scheme' });
