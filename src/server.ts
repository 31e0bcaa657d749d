import * as nodePath from 'node:path';
import type { AddressInfo } from 'node:net';
import { WharfEvents } from './core/events.js';
import { silentLogger, type Logger } from './core/logger.js';
import { ALL_PERMISSIONS, READ_ONLY_PERMISSIONS } from './core/permissions.js';
import { LocalStorageCache } from './core/storage/local-cache.js';
import type { StorageBackend } from './core/storage/types.js';
import type { Authenticator, Credentials, User } from './core/users/types.js';
import { StaticUsers, type UserRecord } from './core/users/static.js';
import { loadUsersFile, usersFileVersion } from './core/users/file.js';
import { PassivePortPool, parsePortRange, type PortRange } from './ftp/data/ports.js';
import { createCommandTable } from './ftp/commands/index.js';
import type { FtpContext, FtpLimits, FtpSettings, FtpTimeouts, ListenerTls, ServerState } from './ftp/context.js';
import { FtpListener } from './ftp/listener.js';
import { Defender, type DefenderOptions } from './core/policy/defender.js';
import type { Session } from './ftp/session.js';
import { ServerTls } from './ftp/tls-config.js';
import type { TlsMaterial, TlsOptions } from './core/tls/material.js';

/** One control-connection listener. Several may share a server (e.g. plain 21 + implicit 990). */
export interface ListenerOptions {
  /** Listen address. Default: the server's `host`, else all interfaces (IPv4 and IPv6). */
  host?: string;
  /** Control port; 0 picks a free port. */
  port: number;
  /** 'implicit' is TLS from the first byte (990 by tradition); default 'explicit' when TLS is configured, else 'none'. */
  tls?: ListenerTls;
  /** Passive range for this listener (default: the server's). */
  passivePorts?: PortRange | string;
  /** Address announced in PASV replies for this listener (default: the server's). */
  passiveAddress?: string;
}

export interface WharfOptions {
  /** Folder served by default (anonymous users, users without a home). Default: current folder. */
  root?: string;
  /** Listen address. Default: all interfaces, IPv4 and IPv6 (`::`). */
  host?: string;
  /** Control port. Default 2121 (use 21 when the process may bind it). 0 picks a free port. */
  port?: number;
  /** Several listeners instead of `host`/`port` (each may have its own TLS mode and passive settings). */
  listeners?: ListenerOptions[];
  /** Inline accounts. A password may be plain or a `$scrypt$` hash from `wharf passwd`. */
  users?: UserRecord[];
  /** JSON users file with scrypt hashes, homes and permissions (re-read when it changes). */
  usersFile?: string;
  /** Read-only anonymous access (`anonymous`/`ftp`, any password). Default: on when no user is configured. */
  anonymous?: boolean;
  /** Named users without their own permissions may change files. Default false (read-only). */
  write?: boolean;
  /** Replace the built-in user sources entirely. */
  authenticator?: Authenticator;
  /** Storage for a user; default: the local folder `user.home`. */
  storage?: (user: User) => StorageBackend;
  /** Passive port range, `{min,max}` or "50000-50100". Default: any free port. */
  passivePorts?: PortRange | string;
  /** Address announced in PASV replies (the public IP behind NAT). */
  passiveAddress?: string;
  /** Allow active mode (PORT/EPRT). Default true. */
  activeMode?: boolean;
  /** Source port of active data connections (20 by tradition). Default: any. */
  activeSourcePort?: number;
  /** Upload to a temporary name, rename on success. Default false. */
  atomicUploads?: boolean;
  /** fsync uploads before answering 226. Default false. */
  fsync?: boolean;
  greeting?: string;
  /** Longest accepted command line in bytes. Default 8192. */
  maxLineLength?: number;
  timeouts?: Partial<FtpTimeouts>;
  limits?: Partial<FtpLimits>;
  /**
   * FTPS. `true`: a self-signed certificate, created once in `stateDir` (its SHA-256
   * fingerprint is in `tlsCertificate`). Or PEM files / text (see TlsOptions). Listeners then
   * offer AUTH TLS (explicit FTPS) unless their own `tls` says otherwise.
   */
  tls?: TlsOptions | true;
  /** A second listener on this port that is TLS from the first byte (implicit FTPS, 990 by tradition). Implies `tls`. */
  implicitPort?: number;
  /** Refuse login before AUTH TLS (530) and transfers without PROT P (521). Needs `tls`. Default false. */
  requireTls?: boolean;
  /**
   * Data connections must resume the control connection's TLS session, proving the data peer
   * is the control peer (as vsftpd, ProFTPD and FileZilla Server require). Default true;
   * false serves clients that cannot resume (CLI: --no-tls-session-reuse).
   */
  tlsSessionReuse?: boolean;
  /** Where generated keys and certificates are kept. Default `$XDG_STATE_HOME/wharf` or `~/.local/state/wharf`; never inside the served folder. */
  stateDir?: string;
  /** Failed-login delays and bans (see core/policy/defender.ts). Base delay default: `timeouts.failedLoginDelayMs`. */
  defender?: DefenderOptions;
  /** How long `close()` (and SIGTERM/SIGINT in the CLI) lets running transfers finish. Default 10 000 ms. */
  shutdownGraceMs?: number;
  logger?: Logger;
}

export interface ListeningAddress {
  host: string;
  port: number;
  family: string;
}

export const DEFAULT_PORT = 2121;

const DEFAULT_TIMEOUTS: FtpTimeouts = { loginMs: 30_000, idleMs: 300_000, dataConnectMs: 30_000, dataStallMs: 300_000, failedLoginDelayMs: 1000 };
/**
 * maxCommandsPerSecond: a client that waits for each reply cannot go much past one command
 * per loopback round trip, and a fast one storing 4 KB files one after another over
 * loopback sends 3 000-6 000 commands a second (PASV, STOR, PASV, RETR, DELE). 1 000/s cut
 * such a client off after its 2 000-command burst; none of the peers (vsftpd, ProFTPD,
 * Pure-FTPd, pyftpdlib) limits the rate at all. 10 000/s still stops a pipelined flood
 * within its 20 000-command burst.
 */
const DEFAULT_LIMITS: FtpLimits = { maxConnections: 5000, maxConnectionsPerIp: 500, maxQueuedCommands: 64, maxCommandsPerSecond: 10_000 };

/** A users file that is re-read when its mtime or size changes (checked at most once a second). */
class ReloadingUsersFile implements Authenticator {
  private version: string;
  private checkedAt = 0;

  constructor(
    private readonly path: string,
    private readonly users: StaticUsers,
    /** Inline users, kept across reloads. */
    private readonly extra: readonly UserRecord[],
    private readonly log: Logger,
  ) {
    this.version = usersFileVersion(path);
  }

  authenticate(credentials: Credentials): Promise<User | null> {
    if (Date.now() - this.checkedAt > 1000) {
      this.checkedAt = Date.now();
      // One stat(2) of a local file takes microseconds: synchronous, like LocalStorage's
      // metadata calls, instead of a thread-pool round trip in the latency of a login.
      const version = usersFileVersion(this.path);
      if (version !== this.version) this.reload(version);
    }
    return this.users.authenticate(credentials);
  }

  reload(version = usersFileVersion(this.path)): void {
    try {
      this.users.replace([...loadUsersFile(this.path), ...this.extra]);
      this.version = version;
      this.log.info({ file: this.path, users: this.users.size }, 'users file loaded');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'users file not reloaded; keeping the previous users');
    }
  }
}

function buildAuthenticator(options: WharfOptions, root: string, log: Logger): Authenticator {
  if (options.authenticator) return options.authenticator;
  const inline = options.users ?? [];
  const fromFile = options.usersFile ? loadUsersFile(options.usersFile) : [];
  const anonymous = options.anonymous ?? (inline.length === 0 && !options.usersFile);
  const users = new StaticUsers([...fromFile, ...inline], {
    root,
    defaultPermissions: options.write ? ALL_PERMISSIONS : READ_ONLY_PERMISSIONS,
    anonymous,
  });
  if (!options.usersFile) return users;
  return new ReloadingUsersFile(options.usersFile, users, inline, log);
}

/**
 * A Wharf server: FTP over one listener (FTPS and SFTP join later), sharing users, storage,
 * policy and events. Nothing here is global: several servers can live in one process.
 */
export class WharfServer {
  readonly events = new WharfEvents();
  readonly options: Readonly<WharfOptions>;
  /** Failed-login scoring and bans, shared by every listener (and later SFTP). */
  readonly defender: Defender;
  private readonly state: ServerState = { closing: false };
  private readonly sessions = new Set<Session>();
  private readonly listeners: Array<{ spec: ListenerOptions; listener: FtpListener; ctx: FtpContext }> = [];
  private bound: ListeningAddress[] = [];
  private readonly tls: ServerTls | undefined;

  constructor(options: WharfOptions = {}) {
    this.options = options;
    const root = nodePath.resolve(options.root ?? '.');
    const log = options.logger ?? silentLogger;
    const authenticator = buildAuthenticator(options, root, log);
    const commands = createCommandTable();
    this.defender = new Defender(
      { baseDelayMs: options.timeouts?.failedLoginDelayMs ?? DEFAULT_TIMEOUTS.failedLoginDelayMs, ...options.defender },
      this.events,
      log,
    );
    // A ban also ends the address's other sessions that have not logged in (parallel guessers).
    this.events.on('security:ban', ({ ip }) => {
      for (const s of this.sessions) if (s.remoteIp === ip && !s.loggedIn) void s.end(421, 'Too many failed logins from your address; try again later');
    });
    const localStorages = new LocalStorageCache();
    const storageFor = options.storage ?? ((user: User) => user.storage ?? localStorages.get(user.home));
    const specs: ListenerOptions[] = options.listeners?.length
      ? [...options.listeners]
      : [{ ...(options.host !== undefined ? { host: options.host } : {}), port: options.port ?? DEFAULT_PORT }];
    if (options.implicitPort !== undefined) specs.push({ ...(options.host !== undefined ? { host: options.host } : {}), port: options.implicitPort, tls: 'implicit' });
    const defaultTls: ListenerTls = options.tls ? 'explicit' : 'none';
    this.tls = ServerTls.create(options, specs.map((spec) => spec.tls ?? defaultTls), root);
    for (const spec of specs) {
      const passiveAddress = spec.passiveAddress ?? options.passiveAddress;
      const settings: FtpSettings = {
        greeting: options.greeting ?? 'Wharf FTP server ready',
        maxLineLength: options.maxLineLength ?? 8192,
        ...(passiveAddress ? { passiveAddress } : {}),
        ...(options.activeSourcePort ? { activeSourcePort: options.activeSourcePort } : {}),
        activeEnabled: options.activeMode ?? true,
        atomicUploads: options.atomicUploads ?? false,
        fsync: options.fsync ?? false,
        timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
        limits: { ...DEFAULT_LIMITS, ...options.limits },
      };
      const rangeInput = spec.passivePorts ?? options.passivePorts;
      const range = typeof rangeInput === 'string' ? parsePortRange(rangeInput) : rangeInput;
      const ctx: FtpContext = {
        settings,
        tls: spec.tls ?? defaultTls,
        authenticator,
        events: this.events,
        log,
        ports: new PassivePortPool(range),
        commands,
        sessions: this.sessions,
        storageFor,
        state: this.state,
        defender: this.defender,
      };
      const ftps = this.tls?.engineFor(ctx.tls);
      if (ftps) ctx.ftps = ftps;
      this.listeners.push({ spec, listener: new FtpListener(ctx), ctx });
    }
  }

  on: WharfEvents['on'] = (...args) => this.events.on(...args);
  off: WharfEvents['off'] = (...args) => this.events.off(...args);
  once: WharfEvents['once'] = (...args) => this.events.once(...args);

  /** Starts every listener; resolves with the first bound address (useful with port 0). */
  async listen(): Promise<ListeningAddress> {
    this.bound = [];
    for (const { spec, listener } of this.listeners) {
      const host = spec.host ?? this.options.host;
      let info: AddressInfo;
      if (host !== undefined) info = await listener.listen(host, spec.port);
      else {
        try {
          info = await listener.listen('::', spec.port);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
          info = await listener.listen('0.0.0.0', spec.port);
        }
      }
      this.bound.push({ host: info.address, port: info.port, family: info.family });
    }
    return this.bound[0]!;
  }

  /** The first listener's address (undefined before listen). */
  address(): ListeningAddress | undefined {
    return this.bound[0];
  }

  /** Every listener's address, in the order given. */
  addresses(): ListeningAddress[] {
    return [...this.bound];
  }

  /** The certificate new TLS handshakes present (undefined without FTPS); `fingerprint256` is what users pin. */
  get tlsCertificate(): TlsMaterial | undefined {
    return this.tls?.material;
  }

  /**
   * Re-reads the TLS certificate and key (the CLI calls this on SIGHUP). New handshakes use
   * them; open sessions and their data connections carry on. Throws, keeping the old
   * certificate, when the new files are unusable.
   */
  reloadTls(): TlsMaterial {
    if (!this.tls) throw new Error('TLS is not configured');
    return this.tls.reload();
  }

  /** Open sessions right now. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Passive listeners open right now. */
  get passiveListeners(): number {
    return this.listeners.reduce((n, l) => n + l.ctx.ports.listenersOpen, 0);
  }

  /**
   * Stops accepting, lets running transfers finish for up to `graceMs`, then says 421 to
   * every session and closes it.
   */
  async close({ graceMs = this.options.shutdownGraceMs ?? 10_000 }: { graceMs?: number } = {}): Promise<void> {
    this.state.closing = true;
    const stopped = Promise.all(this.listeners.map((l) => l.listener.close()));
    const sessions = [...this.sessions];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, graceMs);
    });
    // Each session is closed as soon as it has nothing running (idle ones at once, so they
    // cannot start new transfers); a transfer still running at the deadline is aborted and
    // answers 426 before the 421.
    await Promise.all(
      sessions.map(async (s) => {
        await Promise.race([s.settle(), deadline]);
        if (s.transfer) {
          s.transfer.abortedBy = 'shutdown';
          s.transfer.abort();
          await Promise.race([s.settle(), new Promise<void>((r) => setTimeout(r, 2000).unref())]);
        }
        await s.end(421, 'Server shutting down');
      }),
    );
    clearTimeout(timer);
    await stopped;
  }
}

export function createServer(options: WharfOptions = {}): WharfServer {
  return new WharfServer(options);
}
