import { Readable, Writable } from 'node:stream';
import { WharfError } from '../errors.js';
import { baseName, parentOf, splitVirtual } from '../vpath.js';
import type { FileStat, ReadOptions, StorageBackend, UploadSink, WriteOptions } from './types.js';

interface MemoryFile {
  type: 'file';
  data: Buffer;
  mtime: Date;
}
interface MemoryDir {
  type: 'dir';
  entries: Map<string, MemoryNode>;
  mtime: Date;
}
type MemoryNode = MemoryFile | MemoryDir;

/**
 * A StorageBackend that keeps everything in memory: a proof that the core works with any
 * backend, a fast fixture for tests, and a base for custom backends (upload hooks that never
 * touch the disk). Paths arrive already normalized by the guard; names are plain map keys,
 * so there is nothing to escape and no symlinks to follow.
 */
export class MemoryStorage implements StorageBackend {
  private readonly root: MemoryDir = { type: 'dir', entries: new Map(), mtime: new Date() };

  /** Optionally seed with files: `{ '/docs/readme.txt': 'hello' }` (folders are created). */
  constructor(files: Record<string, string | Buffer> = {}) {
    for (const [path, content] of Object.entries(files)) this.putFile(path, content);
  }

  /** Writes a file directly (creating parent folders): for seeding and tests. */
  putFile(path: string, content: string | Buffer): void {
    const parts = splitVirtual(path);
    const name = parts.pop();
    if (name === undefined) throw new WharfError('STORAGE_IS_A_DIRECTORY', 'Is a directory');
    let dir = this.root;
    for (const part of parts) {
      let next = dir.entries.get(part);
      if (!next) dir.entries.set(part, (next = { type: 'dir', entries: new Map(), mtime: new Date() }));
      if (next.type !== 'dir') throw new WharfError('STORAGE_NOT_A_DIRECTORY', 'Not a directory');
      dir = next;
    }
    dir.entries.set(name, { type: 'file', data: Buffer.from(content), mtime: new Date() });
  }

  /** A file's content, or undefined: for tests and hooks. */
  getFile(path: string): Buffer | undefined {
    const node = this.find(path);
    return node?.type === 'file' ? node.data : undefined;
  }

  private find(path: string): MemoryNode | undefined {
    let node: MemoryNode = this.root;
    for (const part of splitVirtual(path)) {
      if (node.type !== 'dir') return undefined;
      const next: MemoryNode | undefined = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  private node(path: string): MemoryNode {
    const node = this.find(path);
    if (!node) throw new WharfError('STORAGE_NOT_FOUND', 'No such file or directory');
    return node;
  }

  private dir(path: string): MemoryDir {
    const node = this.node(path);
    if (node.type !== 'dir') throw new WharfError('STORAGE_NOT_A_DIRECTORY', 'Not a directory');
    return node;
  }

  private describe(name: string, node: MemoryNode): FileStat {
    return node.type === 'dir'
      ? { name, type: 'dir', size: 0, mtime: node.mtime, mode: 0o755, nlink: 2 }
      : { name, type: 'file', size: node.data.length, mtime: node.mtime, mode: 0o644, nlink: 1 };
  }

  async stat(path: string): Promise<FileStat> {
    return this.describe(baseName(path), this.node(path));
  }

  async *list(path: string): AsyncIterable<FileStat> {
    // A snapshot, so entries added while a listing streams do not disturb the iteration.
    for (const [name, node] of [...this.dir(path).entries]) yield this.describe(name, node);
  }

  async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    const node = this.node(path);
    if (node.type !== 'file') throw new WharfError('STORAGE_IS_A_DIRECTORY', 'Is a directory');
    const start = options.start ?? 0;
    if (start > node.data.length) throw new WharfError('STORAGE_INVALID_RANGE', 'Restart offset beyond end of file');
    return Readable.from([node.data.subarray(start)]);
  }

  async write(path: string, options: WriteOptions = {}): Promise<UploadSink> {
    const name = baseName(path);
    if (!name) throw new WharfError('STORAGE_IS_A_DIRECTORY', 'Is a directory');
    const parent = this.dir(parentOf(path));
    const existing = parent.entries.get(name);
    if (existing?.type === 'dir') throw new WharfError('STORAGE_IS_A_DIRECTORY', 'Is a directory');
    if (existing && options.exclusive) throw new WharfError('STORAGE_EXISTS', 'File exists');
    const start = options.start ?? 0;
    if (start > (existing?.data.length ?? 0)) throw new WharfError('STORAGE_INVALID_RANGE', 'Restart offset beyond end of file');
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    // Non-atomic writes are visible at once (like a local file being written); atomic ones only on commit.
    const placeholder: MemoryFile = { type: 'file', data: Buffer.alloc(0), mtime: new Date() };
    if (!options.atomic && !existing) parent.entries.set(name, placeholder);
    let settled = false;
    /** Whether the bytes began to move: an upload that never started changes nothing (as local storage). */
    let started = false;
    const finish = (keep: boolean) => {
      if (settled) return;
      settled = true;
      const incoming = Buffer.concat(chunks);
      if (!keep && !started) {
        if (parent.entries.get(name) === placeholder) parent.entries.delete(name);
        return;
      }
      if (!keep) {
        if (options.atomic) return;
        if (!existing) placeholder.data = incoming; // keep the partial upload, as local storage does
        else if (!options.append && !options.start) existing.data = incoming;
        return;
      }
      const before = existing?.data ?? Buffer.alloc(0);
      let data: Buffer;
      if (options.append) data = Buffer.concat([before, incoming]);
      else if (start > 0) data = Buffer.concat([before.subarray(0, start), incoming, before.subarray(start + incoming.length)]);
      else data = incoming;
      parent.entries.set(name, { type: 'file', data, mtime: new Date() });
    };
    return {
      get stream() {
        started = true;
        return stream;
      },
      commit: async () => {
        if (!stream.writableFinished) await new Promise<void>((resolve) => (stream.writableFinished ? resolve() : stream.once('finish', resolve)));
        finish(true);
      },
      abort: async () => finish(false),
    };
  }

  async mkdir(path: string): Promise<void> {
    const name = baseName(path);
    if (!name) throw new WharfError('STORAGE_EXISTS', 'File exists');
    const parent = this.dir(parentOf(path));
    if (parent.entries.has(name)) throw new WharfError('STORAGE_EXISTS', 'File exists');
    parent.entries.set(name, { type: 'dir', entries: new Map(), mtime: new Date() });
  }

  async rmdir(path: string): Promise<void> {
    const name = baseName(path);
    if (!name) throw new WharfError('PERMISSION_DENIED', 'Cannot remove the root');
    const dir = this.dir(path);
    if (dir.entries.size > 0) throw new WharfError('STORAGE_NOT_EMPTY', 'Directory not empty');
    this.dir(parentOf(path)).entries.delete(name);
  }

  async unlink(path: string): Promise<void> {
    const node = this.node(path);
    if (node.type === 'dir') throw new WharfError('STORAGE_IS_A_DIRECTORY', 'Is a directory');
    this.dir(parentOf(path)).entries.delete(baseName(path));
  }

  async rename(from: string, to: string): Promise<void> {
    const fromName = baseName(from);
    const toName = baseName(to);
    if (!fromName || !toName) throw new WharfError('PERMISSION_DENIED', 'Cannot rename the root');
    const node = this.node(from);
    const target = this.dir(parentOf(to));
    // Moving a folder into itself would detach it from the tree.
    if (node.type === 'dir' && to !== from && (to + '/').startsWith(from.replace(/\/?$/, '/'))) throw new WharfError('PATH_INVALID_NAME', 'Cannot move a folder into itself');
    const existing = target.entries.get(toName);
    if (existing?.type === 'dir' && existing !== node) throw new WharfError('STORAGE_EXISTS', 'A folder with that name exists');
    this.dir(parentOf(from)).entries.delete(fromName);
    target.entries.set(toName, node);
  }

  async setTimes(path: string, mtime: Date): Promise<void> {
    this.node(path).mtime = mtime;
  }
}
