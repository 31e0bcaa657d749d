import { WharfError } from '../../errors.js';
import type { Permission } from '../../permissions.js';
import type { FileStat, ListFormatSpec, OpenedDownload, ReadOptions, StorageBackend, UploadSink, WriteOptions } from '../types.js';
import { assertSafeName, resolveVirtual } from '../../vpath.js';

/**
 * Wraps any backend with the user's permissions and path hygiene, so every front end applies
 * the same rules and handlers never re-check them. Paths are normalized again here: a caller
 * that forgot to resolve still cannot climb out of the root.
 */
export class GuardedStorage implements StorageBackend {
  constructor(
    private readonly inner: StorageBackend,
    private readonly permissions: ReadonlySet<Permission>,
  ) {}

  can(permission: Permission): boolean {
    return this.permissions.has(permission);
  }

  private need(permission: Permission, what: string): void {
    if (!this.permissions.has(permission)) throw new WharfError('PERMISSION_DENIED', `Permission denied: ${what} needs "${permission}"`);
  }

  private clean(path: string): string {
    assertSafeName(path);
    return resolveVirtual('/', path);
  }

  stat(path: string): Promise<FileStat> {
    return this.inner.stat(this.clean(path));
  }

  list(path: string): AsyncIterable<FileStat> {
    this.need('list', 'listing');
    return this.inner.list(this.clean(path));
  }

  /** Entries in batches; falls back to one-entry batches for backends without `listBatches`. */
  listBatches(path: string): AsyncIterable<FileStat[]> {
    this.need('list', 'listing');
    const clean = this.clean(path);
    return this.inner.listBatches ? this.inner.listBatches(clean) : singletons(this.inner.list(clean));
  }

  /** Ready-made listing lines when the backend can produce them (see StorageBackend.listFormatted), else undefined. */
  listFormatted(path: string, spec: ListFormatSpec): AsyncIterable<Buffer> | undefined {
    this.need('list', 'listing');
    return this.inner.listFormatted?.(this.clean(path), spec);
  }

  read(path: string, options?: ReadOptions): Promise<import('node:stream').Readable> {
    this.need('read', 'download');
    return this.inner.read(this.clean(path), options);
  }

  /** The backend's openDownload, or undefined when it has none (the caller then uses stat() and read()). */
  tryOpenDownload(path: string, options?: ReadOptions): Promise<OpenedDownload> | undefined {
    if (!this.inner.openDownload) return undefined;
    this.need('read', 'download');
    return this.inner.openDownload(this.clean(path), options);
  }

  write(path: string, options: WriteOptions = {}): Promise<UploadSink> {
    if (options.append) {
      if (!this.permissions.has('append') && !this.permissions.has('write')) this.need('append', 'append');
    } else this.need('write', 'upload');
    return this.inner.write(this.clean(path), options);
  }

  mkdir(path: string): Promise<void> {
    this.need('mkdir', 'make directory');
    return this.inner.mkdir(this.clean(path));
  }

  rmdir(path: string): Promise<void> {
    this.need('rmdir', 'remove directory');
    return this.inner.rmdir(this.clean(path));
  }

  unlink(path: string): Promise<void> {
    this.need('delete', 'delete');
    return this.inner.unlink(this.clean(path));
  }

  rename(from: string, to: string): Promise<void> {
    this.need('rename', 'rename');
    return this.inner.rename(this.clean(from), this.clean(to));
  }

  setTimes(path: string, mtime: Date): Promise<void> {
    this.need('settime', 'set modification time');
    return this.inner.setTimes(this.clean(path), mtime);
  }

  chmod(path: string, mode: number): Promise<void> {
    this.need('chmod', 'change mode');
    if (!this.inner.chmod) throw new WharfError('NOT_SUPPORTED', 'This storage has no file modes');
    return this.inner.chmod(this.clean(path), mode);
  }
}

async function* singletons(entries: AsyncIterable<FileStat>): AsyncIterable<FileStat[]> {
  for await (const entry of entries) yield [entry];
}
