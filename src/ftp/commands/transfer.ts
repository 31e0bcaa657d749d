import { randomBytes } from 'node:crypto';
import { WharfError, isWharfError } from '../../core/errors.js';
import { baseName, joinVirtual, parentOf } from '../../core/vpath.js';
import type { Readable } from 'node:stream';
import type { EntryType, UploadSink } from '../../core/storage/types.js';
import type { CommandSpec } from '../registry.js';
import type { Session, TransferState } from '../session.js';
import { LfToCrlf, CrlfToLf } from '../data/ascii.js';
import { receiveStream, runTransfer, sendStream, type FdTransfer } from '../data/transfer.js';
import { FdWriter } from '../../core/storage/file-sink.js';
import { FileSource } from '../../core/storage/file-source.js';
import { fromFsError } from '../../core/errors.js';
import { keepShape } from '../../core/warm-shapes.js';

function modeName(s: Session): string {
  return s.type === 'A' ? 'ASCII' : 'BINARY';
}

/** The REST offset belongs to the next transfer only, whatever its outcome. */
function takeRestOffset(s: Session): number {
  const offset = s.restOffset;
  s.restOffset = 0;
  return offset;
}

function refuseNotAFile(s: Session, type: EntryType): void {
  s.reply(550, type === 'dir' ? 'Is a directory' : 'Not a regular file');
  s.closeDataEndpoint();
}

async function retrieve(s: Session, arg: string): Promise<void> {
  const offset = takeRestOffset(s);
  if (!s.hasDataEndpoint()) return s.reply(425, 'Use PORT, EPRT, PASV or EPSV first');
  let path: string;
  let size: number;
  let source: Readable;
  try {
    // every failure before the transfer starts releases the pending data connection
    path = s.resolve(arg);
    // One containment check and no second stat when the backend can (a user without the read
    // permission takes the old order, so "No such file" still comes before "Permission denied").
    const opened = s.storage!.can('read') ? await s.storage!.tryOpenDownload(path, { start: offset }) : undefined;
    if (opened) {
      if ('notAFile' in opened) return refuseNotAFile(s, opened.notAFile);
      ({ stream: source, size } = opened);
    } else {
      const st = await s.storage!.stat(path);
      if (st.type !== 'file') return refuseNotAFile(s, st.type);
      source = await s.storage!.read(path, { start: offset });
      size = st.size;
    }
  } catch (err) {
    s.replyError(err);
    return s.closeDataEndpoint();
  }
  const outcome = await runTransfer(s, {
    direction: 'download',
    path,
    size,
    opening: `Opening ${modeName(s)} mode data connection for ${baseName(path)} (${size} bytes)`,
    run: (socket, state) => sendStream(s.type === 'A' ? source.pipe(new LfToCrlf()) : source, socket, state),
    // Binary from local storage: sendfile straight to the bare data connection (data/native-endpoint.ts).
    // Always present, undefined when it cannot run: one object shape for every plan (see core/warm-shapes.ts).
    runFd: s.type === 'I' && source instanceof FileSource ? (fd: number, state: TransferState) => sendFileToFd(source, fd, state) : undefined,
    finish: () => {
      source.destroy();
      keepShape('fileSource', source); // see core/warm-shapes.ts
    },
  });
  // The payload is only built when someone listens (metrics, xferlog, the library user): most servers have nobody.
  if (s.ctx.events.listenerCount('file:download') > 0) s.ctx.events.emit('file:download', { ...s.info, user: s.user!.name, path, bytes: outcome.bytes, durationMs: outcome.durationMs, ok: outcome.ok });
}

/** RETR's native path; a failed read of the file is a storage error (451), a broken connection a 426. */
function sendFileToFd(source: FileSource, fd: number, state: TransferState): FdTransfer | undefined {
  const sending = source.sendToFd(fd, (n) => (state.bytes += n));
  if (!sending) return undefined;
  const done = sending.done.catch((err: unknown) => {
    const fromFile = (err as { syscall?: string }).syscall === 'read';
    throw fromFile ? fromFsError(err, 'read') : err;
  });
  return { done, cancel: sending.cancel, finished: sending.finished === true, readToEnd: false };
}

type StoreMode = 'store' | 'append' | 'unique';

async function store(s: Session, arg: string, mode: StoreMode): Promise<void> {
  const offset = takeRestOffset(s);
  if (mode !== 'store' && offset > 0) return s.reply(503, `REST is not allowed with ${mode === 'append' ? 'APPE' : 'STOU'}`);
  if (!s.hasDataEndpoint()) return s.reply(425, 'Use PORT, EPRT, PASV or EPSV first');
  let path: string;
  let sink: UploadSink;
  try {
    if (mode === 'unique') ({ path, sink } = await createUnique(s, arg));
    else {
      path = s.resolve(arg);
      sink = await s.storage!.write(path, {
        append: mode === 'append',
        start: mode === 'store' && offset > 0 ? offset : undefined,
        atomic: s.ctx.settings.atomicUploads,
        fsync: s.ctx.settings.fsync,
      });
    }
  } catch (err) {
    s.replyError(err, 'create'); // the reply first: the client then sees why its data connection closes
    return s.closeDataEndpoint();
  }
  const opening = mode === 'unique' ? `FILE: ${baseName(path)}` : `Ok to send data for ${baseName(path)}`;
  let commitError: unknown;
  /** flush, fsync, atomic rename: only then may 226 go out. A failure here is not aborted again (finish). */
  const commit = async () => {
    try {
      await sink.commit();
    } catch (err) {
      commitError = err;
      throw err;
    }
  };
  const outcome = await runTransfer(s, {
    direction: 'upload',
    path,
    opening,
    run: async (socket, state) => {
      if (s.type === 'I' && sink.receiveFrom && FdWriter.canReceiveFrom(socket)) {
        await sink.receiveFrom(socket, (n) => (state.bytes += n)); // batched writev straight to the file
      } else await receiveStream(socket, sink.stream, state, s.type === 'A' ? new CrlfToLf() : undefined);
      await commit();
    },
    // Binary to local storage: the engine splices the bare data connection into the file.
    runFd:
      s.type === 'I' && sink.receiveFromFd
        ? (fd: number, state: TransferState) => {
            const received = sink.receiveFromFd!(fd, (n) => (state.bytes += n));
            if (!received) return undefined;
            const done = received.done.then(commit);
            return { done, cancel: received.cancel, finished: false, readToEnd: true }; // done: the upload read its end of stream
          }
        : undefined,
    finish: async (ok) => {
      if (!ok && !commitError) await sink.abort();
    },
  });
  if (s.ctx.events.listenerCount('file:upload') > 0) s.ctx.events.emit('file:upload', { ...s.info, user: s.user!.name, path, bytes: outcome.bytes, durationMs: outcome.durationMs, ok: outcome.ok, mode });
}

async function createUnique(s: Session, arg: string): Promise<{ path: string; sink: UploadSink }> {
  const hint = arg.trim() ? s.resolve(arg) : joinVirtual(s.cwd, 'wharf');
  const dir = arg.trim() ? parentOf(hint) : s.cwd;
  const stem = baseName(hint) || 'wharf';
  for (let attempt = 0; attempt < 16; attempt++) {
    const name = attempt === 0 && arg.trim() ? stem : `${stem}.${randomBytes(4).toString('hex')}`;
    const path = joinVirtual(dir, name);
    try {
      return { path, sink: await s.storage!.write(path, { exclusive: true, fsync: s.ctx.settings.fsync }) };
    } catch (err) {
      if (!isWharfError(err, 'STORAGE_EXISTS')) throw err;
    }
  }
  throw new WharfError('STORAGE_EXISTS', 'could not find a unique name');
}

export const transferCommands: CommandSpec[] = [
  { name: 'RETR', help: 'RETR <sp> path: download a file', auth: true, arg: 'required', transfer: true, run: retrieve },
  { name: 'STOR', help: 'STOR <sp> path: upload a file', auth: true, arg: 'required', transfer: true, run: (s, arg) => store(s, arg, 'store') },
  { name: 'APPE', help: 'APPE <sp> path: append to a file (created when missing)', auth: true, arg: 'required', transfer: true, run: (s, arg) => store(s, arg, 'append') },
  { name: 'STOU', help: 'STOU [<sp> name]: upload under a new unique name', auth: true, arg: 'optional', transfer: true, run: (s, arg) => store(s, arg, 'unique') },
  {
    name: 'ABOR',
    help: 'ABOR: abort the running transfer',
    auth: true,
    arg: 'none',
    duringTransfer: true,
    beforeTls: true,
    async run(s) {
      const transfer = s.transfer;
      if (!transfer) {
        s.closeDataEndpoint();
        return s.reply(225, 'No transfer to abort');
      }
      transfer.abortedBy = 'ABOR';
      transfer.abort();
      await s.settle(); // the transfer answers 426 first
      s.reply(226, 'ABOR successful');
    },
  },
];
