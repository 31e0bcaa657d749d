import * as net from 'node:net';
import * as tls from 'node:tls';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, tempDir, type TestServer } from '../helpers/server.js';
import { ReplyReader, type Reply } from '../helpers/raw.js';
import { run } from '../helpers/run.js';

export type { Reply };
import type { WharfOptions } from '../../src/index.js';

export interface FtpsTestServer extends TestServer {
  /** Folder holding the generated self-signed certificate (outside the served root). */
  stateDir: string;
  /** The PEM file of the certificate, for clients that verify (curl --cacert). */
  certFile: string;
  /** Implicit listener port, when asked for. */
  implicitPort?: number;
}

/** A real Wharf with FTPS (self-signed certificate in a temp state folder) on 127.0.0.1. */
export async function startFtpsServer(options: WharfOptions & { implicit?: boolean } = {}): Promise<FtpsTestServer> {
  const stateDir = await tempDir('wharf-state-');
  const { implicit, ...rest } = options;
  const server = await startServer({ tls: true, stateDir, ...(implicit ? { implicitPort: 0 } : {}), ...rest });
  const addresses = server.server.addresses();
  const cert = server.server.tlsCertificate!;
  return {
    ...server,
    stateDir,
    certFile: cert.certPath ?? join(stateDir, 'tls/self-signed-cert.pem'),
    ...(implicit ? { implicitPort: addresses[addresses.length - 1]!.port } : {}),
    async close() {
      await server.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * A raw FTP control client that can switch to TLS (AUTH TLS) or start in it (implicit), for
 * tests that must see exact replies.
 */
export class TlsRawClient {
  private readonly reader = new ReplyReader();
  socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.listen(socket);
  }

  private listen(socket: net.Socket): void {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.reader.push(d));
    socket.on('error', () => undefined);
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<TlsRawClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(s));
      s.once('error', reject);
    });
    return new TlsRawClient(socket);
  }

  static async connectImplicit(port: number, options: tls.ConnectionOptions = {}): Promise<TlsRawClient> {
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...options }, () => resolve(s));
      s.once('error', reject);
    });
    return new TlsRawClient(socket);
  }

  read(timeoutMs = 5000): Promise<Reply> {
    return this.reader.read(timeoutMs);
  }

  write(raw: string): void {
    this.socket.write(raw);
  }

  async send(line: string, timeoutMs = 5000): Promise<Reply> {
    this.socket.write(line + '\r\n');
    return this.read(timeoutMs);
  }

  /** Connects, then AUTH TLS, login, PBSZ 0 and PROT P: ready for protected transfers. */
  static async protectedSession(port: number): Promise<TlsRawClient> {
    const c = await TlsRawClient.connect(port);
    await c.read();
    await c.startTls();
    await c.login();
    await c.send('PBSZ 0');
    await c.send('PROT P');
    return c;
  }

  /** Sends AUTH TLS and, on 234, runs the TLS handshake on the control connection. */
  async startTls(options: tls.ConnectionOptions = {}): Promise<Reply> {
    const reply = await this.send('AUTH TLS');
    if (reply.code !== 234) return reply;
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secured = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, rejectUnauthorized: false, ...options }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secured;
    this.listen(secured);
    return reply;
  }

  get tlsSession(): Buffer | undefined {
    return (this.socket as tls.TLSSocket).getSession?.();
  }

  async login(user = 'alice', password = 'wonderland'): Promise<Reply> {
    const r = await this.send(`USER ${user}`);
    if (r.code !== 331) return r;
    return this.send(`PASS ${password}`);
  }

  /** EPSV, then a data connection: plain, or TLS (optionally resuming `session`). */
  async openData(secure: false | { session?: Buffer; maxVersion?: tls.SecureVersion }): Promise<net.Socket> {
    const r = await this.send('EPSV');
    const m = /\(\|\|\|(\d+)\|\)/.exec(r.text);
    if (r.code !== 229 || !m) throw new Error(`EPSV answered ${r.text}`);
    const port = Number(m[1]);
    if (!secure) {
      return new Promise((resolve, reject) => {
        const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
        s.once('error', reject);
      });
    }
    // Resolved on TCP connect: the handshake runs while the transfer command is sent.
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...(secure.session ? { session: secure.session } : {}), ...(secure.maxVersion ? { maxVersion: secure.maxVersion } : {}) });
    s.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      s.once('connect', () => resolve());
      s.once('error', reject);
    });
    return s;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Everything a data socket delivers until it ends (or closes). */
export function collect(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('end', () => resolve(Buffer.concat(parts)));
    socket.on('close', () => resolve(Buffer.concat(parts)));
    socket.on('error', () => undefined);
  });
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a real client with a hard time limit (helpers/run.ts), stdout as text. */
export async function runProcess(command: string, args: readonly string[], { timeoutMs = 15_000, input = '' }: { timeoutMs?: number; input?: string } = {}): Promise<ProcessResult> {
  const r = await run(command, args, { timeoutMs, input, env: { HOME: process.env.HOME ?? '/tmp' } });
  return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr, timedOut: r.timedOut };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Python ftplib FTP_TLS; with `reuse`, data connections resume the control session (NODE-NOTES.md). */
export const PYTHON_FTPS = String.raw`
import ftplib, ssl, sys, json
port, reuse, maxver = int(sys.argv[1]), sys.argv[2] == '1', sys.argv[3]
class ReusingFTP_TLS(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if maxver == '1.2':
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
f = (ReusingFTP_TLS if reuse else ftplib.FTP_TLS)(context=ctx, timeout=10)
f.connect('127.0.0.1', port)
f.login('alice', 'wonderland')
f.prot_p()
out = {'version': f.sock.version()}
try:
    out['names'] = sorted(f.nlst())
except ftplib.all_errors as e:
    out['error'] = str(e)
    if not str(e)[:3].isdigit():
        # The data socket failed first; the server's verdict is the next control reply.
        try:
            out['error'] = f.getresp()
        except ftplib.all_errors as e2:
            out['error'] = str(e2)
try:
    f.quit()
except ftplib.all_errors:
    pass
print(json.dumps(out))
`;
