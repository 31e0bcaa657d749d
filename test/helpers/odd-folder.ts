import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, truncateSync, utimesSync, writeFileSync, lutimesSync } from 'node:fs';
import { join } from 'node:path';

const DAY_S = 24 * 3600;

/** Joins a folder and a raw (possibly non-UTF-8) name into a Buffer path. */
export function rawPath(dir: string, name: Buffer): Buffer {
  return Buffer.concat([Buffer.from(dir + '/'), name]);
}

/**
 * A folder holding every kind of entry a listing must describe: sizes from 0 to a sparse
 * 10^12 bytes, old / recent / future / pre-1970 / sub-second mtimes (and two an hour either
 * side of the six-month line), setuid/setgid/sticky modes, a subdirectory, a fifo, a hard
 * link, symlinks (inside the root, outside it, dangling, to a directory) and awkward names
 * (spaces, leading dash, unicode, bytes that are not UTF-8, a UTF-8 byte order mark, CR/LF).
 * `root` is the server's root; the folder is `root/odd`.
 */
export function makeOddFolder(root: string): string {
  const dir = join(root, 'odd');
  mkdirSync(dir);
  const now = Date.now() / 1000;
  const file = (name: string | Buffer, size: number, mtime: number | Date, mode = 0o644) => {
    const path = typeof name === 'string' ? join(dir, name) : rawPath(dir, name);
    writeFileSync(path, '');
    if (size > 0) truncateSync(path, size);
    chmodSync(path, mode);
    utimesSync(path, mtime, mtime);
    return path;
  };
  file('empty', 0, now - 2 * DAY_S);
  file('one byte', 1, now - 3600);
  try {
    file('sparse-terabyte', 1e12, 1_500_000_000);
  } catch {
    file('sparse-terabyte', 1e10, 1_500_000_000); // a filesystem with a smaller file size limit
  }
  file('old', 10, 1_262_304_000); // 2010
  file('future', 10, now + 400 * DAY_S);
  file('near-future', 10, now + DAY_S);
  file('before-1970', 10, new Date(-86_400_000 * 3650.5)); // a Date: utimes takes a negative number for "now"
  file('sub-second', 10, 1_700_000_000.9996); // rounds up to the next second, as Date does
  file('six-months-minus-hour', 10, now - 182.5 * DAY_S + 3600);
  file('six-months-plus-hour', 10, now - 182.5 * DAY_S - 3600);
  file('setuid', 5, 1_600_000_000, 0o4755);
  file('setuid-noexec', 5, 1_600_000_000, 0o4644);
  file('setgid', 5, 1_600_000_000, 0o2755);
  file('setgid-noexec', 5, 1_600_000_000, 0o2640);
  file('mode-zero', 5, 1_600_000_000, 0);
  file('mode-777', 5, 1_600_000_000, 0o777);
  file('-leading-dash', 3, 1_600_000_000);
  file(' leading and trailing spaces ', 3, 1_600_000_000);
  file('ünïcödé 日本語 😀', 3, 1_600_000_000);
  file(Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x31, 0x2d, 0xe9, 0xff, 0xfe]), 4, 1_600_000_000); // not UTF-8
  file(Buffer.from([0xef, 0xbb, 0xbf, 0x62, 0x6f, 0x6d]), 4, 1_600_000_000); // starts with a UTF-8 BOM
  file(Buffer.from([0x80, 0xef, 0xbb, 0xbf, 0x78]), 4, 1_600_000_000); // a BOM inside bytes that are not UTF-8
  file('cr\rlf\nname', 2, 1_600_000_000);
  const linked = file('hard-linked', 7, 1_600_000_000);
  linkSync(linked, join(dir, 'hard-link-2'));
  const sub = join(dir, 'sub dir');
  mkdirSync(sub);
  writeFileSync(join(sub, 'inner.txt'), 'inner');
  utimesSync(sub, 1_650_000_000, 1_650_000_000);
  const sticky = join(dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  const stickyNoX = join(dir, 'sticky-nox');
  mkdirSync(stickyNoX);
  chmodSync(stickyNoX, 0o1776);
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  symlinkSync('one byte', join(dir, 'link-inside'));
  symlinkSync('sub dir', join(dir, 'link-to-dir'));
  symlinkSync('/etc/hostname', join(dir, 'link-outside'));
  symlinkSync('nowhere', join(dir, 'link-dangling'));
  symlinkSync('../odd/old', join(dir, 'link-up-and-back'));
  lutimesSync(join(dir, 'link-inside'), 1_600_000_000, 1_600_000_000);
  utimesSync(dir, 1_650_000_000, 1_650_000_000);
  return dir;
}
