// ftp-srv as a benchmark peer, loaded from bench/.peers/node (never a Wharf dependency).
import { createRequire } from 'node:module';
import * as path from 'node:path';

const env = JSON.parse(process.argv[2]);
const require = createRequire(path.join(env.modules, 'noop.js'));
const { FtpSrv } = require('ftp-srv');
const bunyan = require('bunyan');

const server = new FtpSrv({
  url: `ftp://127.0.0.1:${env.port}`,
  pasv_url: '127.0.0.1',
  pasv_min: env.pasv.min,
  pasv_max: env.pasv.max,
  anonymous: false,
  greeting: 'ftp-srv ready',
  log: bunyan.createLogger({ name: 'ftp-srv', level: 'fatal' }),
});
server.on('login', ({ username, password }, resolve, reject) => {
  if (username === env.user && password === env.pass) resolve({ root: env.root });
  else reject(new Error('Login incorrect'));
});
server.on('client-error', () => undefined);
await server.listen();
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
