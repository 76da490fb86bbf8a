import { Badge, Box, Group, Stack, Text } from '@mantine/core';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef } from 'react';
import type { OutcomeRow } from './importText';

/** Lists up to this many rows directly; longer lists are virtualised (only the visible rows exist). */
export const VIRTUALISE_ABOVE = 100;
const ROW_ESTIMATE = 56;

function Row({ row }: { row: OutcomeRow }) {
  return (
    <Stack gap={0} py={6} px="sm" data-testid="outcome-row" style={{ borderBottom: '1px solid var(--mantine-color-default-border)' }}>
      <Group gap="xs" wrap="nowrap">
        {row.badge && (
          <Badge size="sm" variant="light" color="gray" style={{ flexShrink: 0 }}>
            {row.badge}
          </Badge>
        )}
        <Text size="sm" fw={500} truncate="start" title={row.title}>
          {row.title}
        </Text>
      </Group>
      <Text size="sm" c="dimmed">
        {row.reason}
      </Text>
    </Stack>
  );
}

function VirtualRows({ rows, label }: { rows: OutcomeRow[]; label: string }) {
  const parentRef = useRef<HTMLDivElement>(null);
  // The virtualizer is not memoisable by the React Compiler; this component is small and re-renders cheaply.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => parentRef.current,
    estimateSize: () => ROW_ESTIMATE,
    overscan: 8,
  });
  return (
    <Box
      ref={parentRef}
      h={420}
      style={{ overflowY: 'auto', border: '1px solid var(--mantine-color-default-border)', borderRadius: 'var(--mantine-radius-sm)' }}
      role="list"
      aria-label={label}
      tabIndex={0}
      data-testid="outcome-list"
    >
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {virtualizer.getVirtualItems().map((item) => (
          <div
            key={rows[item.index]!.key}
            role="listitem"
            data-index={item.index}
            ref={virtualizer.measureElement}
            style={{ position: 'absolute', top: 0, left: 0, width: '100%', transform: `translateY(${item.start}px)` }}
          >
            <Row row={rows[item.index]!} />
          </div>
        ))}
      </div>
    </Box>
  );
}

/** One outcome's files with their plain reasons; virtualised when long. */
export function OutcomeList({ rows, label, empty }: { rows: OutcomeRow[]; label: string; empty: string }) {
  if (rows.length === 0) {
    return (
      <Text size="sm" c="dimmed" data-testid="outcome-empty">
        {empty}
      </Text>
    );
  }
  if (rows.length > VIRTUALISE_ABOVE) return <VirtualRows rows={rows} label={label} />;
  return (
    <Box
      role="list"
      aria-label={label}
      data-testid="outcome-list"
      mah={420}
      style={{ overflowY: 'auto', border: '1px solid var(--mantine-color-default-border)', borderRadius: 'var(--mantine-radius-sm)' }}
      tabIndex={0}
    >
      {rows.map((r) => (
        <div role="listitem" key={r.key}>
          <Row row={r} />
        </div>
      ))}
    </Box>
  );
}
