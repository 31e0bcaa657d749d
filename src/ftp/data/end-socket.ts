import { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import { tlsLinkFailure, tlsLinkOf, type EngineTlsLink } from '../../core/storage/transfer-engine.js';

/**
 * How long a TLS peer may take to close after our close_notify before it is cut off: by
 * Node's TLS here, by the transfer engine's link in src/ftp/engine-tls.ts.
 */
export const PEER_CLOSE_GRACE_MS = 10_000;
/** How long the last queued bytes may sit without the reader taking any before it is cut off. */
const STALL_MS = 10_000;

/**
 * Ends a data connection after its last byte (PROTOCOL.md §4: 226 only once every byte was
 * handed to the kernel and the data socket was closed; with TLS after close_notify).
 * Resolves when the transfer may be answered with 226; rejects (426) when the socket failed
 * or closed while some of our bytes were not yet handed to the kernel.
 */
export function endDataSocket(socket: Duplex): Promise<void> {
  const link = tlsLinkOf(socket);
  if (link) return endEngineTls(socket, link);
  // Closed already: the transfer's own runner saw every byte reach the kernel (the engine's
  // report may come after the client's close); failures before that were raised there.
  if (socket.destroyed) return Promise.resolve();
  if (closesOnOwnEnd(socket)) return endAndClose(socket);
  const closed = endAndAwaitPeer(socket);
  // Node's TLS: 'finish' comes once our close_notify and FIN went to the kernel, which is all
  // a 226 needs (see endEngineTls); the peer's close_notify is still absorbed before the close.
  if (socket instanceof TLSSocket) return Promise.race([closed, once(socket, 'finish').then(noop, noop)]);
  return closed;
}

const noop = (): void => undefined;

/**
 * A data connection the engine secured (src/ftp/engine-tls.ts): JavaScript's side ends like
 * TLS (end, and the link closes the plaintext socket once close_notify went both ways), and
 * the outcome is the link's: its failure to deliver the last records is a 426. The 226 may
 * go as soon as our close_notify and FIN are with the kernel, behind every record. Waiting
 * for the client's close_notify as well cost a download one more turn of the client's
 * before its 226, for nothing the client needs. The link absorbs that close_notify afterwards.
 */
async function endEngineTls(socket: Duplex, link: EngineTlsLink): Promise<void> {
  if (!socket.destroyed) void endAndAwaitPeer(socket);
  const end = await Promise.race([link.ended, link.closeNotified]);
  if (end && end.code !== 0) throw tlsLinkFailure(end);
}

/**
 * Plain TCP whose peer has nothing unread with us: it wrote nothing (a download, a listing)
 * or its end was already read (an upload). Closing such a descriptor sends no RST, and the
 * kernel still delivers every queued byte and then our FIN, so there is no need to wait a
 * round trip for the peer's own FIN (vsftpd and Pure-FTPd do not either). A peer that did
 * write to a download's data connection keeps the old, patient ending: closing on top of
 * unread bytes would reset the connection and could cut off the tail of its download.
 */
function closesOnOwnEnd(socket: Duplex): socket is Socket {
  return socket instanceof Socket && !(socket instanceof TLSSocket) && (socket.bytesRead === 0 || socket.readableEnded);
}

/** end(), then close as soon as 'finish' says the last byte and our FIN are with the kernel. */
function endAndClose(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    // Only bytes still queued in Node delay 'finish': a reader that takes none of them for
    // STALL_MS has stopped, and is cut off (426, never a 226 for a truncated file).
    let lastQueued = -1;
    const stall = setInterval(() => {
      const queued = socket.writableLength;
      if (queued === lastQueued) socket.destroy();
      lastQueued = queued;
    }, STALL_MS);
    stall.unref();
    const onFinish = () => {
      cleanup();
      socket.destroy();
      resolve();
    };
    const onClose = () => {
      cleanup();
      // Closed before our FIN went out. Complete all the same when every byte had been handed
      // to the kernel (nothing queued or being written, no write failed): a client that resets
      // as soon as it has the announced size took everything. Bytes still queued: 426.
      const failed = socket.errored as NodeJS.ErrnoException | null;
      if (socket.writableLength === 0 && failed?.syscall !== 'write') resolve();
      else reject(failed ?? new Error('data connection closed before the last byte was sent'));
    };
    const cleanup = () => {
      clearInterval(stall);
      socket.off('finish', onFinish);
      socket.off('close', onClose);
    };
    if (socket.writableFinished) return onFinish();
    socket.once('finish', onFinish);
    socket.once('close', onClose);
    if (!socket.writableEnded) socket.end(); // ending twice builds (and throws away) an error with a stack
  });
}

/**
 * TLS (and anything not plain TCP): end our side (close_notify, then FIN) and wait for the
 * peer to close, since its own close_notify would otherwise meet a closed socket and be
 * answered with RST. A peer that never closes is cut off after a grace period.
 */
export async function endAndAwaitPeer(socket: Duplex): Promise<void> {
  const closed = once(socket, 'close').catch(() => undefined);
  socket.end();
  const timer = setTimeout(() => socket.destroy(), PEER_CLOSE_GRACE_MS);
  timer.unref();
  if (socket.readable) socket.resume(); // drain anything the peer sends so its FIN is seen
  await closed;
  clearTimeout(timer);
}
