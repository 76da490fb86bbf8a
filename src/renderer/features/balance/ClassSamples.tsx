import { Alert, Box, CloseButton, Group, Image, Loader, ScrollArea, Skeleton, Stack, Text, Title } from '@mantine/core';
import { IconPhotoOff } from '@tabler/icons-react';
import { useCall } from '../../api/hooks';

const LIMIT = 24;
const SIZE = 88;

/** A strip of thumbnails from one class, spread over the class. */
export function ClassSamples({ className, onClose }: { className: string; onClose: () => void }) {
  const [samples] = useCall('classes.samples', { className, limit: LIMIT }, className);
  const stale = samples.status === 'loading';
  return (
    <Stack gap="xs" data-testid="class-samples" aria-live="polite">
      <Group justify="space-between" wrap="nowrap">
        <Title order={3} size="h5">
          Examples from “{className}”
        </Title>
        <CloseButton aria-label="Hide the examples" onClick={onClose} />
      </Group>
      {samples.status === 'error' ? (
        <Alert color="red" py="xs">
          {samples.error.message}
        </Alert>
      ) : samples.data === undefined || (stale && samples.data.length === 0) ? (
        <Group gap="xs">
          {Array.from({ length: 8 }, (_, i) => (
            <Skeleton key={i} width={SIZE} height={SIZE} radius="sm" />
          ))}
        </Group>
      ) : samples.data.length === 0 ? (
        <Text size="sm" c="dimmed">
          No images to show for this class.
        </Text>
      ) : (
        <ScrollArea type="auto" offsetScrollbars>
          <Group gap="xs" wrap="nowrap" style={{ opacity: stale ? 0.5 : 1 }}>
            {stale && <Loader size="xs" />}
            {samples.data.map((s) =>
              s.thumb ? (
                <Image key={s.id} src={s.thumb} w={SIZE} h={SIZE} radius="sm" fit="cover" alt={s.relPath} title={s.relPath} />
              ) : (
                <Box
                  key={s.id}
                  w={SIZE}
                  h={SIZE}
                  title={`${s.relPath}: no thumbnail`}
                  style={{ display: 'grid', placeItems: 'center', flexShrink: 0, background: 'var(--mantine-color-default-hover)', borderRadius: 4 }}
                >
                  <IconPhotoOff size={20} aria-label={`${s.relPath}: no thumbnail`} />
                </Box>
              ),
            )}
          </Group>
        </ScrollArea>
      )}
    </Stack>
  );
}
