import { constants } from 'node:crypto';
import { closeSync } from 'node:fs';
import type * as net from 'node:net';
import { nativeEngine, type NativeEngine, type NativeTlsContext } from '../core/native.js';
import { transferEngine, attachTlsLink, CODE_TLS_FAILED, type EngineTlsLink } from '../core/storage/transfer-engine.js';
import type { TlsMaterial } from '../core/tls/material.js';
import { adoptSocket } from './data/native-data.js';
import { PEER_CLOSE_GRACE_MS } from './data/end-socket.js';

/** What the engine's context must share with Node's so that data connections resume control sessions. */
export interface EngineTlsOptions {
  ticketKeys: Buffer;
  sessionIdContext: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** Node's `ciphers` string: TLS 1.3 suites (TLS_*) and TLS 1.2 ciphers together. */
  ciphers: string;
  secureOptions: number;
  honorCipherOrder: boolean;
}

/** A secured data connection: a plain socket to JavaScript, TLS to the client. */
export interface EngineTlsConnection {
  socket: net.Socket;
  /** The handshake resumed a session (the control connection's, with session reuse enforced). */
  resumed: boolean;
}

/** A raw socket's connection as the engine holds it: its link, and the socket for it once the handshake is done. */
interface HandedOver {
  link: EngineTlsLink;
  secured: net.Socket | undefined;
  /** Its owner closed the connection (closeHandedOver). */
  closed: boolean;
}

/** Raw sockets whose connection the engine took over (destroyed here, alive in the engine). */
const handedOver = new WeakMap<net.Socket, HandedOver>();

/** Whether the engine took over this (destroyed) raw socket's connection: it is still connected. */
export function handedToEngine(raw: net.Socket): boolean {
  return handedOver.has(raw);
}

/**
 * For closing a data connection by its raw socket after the engine took it over: ABOR, a
 * closed session, a new PASV or a refused command close it so, and destroying that socket
 * again does nothing. A handshake still running is cancelled (else a client that finished it
 * later would get an aborted transfer); once it is done, the socket JavaScript got for the
 * connection is returned, for the caller to close as it would have closed the raw one: a
 * handshake starts as soon as a PROT P client connects, so that socket may be one no
 * transfer ever took, and nothing else would ever close it.
 */
export function closeHandedOver(raw: net.Socket): net.Socket | undefined {
  const handed = handedOver.get(raw);
  if (!handed || handed.closed) return undefined;
  handed.closed = true;
  if (!handed.secured) handed.link.cancel();
  return handed.secured;
}

interface HandleWithReading {
  fd?: unknown;
  reading?: unknown;
}

/** The descriptor of a socket nothing has read from yet (its ClientHello is still in the kernel), or undefined. */
function untouchedFd(raw: net.Socket): number | undefined {
  const handle = (raw as unknown as { _handle?: HandleWithReading | null })._handle;
  if (!handle || raw.destroyed || !raw.isPaused() || raw.bytesRead > 0 || raw.readableLength > 0 || handle.reading === true) return undefined;
  return typeof handle.fd === 'number' && Number.isInteger(handle.fd) && handle.fd > 2 ? handle.fd : undefined;
}

/**
 * FTPS data connections terminated by the transfer engine (native/tls-link.c) instead of
 * Node's TLS: the handshake, decryption and encryption run on the engine's thread, and the
 * transfer gets a plain socket, so FTPS transfers take the same native paths as plain ones.
 * One per FtpTls, sharing its certificate, ticket keys, session id context and sessions.
 */
export class EngineTls {
  private context: NativeTlsContext;

  private constructor(
    private readonly io: Required<NativeEngine>,
    private readonly options: EngineTlsOptions,
    material: TlsMaterial,
  ) {
    this.context = this.contextFor(material);
  }

  /** The engine's TLS for these options, or undefined when this build or process cannot (then Node's TLS serves). */
  static create(material: TlsMaterial, options: EngineTlsOptions): EngineTls | undefined {
    const io = nativeEngine;
    if (process.env.WHARF_ENGINE_TLS === 'off' || !transferEngine || !io?.tlsContext || !io.tlsAddSession || !io.engineTls) return undefined;
    try {
      return new EngineTls(io as Required<NativeEngine>, options, material);
    } catch {
      return undefined; // a key format OpenSSL reads only through Node: Node's TLS serves
    }
  }

  private contextFor(material: TlsMaterial): NativeTlsContext {
    const o = this.options;
    const names = o.ciphers.split(':').filter((name) => name.length > 0);
    const suites = names.filter((name) => name.startsWith('TLS_')).join(':');
    const list = names.filter((name) => !name.startsWith('TLS_')).join(':');
    const secureOptions = o.secureOptions | (o.honorCipherOrder ? constants.SSL_OP_CIPHER_SERVER_PREFERENCE : 0);
    const minVersion = o.minVersion === 'TLSv1.3' ? 0x0304 : 0x0303;
    const made = this.io.tlsContext(material.cert, material.key, o.ticketKeys, Buffer.from(o.sessionIdContext), minVersion, list, suites, secureOptions);
    if (typeof made === 'string') throw new Error(`TLS: ${made}`);
    return made;
  }

  /** New handshakes use this certificate; `sessions` (DER) are carried into the new context's cache. */
  setMaterial(material: TlsMaterial, sessions: Iterable<Buffer>): void {
    this.context = this.contextFor(material);
    for (const session of sessions) this.addSession(session);
  }

  /** A session Node's TLS made (its 'newSession'), so that a TLS 1.2 data connection can resume it by id. */
  addSession(session: Buffer): void {
    this.io.tlsAddSession(this.context, session);
  }

  /**
   * Runs the handshake on `raw` in the engine, or returns undefined when it cannot take this
   * socket (Node already read from it, or out of descriptors): Node's TLS serves it then.
   * `raw` is released once the engine holds its own duplicate. Rejects on handshake failure,
   * close or timeout, with Node's wording.
   */
  secure(raw: net.Socket, timeoutMs: number): Promise<EngineTlsConnection> | undefined {
    const fd = untouchedFd(raw);
    const link = fd === undefined ? undefined : transferEngine!.tls(this.context, fd);
    if (!link) return undefined;
    const handed: HandedOver = { link, secured: undefined, closed: false };
    handedOver.set(raw, handed);
    raw.destroy(); // closes Node's descriptor; the connection lives on in the engine's duplicate
    return new Promise((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        link.cancel();
      }, timeoutMs);
      timer.unref();
      void link.handshake.then((resumed) => {
        if (handed.closed) return; // closed meanwhile: the link is cancelled, and its end cleans up below
        clearTimeout(timer);
        handed.secured = adopt(link);
        resolve({ socket: handed.secured, resumed });
      });
      void link.ended.then((end) => {
        if (handed.secured) return;
        handedOver.delete(raw); // the connection is gone: a transfer waiting for it now sees it closed
        clearTimeout(timer);
        closeSync(link.plainFd);
        if (end.code === CODE_TLS_FAILED) reject(new Error(`TLS handshake failed: ${end.reason ?? 'unknown reason'}`));
        else reject(new Error(timedOut ? 'TLS handshake timed out' : 'connection closed during the TLS handshake'));
      });
    });
  }
}

/**
 * The transfer's socket for a link. A destroyed socket (ABOR, a failure, a refused session)
 * stops the link at once, without close_notify, as destroying a TLSSocket does; a socket
 * that ended cleanly leaves the link time to finish its own ending (close_notify both ways).
 */
function adopt(link: EngineTlsLink): net.Socket {
  const socket = adoptSocket(link.plainFd);
  attachTlsLink(socket, link);
  socket.once('close', () => {
    if (!socket.writableFinished) return link.cancel();
    const timer = setTimeout(() => link.cancel(), PEER_CLOSE_GRACE_MS);
    timer.unref();
    void link.ended.then(() => clearTimeout(timer));
  });
  return socket;
}
