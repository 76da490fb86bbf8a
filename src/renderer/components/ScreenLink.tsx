import { Text } from '@mantine/core';
import type { ReactNode } from 'react';

/** An in-text link to another screen: keeps the hash route (a reload, a new tab) and navigates in-app on a click. */
export function ScreenLink({ screen, onGo, children }: { screen: string; onGo: () => void; children: ReactNode }) {
  return (
    <Text
      component="a"
      href={`#/${screen}`}
      inherit
      c="blue"
      onClick={(e) => {
        e.preventDefault();
        onGo();
      }}
    >
      {children}
    </Text>
  );
}
