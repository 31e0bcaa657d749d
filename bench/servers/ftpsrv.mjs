// ftp-srv as a benchmark peer, loaded from bench/.peers/node (never a Wharf dependency).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const env = JSON.parse(process.argv[2]);
const require = createRequire(path.join(env.modules, 'noop.js'));
const { FtpSrv } = require('ftp-srv');
const bunyan = require('bunyan');
const tls = require('node:tls');

if (env.tls) {
  // ftp-srv 4.6.3's AUTH TLS writes its 234 and wraps the control socket in TLS only after
  // the write callback and a bluebird turn (setImmediate): a ClientHello that arrives in
  // between (curl sends it at once) is read as a command, the plaintext reply breaks curl's
  // handshake ("wrong version number", about 1 connection in 15 here). The same handler, but
  // the reply is written and the socket wrapped in one tick, so nothing is read in between.
  // Only the upgrade's timing changes; transfers are ftp-srv's own.
  const auth = require('ftp-srv/src/commands/registration/auth.js');
  auth.handler = function ({ command } = {}) {
    if (String(command.arg ?? '').toUpperCase() !== 'TLS') return this.reply(504);
    if (!this.server.options.tls) return this.reply(502);
    if (this.secure) return this.reply(202);
    const plain = this.commandSocket;
    plain.write('234 Honored\r\n');
    const secureSocket = new tls.TLSSocket(plain, { isServer: true, secureContext: tls.createSecureContext(this.server.options.tls) });
    for (const event of ['data', 'timeout', 'end', 'close', 'drain', 'error']) secureSocket.on(event, (...args) => plain.emit(event, ...args));
    this.commandSocket = secureSocket;
    this.secure = true;
    return Promise.resolve();
  };
}

const server = new FtpSrv({
  url: `ftp://127.0.0.1:${env.port}`,
  pasv_url: '127.0.0.1',
  pasv_min: env.pasv.min,
  pasv_max: env.pasv.max,
  anonymous: false,
  greeting: 'ftp-srv ready',
  // With an ftp:// url, `tls` offers explicit FTPS (AUTH TLS) beside plain FTP.
  tls: env.tls ? { key: readFileSync(env.tls.key), cert: readFileSync(env.tls.cert) } : false,
  log: bunyan.createLogger({ name: 'ftp-srv', level: 'fatal' }),
});
server.on('login', ({ username, password }, resolve, reject) => {
  if (username === env.user && password === env.pass) resolve({ root: env.root });
  else reject(new Error('Login incorrect'));
});
server.on('client-error', () => undefined);
await server.listen();
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
