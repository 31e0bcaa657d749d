import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { nativeIo, plainSocketFd } from '../../core/native.js';

const sendNow = nativeIo?.sendNow?.bind(nativeIo);

/**
 * Writes one control reply. When the native module is there and nothing is waiting in the
 * socket's stream, the bytes go to the kernel with one send(2), as libuv itself would do
 * first, but without the stream machinery around it (a write request, its callbacks, a tick
 * or two): that machinery cost about as much main-thread time as the send itself, four
 * times per login (220, 331, 230, 221). Replies are small, so the kernel nearly always takes
 * all of it at once. Otherwise (TLS, a backlog, a full socket, a broken connection, no native
 * module) the reply goes through `socket.write`, which keeps the order, waits, and reports
 * errors as it always did; `flushed` then runs once the stream has written it.
 *
 * Returns true when the whole reply is in the kernel already (`flushed` is not called).
 */
export function writeReply(socket: net.Socket | Duplex, bytes: Buffer, flushed?: () => void): boolean {
  if (sendNow && socket instanceof net.Socket) {
    const fd = plainSocketFd(socket); // undefined for TLS, a destroyed socket, or bytes already queued
    if (fd !== undefined) {
      const sent = sendNow(fd, bytes);
      if (sent === bytes.length) return true;
      // Part of it (a full socket): the stream sends the rest behind it.
      if (sent > 0) bytes = bytes.subarray(sent);
      // -EAGAIN: the stream waits for room; any other error: the stream meets it and reports it.
    }
  }
  if (flushed) socket.write(bytes, () => flushed());
  else socket.write(bytes);
  return false;
}
