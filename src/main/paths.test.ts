import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { typedPath } from './paths';

describe('typedPath (a path typed into the window)', () => {
  it('takes ~ as the home folder and keeps a full path', () => {
    expect(typedPath('~', 'The image folder')).toBe(homedir());
    expect(typedPath('~/images/derm', 'The image folder')).toBe(join(homedir(), 'images', 'derm'));
    expect(typedPath('  /data/isic  ', 'The image folder')).toBe('/data/isic');
    expect(typedPath('/data/~x', 'The image folder')).toBe('/data/~x'); // only a leading ~
  });

  it("refuses a relative path in words: it would be looked for in the app's own working folder", () => {
    expect(() => typedPath('data/ds', 'The image folder')).toThrow(
      expect.objectContaining({ kind: 'validation', message: 'The image folder "data/ds" is not a full path. Type it from the top of the disk, such as /home/you/images, or ~/images.' }),
    );
    expect(() => typedPath('~someone/x', 'The CSV file')).toThrow(/The CSV file "~someone\/x" is not a full path/);
  });
});
