import { createWriteStream, type WriteStream } from 'node:fs';
import type { WharfEventMap, WharfEvents } from './events.js';

type TransferEvent = WharfEventMap['file:upload'][0] | WharfEventMap['file:download'][0];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** ctime(3) in local time, as wu-ftpd writes it: `Sat Nov  1 19:48:46 2026` (day padded with a space). */
export function ctime(date: Date): string {
  return `${DAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${date.getFullYear()}`;
}

/**
 * One xferlog line (the wu-ftpd format that ProFTPD, vsftpd and Pure-FTPd also write, and
 * that log analysers read):
 *
 *   current-time transfer-time remote-host file-size filename transfer-type
 *   special-action direction access-mode username service auth-method auth-user-id status
 *
 * Fields are space-separated, so whitespace and control characters in file and user names
 * become '_' (what ProFTPD does) to keep every line at exactly 18 fields.
 */
export function xferlogLine(
  e: TransferEvent,
  direction: 'i' | 'o',
  anonymous: boolean,
  at: Date = new Date(),
  transferType: 'a' | 'b' = 'b',
): string {
  const safe = (s: string) => s.replace(/[\s\x00-\x1f\x7f]/g, '_') || '_';
  const seconds = Math.max(0, Math.round(e.durationMs / 1000));
  return [
    ctime(at),
    seconds,
    e.ip,
    e.bytes,
    safe(e.path),
    transferType,
    '_',
    direction,
    anonymous ? 'a' : 'r',
    safe(e.user),
    e.protocol === 'sftp' ? 'sftp' : 'ftp',
    '0',
    '*',
    e.ok ? 'c' : 'i',
  ].join(' ');
}

/**
 * Appends an xferlog line for every finished upload and download. The file is opened in
 * append mode; `reopen()` (on SIGHUP) lets logrotate move it away.
 */
export class XferLog {
  private stream: WriteStream;
  /** Which sessions logged in anonymously (access-mode 'a'), forgotten when they close. */
  private readonly anonymousSessions = new Set<string>();
  private readonly detach: () => void;

  constructor(
    private readonly path: string,
    events: WharfEvents,
  ) {
    this.stream = this.open();
    const onLogin = (e: WharfEventMap['login:ok'][0]) => {
      if (e.anonymous) this.anonymousSessions.add(e.sessionId);
    };
    const onClose = (e: WharfEventMap['session:close'][0]) => this.anonymousSessions.delete(e.sessionId);
    const onUpload = (e: WharfEventMap['file:upload'][0]) => this.append(e, 'i');
    const onDownload = (e: WharfEventMap['file:download'][0]) => this.append(e, 'o');
    events.on('login:ok', onLogin);
    events.on('session:close', onClose);
    events.on('file:upload', onUpload);
    events.on('file:download', onDownload);
    this.detach = () => {
      events.off('login:ok', onLogin);
      events.off('session:close', onClose);
      events.off('file:upload', onUpload);
      events.off('file:download', onDownload);
    };
  }

  private open(): WriteStream {
    const stream = createWriteStream(this.path, { flags: 'a', mode: 0o640 });
    // A log that cannot be written must not take the server down; the error is reported once.
    stream.on('error', (err) => process.emitWarning(`xferlog ${this.path}: ${err.message}`));
    return stream;
  }

  private append(e: TransferEvent, direction: 'i' | 'o'): void {
    this.stream.write(xferlogLine(e, direction, this.anonymousSessions.has(e.sessionId)) + '\n');
  }

  /** Opens the file again under its name (after logrotate renamed it). */
  reopen(): void {
    const old = this.stream;
    this.stream = this.open();
    old.end();
  }

  /** Stops listening and flushes what is buffered. */
  close(): Promise<void> {
    this.detach();
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
