import { EventEmitter } from 'node:events';

export type Protocol = 'ftp' | 'ftps' | 'sftp';

export interface SessionInfo {
  sessionId: string;
  ip: string;
  protocol: Protocol;
}

/** Every event a Wharf server emits, with its payload. */
export interface WharfEventMap {
  'session:open': [SessionInfo];
  'session:close': [SessionInfo & { user?: string; durationMs: number }];
  'login:ok': [SessionInfo & { user: string; anonymous: boolean }];
  'login:failed': [SessionInfo & { user: string; reason: 'bad-credentials' | 'tls-required' | 'banned' }];
  'file:upload': [SessionInfo & { user: string; path: string; bytes: number; durationMs: number; ok: boolean; mode: 'store' | 'append' | 'unique' }];
  'file:download': [SessionInfo & { user: string; path: string; bytes: number; durationMs: number; ok: boolean }];
  'file:delete': [SessionInfo & { user: string; path: string }];
  'file:rename': [SessionInfo & { user: string; from: string; to: string }];
  'dir:create': [SessionInfo & { user: string; path: string }];
  'dir:remove': [SessionInfo & { user: string; path: string }];
  'security:ban': [{ ip: string; untilMs: number; failures: number }];
  'security:refused': [{ ip: string; reason: 'banned' | 'max-connections' | 'max-connections-per-ip' | 'foreign-data-peer' | 'bounce' }];
}

export type WharfEventName = keyof WharfEventMap;

/** A typed EventEmitter: `on('file:upload', (e) => e.bytes)` is checked by the compiler. */
export class WharfEvents extends EventEmitter<WharfEventMap> {}
