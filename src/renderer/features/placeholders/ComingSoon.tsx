import type { ReactNode } from 'react';
import { Badge, Group, Paper, Stack, Text, Title } from '@mantine/core';

/** A screen that is not built yet: what it will do, in plain words. */
export function ComingSoon({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Stack gap="md" maw={760}>
        <Group gap="sm">
          <Title order={2}>{title}</Title>
          <Badge variant="light" color="gray">
            Coming soon
          </Badge>
        </Group>
        <Paper withBorder radius="md" p="lg">
          <Text>{children}</Text>
        </Paper>
    </Stack>
  );
}
