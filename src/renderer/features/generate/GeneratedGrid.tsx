import { Box, Group, Stack, Text, Title, Tooltip } from '@mantine/core';
import { useElementSize } from '@mantine/hooks';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef } from 'react';
import { plural } from '../../../shared/words';
import { VIRTUALISE_ABOVE, chunk, groupByClass, provenance, type GeneratedImage } from './generateState';

const THUMB = 80;
const GAP = 8;

function Thumb({ img }: { img: GeneratedImage }) {
  const label = `${img.className}: ${provenance(img)}`;
  return (
    <Tooltip label={provenance(img)} withArrow openDelay={150} multiline w={260} position="bottom">
      <Box
        tabIndex={0}
        role="img"
        aria-label={label}
        data-testid="generated-thumb"
        w={THUMB}
        h={THUMB}
        style={{
          borderRadius: 'var(--mantine-radius-sm)',
          overflow: 'hidden',
          background: 'var(--mantine-color-default-hover)',
          flex: 'none',
        }}
      >
        {img.thumb && (
          <img
            src={img.thumb}
            alt=""
            width={THUMB}
            height={THUMB}
            style={{ display: 'block', objectFit: 'contain', imageRendering: 'pixelated' }}
          />
        )}
      </Box>
    </Tooltip>
  );
}

/** Only the rows in view are rendered: for classes with hundreds or thousands of images. */
function VirtualThumbs({ images }: { images: GeneratedImage[] }) {
  const { ref: sizeRef, width } = useElementSize();
  const scrollRef = useRef<HTMLDivElement>(null);
  const columns = Math.max(1, Math.floor((width + GAP) / (THUMB + GAP)));
  const rows = chunk(images, columns);
  // The virtualizer is not memoisable by the React Compiler; this component re-renders cheaply.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => THUMB + GAP,
    overscan: 4,
  });
  return (
    <div ref={sizeRef}>
      <div ref={scrollRef} style={{ height: 420, overflowY: 'auto' }} data-testid="generated-virtual">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {virtualizer.getVirtualItems().map((v) => (
            <Group
              key={v.key}
              gap={GAP}
              wrap="nowrap"
              style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${v.start}px)` }}
            >
              {rows[v.index]!.map((img) => (
                <Thumb key={img.id} img={img} />
              ))}
            </Group>
          ))}
        </div>
      </div>
    </div>
  );
}

/** "12 images", or where the list stopped short of them all, "1,106 images, the newest 1,000 shown". */
function shownOf(shown: number, total = shown): string {
  const all = plural(total, 'image', 'images');
  return total > shown ? `${all}, the newest ${shown.toLocaleString('en')} shown` : all;
}

/** Generated images, one block per class; hovering or focusing a thumbnail shows where it came from. */
export function GeneratedGrid({ images, totals }: { images: readonly GeneratedImage[]; totals?: Readonly<Record<string, number>> }) {
  const groups = groupByClass(images);
  return (
    <Stack gap="lg" data-testid="generated-grid">
      {groups.map((g) => (
        <Stack gap="xs" key={g.className} component="section" aria-label={`Generated images of ${g.className}`} data-testid="generated-class">
          <Title order={4} size="h5">
            {g.className}{' '}
            <Text span c="dimmed" size="sm" fw={400}>
              {shownOf(g.images.length, totals?.[g.className])}
            </Text>
          </Title>
          {g.images.length > VIRTUALISE_ABOVE ? (
            <VirtualThumbs images={g.images} />
          ) : (
            <Group gap={GAP}>
              {g.images.map((img) => (
                <Thumb key={img.id} img={img} />
              ))}
            </Group>
          )}
        </Stack>
      ))}
    </Stack>
  );
}
