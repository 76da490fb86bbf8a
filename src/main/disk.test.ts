import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTmp } from '../../test/helpers/tmp';
import { folderBytes } from './disk';

const tmp = useTmp();

describe('folderBytes', () => {
  it('adds up the files of nested folders, follows no link, and is 0 for what does not exist', async () => {
    const root = tmp();
    mkdirSync(join(root, 'a', 'b', 'c'), { recursive: true });
    writeFileSync(join(root, 'top.bin'), Buffer.alloc(1000));
    writeFileSync(join(root, 'a', 'one.bin'), Buffer.alloc(200));
    writeFileSync(join(root, 'a', 'b', 'c', 'deep.bin'), Buffer.alloc(30));
    const outside = tmp();
    writeFileSync(join(outside, 'big.bin'), Buffer.alloc(1_000_000));
    symlinkSync(outside, join(root, 'link')); // a link to a folder elsewhere: its files are not the project's
    const link = await folderBytes(join(root, 'link')); // the link itself
    expect(await folderBytes(root)).toBe(1230 + link);
    expect(link).toBeLessThan(1000);
    expect(await folderBytes(join(root, 'top.bin'))).toBe(1000);
    expect(await folderBytes(join(root, 'missing'))).toBe(0);
  });

  it('lets the event loop turn between folders', async () => {
    const root = tmp();
    for (let i = 0; i < 20; i++) {
      mkdirSync(join(root, String(i)));
      writeFileSync(join(root, String(i), 'f.bin'), Buffer.alloc(10));
    }
    let walkDone = false;
    let ranMeanwhile = false;
    const walk = folderBytes(root).then((bytes) => ((walkDone = true), bytes));
    setImmediate(() => (ranMeanwhile = !walkDone)); // as a request to the app would
    expect(await walk).toBe(200);
    expect(ranMeanwhile).toBe(true);
  });
});
