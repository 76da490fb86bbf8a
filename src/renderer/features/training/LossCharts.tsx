import { LineChart } from '@mantine/charts';
import { SimpleGrid, Stack, Text } from '@mantine/core';
import { useMemo } from 'react';
import type { MetricPoint } from '../../../shared/contract';
import { chartGroups, chartRows, type Model } from './trainingState';

function lastValue(points: readonly MetricPoint[], key: 'dLoss' | 'gLoss' | 'wasserstein' | 'gradientPenalty'): number | null {
  for (let i = points.length - 1; i >= 0; i--) {
    const v = points[i]![key];
    if (v !== null) return v;
  }
  return null;
}

/** Three significant digits, without trailing zeros: 2.94, 0.15, -1, 1230. */
const fmt = (v: number) => (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en') : String(Number(v.toPrecision(3))));

/** Live loss curves: one chart for the losses, and for WGAN-GP one for the critic's measures. */
export function LossCharts({ model, metrics }: { model: Model; metrics: readonly MetricPoint[] }) {
  const rows = useMemo(() => chartRows(metrics), [metrics]);
  const groups = chartGroups(model);
  if (rows.length === 0) {
    return (
      <Text size="sm" c="dimmed" data-testid="loss-charts-empty">
        The curves appear after the first training steps.
      </Text>
    );
  }
  return (
    <SimpleGrid cols={{ base: 1, md: groups.length }} data-testid="loss-charts">
      {groups.map((g) => {
        const summary = g.series
          .map((s) => {
            const v = lastValue(metrics, s.name);
            return v === null ? null : `${s.label} ${fmt(v)}`;
          })
          .filter(Boolean)
          .join(', ');
        return (
          <Stack gap={4} key={g.id}>
            <Text size="sm" fw={600}>
              {g.title}
            </Text>
            <div
              role="img"
              aria-label={`${g.title} over ${rows.length} recorded steps, up to step ${rows[rows.length - 1]!.step}. Latest: ${summary}.`}
              data-testid={`chart-${g.id}`}
            >
              <LineChart
                h={240}
                data={rows}
                dataKey="step"
                series={g.series.map((s) => ({ name: s.name, label: s.label, color: s.color }))}
                curveType="linear"
                withDots={false}
                connectNulls
                withLegend
                legendProps={{ verticalAlign: 'top', height: 60 }}
                xAxisLabel="Step"
                valueFormatter={fmt}
                lineProps={{ isAnimationActive: false }}
                strokeWidth={1.5}
              />
            </div>
          </Stack>
        );
      })}
    </SimpleGrid>
  );
}
