import { Badge, Stack, Table, Text } from '@mantine/core';
import type { Job } from '../../../shared/contract';
import { formatAgo, formatCount } from './format';
import { STATUS_COLOR, STATUS_LABEL, statusExplanation } from './jobsState';

export function JobStatusBadge({ status }: { status: Job['status'] }) {
  return (
    <Badge color={STATUS_COLOR[status]} variant="light" data-testid="job-status">
      {STATUS_LABEL[status]}
    </Badge>
  );
}

/** Every job of this project, most recent first. */
export function JobsList({ jobs }: { jobs: readonly Job[] }) {
  if (jobs.length === 0) {
    return (
      <Text size="sm" c="dimmed" data-testid="jobs-empty">
        No jobs yet. Checks, imports and training runs will be listed here with their results.
      </Text>
    );
  }
  return (
    <Table.ScrollContainer minWidth={480}>
      <Table verticalSpacing="xs" aria-label="Jobs" data-testid="jobs-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Job</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Progress</Table.Th>
            <Table.Th>Started</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {jobs.map((job) => {
            const explanation = statusExplanation(job, jobs);
            return (
              <Table.Tr key={job.id} data-testid="job-row" data-job-id={job.id}>
                <Table.Td>
                  <Text size="sm">{job.title}</Text>
                  {job.message && job.status !== 'failed' && (
                    <Text size="xs" c="dimmed">
                      {job.message}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Stack gap={2} align="flex-start">
                    <JobStatusBadge status={job.status} />
                    {explanation && (
                      <Text size="xs" c={job.status === 'failed' ? 'red' : 'dimmed'}>
                        {explanation}
                      </Text>
                    )}
                  </Stack>
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{formatCount(job.progress)}</Text>
                </Table.Td>
                <Table.Td>
                  <Text size="sm" title={job.startedAt ?? job.createdAt}>
                    {formatAgo(job.startedAt ?? job.createdAt)}
                  </Text>
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
