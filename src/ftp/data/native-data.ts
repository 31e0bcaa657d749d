import * as net from 'node:net';
import { nativeIo } from '../../core/native.js';
import { transferEngine } from '../../core/storage/transfer-engine.js';

/**
 * Passive data connections on bare descriptors (native/datapath.c): no net.Server per PASV,
 * no net.Socket for a plain binary RETR/STOR from local storage. See native-endpoint.ts.
 */
export interface NativeDataIo {
  /** A non-blocking listening socket bound to host:port (0: any): its descriptor, or -errno. */
  dataListen(host: string, port: number): number;
  /** The local port of a bound socket, or -errno. */
  dataPort(fd: number): number;
  /** One non-blocking accept: [descriptor, peer IP] or -errno (-EAGAIN: nothing queued). */
  dataAccept(fd: number): [number, string] | number;
  /** Closes with RST (SO_LINGER 0): a foreign peer gets no byte. */
  dataReset(fd: number): number;
  /**
   * Drops unread input and closes (the kernel still delivers what is queued): 0; or 1 when
   * the peer sent bytes and has not ended, so the descriptor was left open for a patient end.
   */
  dataEnd(fd: number): number;
  dataClose(fd: number): number;
  /** Stops a listener at once (also for the engine's duplicate of it) and closes it. */
  dataUnlisten(fd: number): number;
}

const NAMES = ['dataListen', 'dataPort', 'dataAccept', 'dataReset', 'dataEnd', 'dataClose', 'dataUnlisten'] as const;

function load(): NativeDataIo | undefined {
  // WHARF_NATIVE_DATA=off keeps net.Server/net.Socket for every data connection (A/B runs). Waiting
  // for a client that has not connected yet needs the transfer engine, so WHARF_ENGINE=off does too.
  if (process.env.WHARF_NATIVE_DATA === 'off' || !nativeIo || !transferEngine) return undefined;
  const io = nativeIo as unknown as Record<string, unknown>;
  if (!NAMES.every((name) => typeof io[name] === 'function') || typeof io.engineWaitReadable !== 'function') return undefined;
  return nativeIo as unknown as NativeDataIo;
}

/** The native data path, when the module has it and it is enabled. */
export const nativeData: NativeDataIo | undefined = load();

export const EAGAIN = 11;
export const EACCES = 13;
export const EADDRINUSE = 98;
export const ECONNABORTED = 103;

/**
 * Wraps a natively accepted descriptor in a net.Socket for everything the fast path does not
 * cover (listings, TYPE A, TLS, other storage): from here on it is the same socket the old
 * path had, paused like a net.Server's pauseOnConnect socket until the transfer reads it.
 */
export function adoptSocket(fd: number): net.Socket {
  // pauseOnCreate is net.Socket's own option (what net.Server's pauseOnConnect uses); not in the typings.
  const options = { fd, readable: true, writable: true, pauseOnCreate: true } as net.SocketConstructorOpts;
  const socket = new net.Socket(options);
  // As every accepted data socket has (data/endpoints.ts): a peer that resets the connection
  // fails the next write with an 'error' event, and one nobody listens to is thrown and takes
  // the whole server down. Transfers learn of it from the socket's close and destroyed state.
  socket.on('error', () => undefined);
  return socket;
}
