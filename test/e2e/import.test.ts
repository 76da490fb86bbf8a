/**
 * The import wizard and the Balance screen in the built app (`gan-augment serve` + Chromium): a small
 * imbalanced folder made with sharp (12 / 6 / 3 images, a damaged JPEG, a text file named .jpg and
 * one picture filed under two classes), imported through the UI; screenshots of the result page
 * and the balance chart.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApp, screenshotPath, unexpectedConsoleErrors, type OpenApp, type Served } from './helpers';

let app: OpenApp | undefined;
let served: Served;
let page: Page;
let dataDir: string;

/** A screenshot of the page itself: the pointer moved away (no chart tooltip), notifications hidden. */
async function screenshot(name: string): Promise<void> {
  await page.mouse.move(1, 1);
  const style = await page.addStyleTag({ content: '.mantine-Notifications-root { display: none !important; }' });
  await page.screenshot({ path: screenshotPath(name), fullPage: true });
  await style.evaluate((el) => (el as Element).remove());
}

/** A small picture that differs from every other one: a colour gradient plus seeded noise. */
async function picture(seed: number, format: 'png' | 'jpeg'): Promise<Buffer> {
  const w = 48;
  const h = 40;
  const px = Buffer.alloc(w * h * 3);
  let s = seed * 2654435761;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const i = (y * w + x) * 3;
      px[i] = (x * 5 + seed * 37) % 256;
      px[i + 1] = (y * 6 + seed * 71) % 256;
      px[i + 2] = (s >>> 24) & 0xff;
    }
  }
  const img = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return format === 'png' ? img.png().toBuffer() : img.jpeg({ quality: 90 }).toBuffer();
}

async function makeDataset(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'gan-augment-import-e2e-'));
  const classes: [string, number][] = [
    ['nevus', 12],
    ['melanoma', 6],
    ['dermatofibroma', 3],
  ];
  let seed = 1;
  for (const [name, n] of classes) {
    mkdirSync(join(root, name));
    for (let i = 0; i < n; i++) {
      const format = i % 2 === 0 ? 'png' : 'jpeg';
      writeFileSync(join(root, name, `${name}_${i}.${format === 'png' ? 'png' : 'jpg'}`), await picture(seed++, format));
    }
  }
  // A damaged JPEG: a real header, then garbage.
  const good = await picture(999, 'jpeg');
  const broken = Buffer.concat([good.subarray(0, 200), Buffer.alloc(400, 0x55)]);
  writeFileSync(join(root, 'melanoma', 'damaged scan.jpg'), broken);
  // A text file with an image extension.
  writeFileSync(join(root, 'nevus', 'notes.jpg'), 'Patient notes, not an image.\n');
  // The same picture under two labels: a conflict.
  writeFileSync(join(root, 'dermatofibroma', 'same_as_nevus_0.png'), readFileSync(join(root, 'nevus', 'nevus_0.png')));
  return root;
}

beforeAll(async () => {
  dataDir = await makeDataset();
  app = await openApp({ viewport: { width: 1280, height: 900 } });
  ({ served, page } = app);
});

afterAll(async () => {
  await app?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('import wizard and class balance', () => {
  it('creates a project and shows the wizard', async () => {
    await page.goto(served.url);
    await page.getByLabel('Project name').fill('Import study');
    await expect.poll(() => page.getByTestId('create-folder').inputValue()).toBe(served.projectsDir);
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByTestId('project-name').getByText('Import study').waitFor();

    await page.getByTestId('nav-import').click();
    await page.getByText('A folder with one subfolder per class').waitFor();
    // browser mode: no Browse buttons anywhere
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('source-root').waitFor();
    expect(await page.getByRole('button', { name: /Browse/ }).count()).toBe(0);
  });

  it('pre-scans the folder: classes, counts and problems', async () => {
    // a path that is not a full one is refused in words, and the path can be changed from there
    await page.getByTestId('source-root').fill('data/ds');
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('scan-error').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('scan-error').innerText()).toContain('The image folder "data/ds" is not a full path.');
    await page.getByTestId('scan-change-source').click();
    await page.getByTestId('source-root').fill(dataDir);
    await page.getByTestId('wizard-next').click();
    const summary = page.getByTestId('scan-summary');
    await summary.waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('scan-total').innerText()).toMatch(/24 image files in 3 classes/);
    // 24 files x 64 KB at most, beside the free space of the disk holding the project
    expect(await page.getByTestId('scan-disk').innerText()).toMatch(/^The project keeps a training copy and a thumbnail of each file: up to 1\.6 MB on the disk holding it, which has .+ free\.$/);
    await screenshot('import-scan.png');
  });

  it('imports with progress and shows the result page', async () => {
    await page.getByTestId('start-import').click();
    await page.getByTestId('import-result').waitFor({ timeout: 90_000 });
    await screenshot('import-result.png');

    expect(await page.getByTestId('count-rejected').innerText()).toBe('2');
    // both copies of the picture filed under two labels are listed
    expect(await page.getByTestId('count-conflicts').innerText()).toBe('2');
    // 21 distinct pictures, less the one filed under two labels (held back as a conflict)
    expect(await page.getByTestId('count-imported').innerText()).toBe('20');
    expect(await page.getByTestId('import-result-sentence').innerText()).toBe(
      'Added 20 images to the classes dermatofibroma (3), melanoma (6) and nevus (11).',
    );
    // the rejected list is shown first, with plain reasons
    await page.getByText('melanoma/damaged scan.jpg', { exact: true }).waitFor();
    await page.getByText('nevus/notes.jpg', { exact: true }).waitFor();
    const rejected = await page.getByTestId('outcome-list').innerText();
    expect(rejected).toMatch(/damaged|cut off|ends early|cannot be decoded/i);
    expect(rejected).toMatch(/not an image/i);

    await page.getByText('Conflicts (2)').click();
    await page.getByText(/The same picture appears under two labels/).waitFor();
    await page.getByText('Rejected (2)').click();
  });

  it('shows the class balance with the imbalance ratio, target and split', async () => {
    await page.getByTestId('go-to-balance').click();
    const ratio = page.getByTestId('imbalance-ratio');
    await ratio.waitFor({ timeout: 30_000 });
    expect(await ratio.innerText()).toBe('The largest class (nevus) has 3.7× as many images as the smallest (dermatofibroma).');
    expect(await page.getByTestId('needed-dermatofibroma').innerText()).toBe('8');
    await page.getByTestId('balance-conflicts').waitFor();
    expect(await page.getByTestId('too-small').count()).toBe(3);
    await page.getByTestId('split-seed').waitFor();
    // the chart has drawn its bars
    await expect.poll(() => page.locator('[data-testid="balance-chart"] .recharts-bar-rectangle').count()).toBeGreaterThan(0);
    await screenshot('balance.png');

    await page.getByRole('button', { name: 'Show examples of melanoma' }).click();
    await expect.poll(() => page.getByTestId('class-samples').locator('img').count()).toBeGreaterThan(0);
  });

  it('decides the picture under two labels: it then counts under the label chosen', async () => {
    await page.getByTestId('conflicts-decide').click();
    const dialog = page.getByRole('dialog');
    const row = dialog.getByTestId('conflict');
    await row.waitFor();
    expect(await row.innerText()).toMatch(/Imported as dermatofibroma from dermatofibroma\/same_as_nevus_0\.png\s+Imported as nevus from nevus\/nevus_0\.png/);
    await expect.poll(() => row.locator('img').evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
    await expect.poll(() => dialog.evaluate((el) => getComputedStyle(el.closest('.mantine-Modal-content') ?? el).opacity)).toBe('1');
    await page.mouse.move(1, 1);
    await dialog.screenshot({ path: screenshotPath('conflicts.png') });
    await row.getByRole('button', { name: 'It is nevus' }).click();
    await expect.poll(() => row.getByTestId('conflict-decision').innerText()).toBe('Counts as nevus.');
    expect(await dialog.getByTestId('conflicts-left').innerText()).toBe('All decided.');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => page.getByTestId('balance-conflicts').count()).toBe(0);
    await expect.poll(() => page.getByTestId('imbalance-ratio').innerText()).toMatch(/^The largest class \(nevus\) has 4(\.0)?× as many images as the smallest \(dermatofibroma\)\.$/);
  });

  it('changes the target to the median', async () => {
    await page.getByText('Match median').click();
    await expect.poll(() => page.getByTestId('target-sentence').innerText()).toMatch(/median class size/);
  });

  it('maps the columns of a CSV of labels, with a preview of its first rows', async () => {
    const csv = join(dataDir, 'labels.csv');
    writeFileSync(csv, 'image,MEL,NV,DF,lesion_id\nnevus_0,0.0,1.0,0.0,IL_1\nmelanoma_0,1.0,0.0,0.0,IL_2\ndermatofibroma_0,0.0,0.0,1.0,IL_3\n');
    await page.getByTestId('nav-import').click();
    await page.getByTestId('add-more').click();
    await page.getByTestId('kind-csv').click();
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('source-images').fill(dataDir);
    await page.getByTestId('source-csv').fill(csv);
    await page.getByTestId('read-csv').click();
    await page.getByTestId('csv-preview').getByText('melanoma_0').waitFor();
    expect(await page.getByTestId('map-file').inputValue()).toBe('image');
    await page.getByTestId('map-classes').getByLabel('NV').waitFor();
    expect(await page.getByTestId('map-classes').getByLabel('NV').isChecked()).toBe(true);
    await screenshot('import-csv-mapper.png');
  });

  it('logged no errors in the browser console', () => {
    expect(unexpectedConsoleErrors(app!.consoleErrors)).toEqual([]);
  });
});
