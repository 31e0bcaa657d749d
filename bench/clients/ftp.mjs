// A minimal raw-socket FTP client for the benchmarks: passive mode only, binary only, no
// parsing beyond what the workloads need. It is deliberately thin so that the client is
// never the bottleneck when 200 of them run in one process. With `tls`, it speaks explicit
// FTPS as curl does: AUTH TLS, PBSZ 0 + PROT P after login, and every data connection
// encrypted, resuming the control connection's TLS session (vsftpd and ProFTPD require that).
import * as net from 'node:net';
import * as tls from 'node:tls';

/** Where downloads are read to and forgotten (one per process: reads are synchronous). */
const DISCARD = Buffer.allocUnsafe(1024 * 1024);

const PASV_RE = /\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/;

export class FtpError extends Error {}

export class FtpClient {
  /** @param {net.Socket} socket */
  constructor(socket, localAddress) {
    this.localAddress = localAddress;
    this.buffer = '';
    this.current = null; // lines of a multi-line reply in progress
    this.replies = [];
    this.waiters = [];
    this.closedError = null;
    /** Set once the control connection is TLS: data connections are encrypted and resume `session`. */
    this.tls = false;
    this.session = undefined;
    this.attach(socket);
  }

  /** Reads replies from `socket` (the plain one, then the TLS one after AUTH TLS). */
  attach(socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    socket.on('data', (text) => this.onData(text));
    const onGone = (err) => {
      if (this.socket !== socket) return; // the plain socket under TLS: the TLS socket reports
      this.closedError ??= err ?? new FtpError('control connection closed');
      for (const w of this.waiters.splice(0)) w.reject(this.closedError);
    };
    socket.on('error', onGone);
    socket.on('close', () => onGone());
  }

  /** Connects and waits for the greeting; with `tls`, also AUTH TLS and the handshake. */
  static async connect({ host = '127.0.0.1', port, localAddress, tls: secure = false }) {
    const client = await new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      const client = new FtpClient(socket, localAddress);
      socket.once('error', reject);
      client
        .read()
        .then((greeting) => {
          socket.off('error', reject);
          if (greeting.code !== 220) throw new FtpError(`greeting ${greeting.code} ${greeting.text}`);
          resolve(client);
        })
        .catch(reject);
    });
    if (secure) await client.startTls();
    return client;
  }

  /** AUTH TLS, then the handshake on the control connection (the bench certificate is self-signed). */
  async startTls() {
    await this.expect('AUTH TLS', 234);
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tls.connect({ socket: plain, rejectUnauthorized: false });
    secure.on('session', (session) => (this.session = session));
    await new Promise((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.attach(secure);
    this.tls = true;
  }

  /** After login on a TLS control connection: encrypted data connections (PBSZ 0, PROT P). */
  async protectData() {
    await this.expect('PBSZ 0', 200);
    await this.expect('PROT P', 200);
  }

  onData(text) {
    this.buffer += text;
    let nl;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      const code = Number(line.slice(0, 3));
      if (this.current) {
        this.current.lines.push(line);
        if (line.length >= 4 && line[3] === ' ' && Number(line.slice(0, 3)) === this.current.code) this.deliver();
      } else if (line[3] === '-') {
        this.current = { code, lines: [line] };
      } else if (!Number.isNaN(code) && line.length >= 3) {
        this.current = { code, lines: [line] };
        this.deliver();
      }
    }
  }

  deliver() {
    const reply = { code: this.current.code, text: this.current.lines.join('\n') };
    this.current = null;
    const w = this.waiters.shift();
    if (w) w.resolve(reply);
    else this.replies.push(reply);
  }

  /** The next reply. */
  read() {
    if (this.replies.length) return Promise.resolve(this.replies.shift());
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  send(line) {
    this.socket.write(line + '\r\n');
    return this.read();
  }

  async expect(line, ...codes) {
    const reply = await this.send(line);
    if (!codes.includes(reply.code)) throw new FtpError(`${line.split(' ')[0]}: ${reply.text}`);
    return reply;
  }

  async login(user, pass) {
    await this.expect(`USER ${user}`, 331);
    await this.expect(`PASS ${pass}`, 230);
  }

  /**
   * PASV, then connects the data socket (before the transfer command, like most clients).
   * `onread` ({ buffer, callback }) reads into a caller's buffer instead of a new Buffer per
   * chunk, so a download costs the client little CPU per byte.
   */
  async openData(onread) {
    const reply = await this.expect('PASV', 227);
    const m = PASV_RE.exec(reply.text);
    if (!m) throw new FtpError(`unparsable PASV reply: ${reply.text}`);
    const host = `${m[1]}.${m[2]}.${m[3]}.${m[4]}`;
    const port = Number(m[5]) * 256 + Number(m[6]);
    return new Promise((resolve, reject) => {
      const data = net.connect({ host, port, ...(this.localAddress ? { localAddress: this.localAddress } : {}), ...(onread && !this.tls ? { onread } : {}) });
      data.once('connect', () => {
        data.off('error', reject);
        // The handshake runs while the transfer command is sent (as curl does): some servers
        // answer it only once they have the command, so waiting for it here would deadlock.
        resolve(this.tls ? tls.connect({ socket: data, session: this.session, rejectUnauthorized: false }) : data);
      });
      data.once('error', reject);
    });
  }

  /** Sends a transfer command, waits for 150/125 then the final reply. */
  async transferReplies(line, dataDone) {
    const first = await this.send(line);
    if (first.code !== 150 && first.code !== 125) {
      throw new FtpError(`${line.split(' ')[0]}: ${first.text}`);
    }
    const [final] = await Promise.all([this.read(), dataDone]);
    if (final.code !== 226 && final.code !== 250) throw new FtpError(`${line.split(' ')[0]}: ${final.text}`);
  }

  /** Downloads and discards; resolves with the byte count. */
  async retr(path) {
    let bytes = 0;
    // A tight reader: every download in this process reads into one reused buffer (the bytes
    // are discarded), so the client is not what limits many concurrent downloads.
    const data = await this.openData({ buffer: DISCARD, callback: (n) => void (bytes += n) });
    if (this.tls) data.on('data', (chunk) => void (bytes += chunk.length)); // TLS sockets have no onread
    data.resume();
    const done = new Promise((resolve, reject) => {
      data.once('end', resolve);
      data.once('error', reject);
    });
    await this.transferReplies(`RETR ${path}`, done);
    return bytes;
  }

  /** Uploads `payload` (a Buffer), sending it `times` times. */
  async stor(path, payload, times = 1) {
    const data = await this.openData();
    const done = new Promise((resolve, reject) => {
      data.once('close', resolve);
      data.once('error', reject);
    });
    const first = this.send(`STOR ${path}`);
    const writeAll = async () => {
      for (let i = 0; i < times; i++) {
        if (!data.write(payload)) await new Promise((r) => data.once('drain', r));
      }
      data.end();
    };
    const reply = await first;
    if (reply.code !== 150 && reply.code !== 125) {
      data.destroy();
      throw new FtpError(`STOR: ${reply.text}`);
    }
    await writeAll();
    const [final] = await Promise.all([this.read(), done]);
    if (final.code !== 226 && final.code !== 250) throw new FtpError(`STOR: ${final.text}`);
  }

  /** LIST / MLSD / NLST; resolves with the number of lines received. */
  async listing(verb, path = '') {
    const data = await this.openData();
    let lines = 0;
    data.on('data', (chunk) => {
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === 10) lines++;
    });
    const done = new Promise((resolve, reject) => {
      data.once('end', resolve);
      data.once('error', reject);
    });
    await this.transferReplies(path ? `${verb} ${path}` : verb, done);
    return lines;
  }

  async quit() {
    try {
      this.socket.write('QUIT\r\n');
    } catch {
      // already gone
    }
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 500).unref();
  }

  destroy() {
    this.socket.destroy();
  }
}

/** Client i's source address: spreads clients over 127.0.0.2-251 so no per-IP cap or port range is hit. */
export function sourceAddress(i) {
  return `127.0.0.${2 + (i % 250)}`;
}
