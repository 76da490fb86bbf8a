import { Card, Stack, Title } from '@mantine/core';
import type { ReactNode } from 'react';

/** A titled section of a screen: a card whose heading names it for assistive technology. */
export function SectionCard({ id, title, testId, children }: { id: string; title: string; testId?: string; children: ReactNode }) {
  return (
    <Card withBorder radius="md" padding="lg" component="section" aria-labelledby={id} data-testid={testId}>
      <Stack gap="sm">
        <Title order={3} size="h4" id={id}>
          {title}
        </Title>
        {children}
      </Stack>
    </Card>
  );
}
