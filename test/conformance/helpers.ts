import * as net from 'node:net';
import { once } from 'node:events';
import { RawClient, connectData, readAll, type Reply } from '../helpers/raw.js';
import type { TestServer } from '../helpers/server.js';

export { rawSession } from '../helpers/session.js';

export interface DataResult {
  /** The preliminary reply (150/125), or the only reply when the command failed at once. */
  first: Reply;
  /** The final reply (226, 426, 5xx ...); undefined when `first` was already final. */
  final?: Reply;
  /** What came over the data connection (downloads, listings). */
  data: Buffer;
}

/** EPSV, connect, send `command`, move the data (upload `send`, or read), return the replies. */
export async function passiveTransfer(c: RawClient, command: string | Buffer, send?: Buffer | string): Promise<DataResult> {
  const socket = await c.passive();
  const received = send === undefined ? readAll(socket) : Promise.resolve(Buffer.alloc(0));
  received.catch(() => undefined);
  c.write(typeof command === 'string' ? Buffer.concat([Buffer.from(command, 'utf8'), Buffer.from('\r\n')]) : Buffer.concat([command, Buffer.from('\r\n')]));
  const first = await c.read();
  if (first.code >= 200) {
    socket.destroy();
    return { first, data: Buffer.alloc(0) };
  }
  if (send !== undefined) socket.end(send);
  const data = await received;
  const final = await c.read(10_000);
  return { first, final, data };
}

/** A listener on the client side for PORT/EPRT, accepting one connection. */
export async function activeListener(host = '127.0.0.1'): Promise<{ port: number; server: net.Server; accepted: Promise<net.Socket> }> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const accepted = once(server, 'connection').then(([s]) => s as net.Socket);
  accepted.catch(() => undefined);
  return { port: (server.address() as net.AddressInfo).port, server, accepted };
}

export function portArg(host: string, port: number): string {
  return `${host.split('.').join(',')},${port >> 8},${port & 0xff}`;
}

export { connectData, readAll };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
