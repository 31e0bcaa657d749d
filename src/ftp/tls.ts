import * as tls from 'node:tls';
import type * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { TlsMaterial } from '../core/tls/material.js';
import { serverCipherPreference } from '../core/tls/cipher-order.js';
import type { Session } from './session.js';
import { EngineTls } from './engine-tls.js';

/** What one listener's FTPS does, fully resolved. */
export interface FtpTlsSettings {
  /** Refuse login before AUTH TLS and transfers without PROT P. */
  requireTls: boolean;
  /** Data connections must resume the control connection's TLS session (default true). */
  sessionReuse: boolean;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
}

/** The option that relaxes session-reuse enforcement, named in the refusal so users find it. */
export const SESSION_REUSE_OPTION = '--no-tls-session-reuse';

/** A data connection that did not resume the control connection's TLS session. */
export class TlsSessionReuseError extends Error {
  override readonly name = 'TlsSessionReuseError';
  constructor() {
    super(`TLS session reuse required: the data connection did not resume the control connection's TLS session (the server can allow this with ${SESSION_REUSE_OPTION})`);
  }
}

/** Sessions kept for resumption: bounded, oldest dropped first, refreshed when used. */
class SessionCache {
  private readonly entries = new Map<string, { data: Buffer; at: number }>();
  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  /** Every live session's data (to carry them into a new engine context). */
  *sessions(): Iterable<Buffer> {
    const now = Date.now();
    for (const entry of this.entries.values()) if (now - entry.at <= this.ttlMs) yield entry.data;
  }

  set(id: Buffer, data: Buffer): void {
    const key = id.toString('hex');
    this.entries.delete(key);
    this.entries.set(key, { data, at: Date.now() });
    while (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  get(id: Buffer): Buffer | undefined {
    const key = id.toString('hex');
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (Date.now() - entry.at > this.ttlMs) return undefined;
    this.entries.set(key, entry);
    return entry.data;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * How long a TLS session stays resumable. A client may sit on one control connection for
 * hours and then transfer: its data connections must still be able to resume the session
 * made at AUTH time, so this is long (OpenSSL's default of 300 s would refuse them).
 */
const SESSION_LIFETIME_S = 24 * 3600;
const SESSION_CACHE_MAX = 20_000;

function connectionKey(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

interface PendingHandshake {
  resolve(socket: tls.TLSSocket): void;
  reject(err: Error): void;
}

/**
 * FTPS for one listener: one secure context (swapped on reload), one session cache and one
 * set of ticket keys, used to upgrade both the control socket (AUTH TLS, implicit) and every
 * data socket, so that data connections can resume the control session under TLS 1.2
 * (session IDs or tickets) and TLS 1.3 (tickets).
 *
 * Sockets are handed to an unlistened tls.Server with `emit('connection')`; its
 * `secureConnection` / `tlsClientError` events are matched back to the raw socket by the
 * TCP 4-tuple, which is unique while both are open.
 */
export class FtpTls {
  readonly settings: FtpTlsSettings;
  private readonly server: tls.Server;
  private readonly ticketKeys = randomBytes(48);
  private readonly sessionIdContext = randomBytes(16).toString('hex');
  private readonly cache = new SessionCache(SESSION_CACHE_MAX, SESSION_LIFETIME_S * 1000);
  private readonly pending = new Map<string, PendingHandshake>();
  private current: TlsMaterial;
  /** Data connections' TLS on the transfer engine's thread, when the native module has it. */
  private readonly engine: EngineTls | undefined;

  constructor(material: TlsMaterial, settings: FtpTlsSettings) {
    this.settings = settings;
    this.current = material;
    const options = this.contextOptions(material);
    this.server = tls.createServer({ ...options, handshakeTimeout: 0 });
    this.engine = EngineTls.create(material, {
      ticketKeys: this.ticketKeys,
      sessionIdContext: this.sessionIdContext,
      minVersion: settings.minVersion,
      ciphers: options.ciphers!,
      secureOptions: options.secureOptions!,
      honorCipherOrder: options.honorCipherOrder === true,
    });
    this.server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      this.cache.set(id, data);
      this.engine?.addSession(data);
      done();
    });
    this.server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, this.cache.get(id) ?? null);
    });
    this.server.on('secureConnection', (socket: tls.TLSSocket) => {
      const key = connectionKey(socket);
      const waiter = this.pending.get(key);
      if (!waiter) return void socket.destroy();
      this.pending.delete(key);
      waiter.resolve(socket);
    });
    this.server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      const key = connectionKey(socket);
      const waiter = this.pending.get(key);
      socket.destroy();
      if (!waiter) return;
      this.pending.delete(key);
      waiter.reject(new Error(`TLS handshake failed: ${describeTlsError(err)}`));
    });
  }

  /** The certificate new handshakes present. */
  get material(): TlsMaterial {
    return this.current;
  }

  /** Sessions cached for resumption (for tests and metrics). */
  get cachedSessions(): number {
    return this.cache.size;
  }

  /**
   * Swaps in a new certificate for new handshakes. Established connections keep theirs, and
   * the ticket keys and session cache stay, so a live session's data connections still resume.
   */
  setMaterial(material: TlsMaterial): void {
    this.server.setSecureContext(this.contextOptions(material));
    this.engine?.setMaterial(material, this.cache.sessions());
    this.current = material;
  }

  private contextOptions(material: TlsMaterial): tls.TlsOptions {
    return {
      cert: material.cert,
      key: material.key,
      minVersion: this.settings.minVersion,
      maxVersion: 'TLSv1.3',
      ...serverCipherPreference(),
      ticketKeys: this.ticketKeys,
      sessionTimeout: SESSION_LIFETIME_S,
      sessionIdContext: this.sessionIdContext,
    };
  }

  /** Runs the server side of a TLS handshake on `raw`; rejects on failure, close or timeout. */
  upgrade(raw: net.Socket, timeoutMs: number): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const key = connectionKey(raw);
      if (raw.destroyed || this.pending.has(key)) return reject(new Error('connection closed before the TLS handshake'));
      const finish = (err: Error | undefined, socket?: tls.TLSSocket) => {
        clearTimeout(timer);
        raw.off('close', onClose);
        if (this.pending.get(key) === waiter) this.pending.delete(key);
        if (err) {
          raw.destroy();
          reject(err);
        } else resolve(socket!);
      };
      const waiter: PendingHandshake = { resolve: (s) => finish(undefined, s), reject: (e) => finish(e) };
      const onClose = () => finish(new Error('connection closed during the TLS handshake'));
      const timer = setTimeout(() => finish(new Error('TLS handshake timed out')), timeoutMs);
      timer.unref();
      raw.once('close', onClose);
      this.pending.set(key, waiter);
      this.server.emit('connection', raw);
    });
  }

  /**
   * Secures a data connection (PROT P). With session reuse enforced, a handshake that did
   * not resume a session of this listener is refused: together with the data-peer IP check
   * that is what proves the data peer is the control peer (as vsftpd, ProFTPD and FileZilla
   * Server require).
   */
  async secureData(raw: net.Socket, timeoutMs: number): Promise<net.Socket> {
    const viaEngine = this.engine?.secure(raw, timeoutMs);
    if (viaEngine) {
      const { socket, resumed } = await viaEngine;
      if (this.settings.sessionReuse && !resumed) {
        socket.destroy();
        throw new TlsSessionReuseError();
      }
      return socket;
    }
    const socket = await this.upgrade(raw, timeoutMs);
    if (this.settings.sessionReuse && !socket.isSessionReused()) {
      socket.destroy();
      throw new TlsSessionReuseError();
    }
    socket.on('error', () => undefined); // errors surface through the transfer's own listeners
    return socket;
  }
}

/**
 * OpenSSL's reason without the library noise: Node puts it in `reason` ("http request");
 * otherwise the field after the function name in "...:SSL routines:ssl3_get_record:http
 * request:../deps/...", or after "::" in OpenSSL 3's short form.
 */
function describeTlsError(err: Error): string {
  const given = (err as { reason?: unknown }).reason;
  if (typeof given === 'string' && given.trim()) return given.trim();
  const reason = /SSL routines:[^:]*:([^:]+)/.exec(err.message)?.[1];
  return (reason ?? err.message).trim();
}

/**
 * Marks a session's control connection as secured by `ftps` and lets PROT P data
 * connections be secured by the same listener context. Implicit FTPS behaves as if AUTH
 * TLS, PBSZ 0 and PROT P had been sent.
 */
export function secureSession(session: Session, ftps: FtpTls, implicit: boolean): void {
  session.secure = true;
  if (implicit) {
    session.pbszSet = true;
    session.protectData = true;
  }
  // One handshake per data socket: a passive endpoint may start it on arrival (PROT P) and
  // the transfer then awaits the same promise.
  const handshakes = new WeakMap<net.Socket, Promise<net.Socket>>();
  session.secureDataSocket = (raw) => {
    let handshake = handshakes.get(raw);
    if (!handshake) {
      handshake = ftps.secureData(raw, session.ctx.settings.timeouts.dataConnectMs);
      handshakes.set(raw, handshake);
    }
    return handshake;
  };
}

/**
 * `--require-tls` and per-user `requireTls`, checked by the dispatcher before a handler runs
 * (PROTOCOL.md §6): commands not marked `beforeTls` need AUTH TLS first (530), and transfers
 * need PROT P (521; the pending data endpoint is closed). Returns the refusal, if any.
 */
export function tlsPolicyRefusal(session: Session, spec: { name: string; beforeTls?: boolean; transfer?: boolean }): { code: number; text: string } | undefined {
  const serverRequires = session.ctx.ftps?.settings.requireTls === true;
  if (serverRequires && !session.secure && !spec.beforeTls) {
    return { code: 530, text: `TLS required: send AUTH TLS before ${spec.name === 'USER' || spec.name === 'PASS' ? 'logging in' : spec.name}` };
  }
  if (spec.transfer && !session.protectData && (serverRequires || session.user?.requireTls === true)) {
    session.closeDataEndpoint();
    return { code: 521, text: 'Data connections must be protected: send PBSZ 0 and PROT P first' };
  }
  return undefined;
}
