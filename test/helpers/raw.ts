import * as net from 'node:net';

export interface Reply {
  code: number;
  /** All lines of the reply, CRLF removed. */
  lines: string[];
  text: string;
}

/**
 * Parses a stream of FTP replies per RFC 959: a multi-line reply runs from `NNN-` to the
 * first line starting `NNN ` with the same code. Replies wait in order until read.
 */
export class ReplyReader {
  private buffer = '';
  private pendingLines: string[] = [];
  private replies: Reply[] = [];
  private waiters: Array<(r: Reply) => void> = [];

  push(chunk: string): void {
    this.buffer += chunk;
    let i: number;
    while ((i = this.buffer.indexOf('\r\n')) >= 0) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      this.pendingLines.push(line);
      const m = /^(\d{3})([ -])/.exec(this.pendingLines[0]!);
      if (!m) {
        this.pendingLines = [];
        continue;
      }
      if (m[2] === ' ' || (this.pendingLines.length > 1 && line.startsWith(m[1]! + ' '))) {
        const reply = { code: Number(m[1]), lines: this.pendingLines, text: this.pendingLines.join('\n') };
        this.pendingLines = [];
        const w = this.waiters.shift();
        if (w) w(reply);
        else this.replies.push(reply);
      }
    }
  }

  /** The next reply (waits up to `timeoutMs`). */
  read(timeoutMs = 5000): Promise<Reply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (r: Reply) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.waiters.push(waiter);
    });
  }
}

/**
 * A raw control-connection client for tests that must see exact replies: it sends bytes
 * as given and parses replies with ReplyReader.
 */
export class RawClient {
  private readonly reader = new ReplyReader();
  private closedFlag = false;
  private closeWaiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => this.reader.push(d));
    socket.on('close', () => {
      this.closedFlag = true;
      for (const w of this.closeWaiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** The next reply (waits up to `timeoutMs`). */
  read(timeoutMs = 5000): Promise<Reply> {
    return this.reader.read(timeoutMs);
  }

  /** Sends raw bytes (string as latin1, or a Buffer). */
  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Sends one command (UTF-8, CRLF added) and returns its reply. */
  async send(line: string, timeoutMs = 5000): Promise<Reply> {
    this.socket.write(Buffer.concat([Buffer.from(line, 'utf8'), Buffer.from('\r\n')]));
    return this.read(timeoutMs);
  }

  async login(user: string, password: string): Promise<Reply> {
    const r1 = await this.send(`USER ${user}`);
    if (r1.code !== 331) throw new Error(`USER answered ${r1.text}`);
    return this.send(`PASS ${password}`);
  }

  /** Sends EPSV and connects to the announced port; returns the data socket. */
  async passive(localAddress?: string): Promise<net.Socket> {
    const r = await this.send('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (r.code !== 229 || !m) throw new Error(`EPSV answered ${r.text}`);
    return connectData(Number(m[1]), localAddress);
  }

  whenClosed(timeoutMs = 5000): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('connection still open')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export function connectData(port: number, localAddress?: string, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, ...(localAddress ? { localAddress } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Collects everything a data socket sends until it closes. */
export function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('end', () => resolve(Buffer.concat(parts)));
    socket.on('error', reject);
  });
}

/** Resolves when the socket closed, rejects after `ms` (the server kept the connection open). */
export function closedWithin(socket: net.Socket, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(() => reject(new Error('the server did not close the data connection')), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
