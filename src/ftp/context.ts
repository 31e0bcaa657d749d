import type { Authenticator, User } from '../core/users/types.js';
import type { StorageBackend } from '../core/storage/types.js';
import type { WharfEvents } from '../core/events.js';
import type { Logger } from '../core/logger.js';
import type { PassivePortPool } from './data/ports.js';
import type { Defender } from '../core/policy/defender.js';
import type { Session } from './session.js';
import type { FtpTls } from './tls.js';
import type { CommandTable } from './registry.js';

export interface FtpTimeouts {
  /** Pre-login sessions are closed after this long. */
  loginMs: number;
  /** Logged-in sessions idle (no command, no transfer) this long are closed. */
  idleMs: number;
  /** Waiting for a passive peer or an active connect. */
  dataConnectMs: number;
  /** A running transfer that moves no byte this long is aborted (426); 0: never; under 3 s acts as 3 s (data/stall-watch.ts). */
  dataStallMs: number;
  /** Delay before answering a failed PASS. */
  failedLoginDelayMs: number;
}

export interface FtpLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Commands waiting behind a transfer before the control socket stops being read. */
  maxQueuedCommands: number;
  /** Commands per second one session may send, sustained (bursts of twice that); beyond: 421 and close. 0: unlimited. */
  maxCommandsPerSecond: number;
}

/** Settings of one FTP listener, fully resolved (no optionals to re-default at run time). */
export interface FtpSettings {
  greeting: string;
  maxLineLength: number;
  passiveAddress?: string;
  /** Server side port for active connections (20 by tradition); undefined lets the OS choose. */
  activeSourcePort?: number;
  /** Allow PORT/EPRT at all. */
  activeEnabled: boolean;
  atomicUploads: boolean;
  fsync: boolean;
  timeouts: FtpTimeouts;
  limits: FtpLimits;
}

/** Server-wide mutable state shared by all listeners. */
export interface ServerState {
  /** Shutting down: refuse new connections, logins and transfers. */
  closing: boolean;
}

/** How a listener secures its control connection. */
export type ListenerTls = 'none' | 'explicit' | 'implicit';

/**
 * What every session of one listener shares. Owned by createServer; no global state.
 * `sessions`, `authenticator`, `events` and `state` are the same objects for every listener
 * of a server; `settings`, `ports` and `tls` are the listener's own.
 */
export interface FtpContext {
  settings: FtpSettings;
  /** This listener's TLS mode ('none' until FTPS is configured). */
  tls: ListenerTls;
  /** This listener's FTPS engine (secure context, session cache, policy); set when `tls` is not 'none'. */
  ftps?: FtpTls;
  authenticator: Authenticator;
  events: WharfEvents;
  log: Logger;
  ports: PassivePortPool;
  commands: CommandTable;
  sessions: Set<Session>;
  storageFor(user: User): StorageBackend;
  state: ServerState;
  /** Failed-login scoring and bans, shared by every listener of the server. */
  defender: Defender;
}
