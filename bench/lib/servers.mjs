// How each server under test is configured and started. Settings are made equivalent on
// purpose: one account, one writable root, a passive range, loopback only, no connection cap,
// no per-command logging, no DNS look-ups.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { BENCH_DIR, NODE_PEERS, PEER_LIBS, UNPACKED } from './setup.mjs';

const REPO = path.resolve(BENCH_DIR, '..');

function pkgVersion(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function unpackedVersion(prefix) {
  const dir = path.join(UNPACKED, '..', 'debs');
  if (!existsSync(dir)) return undefined;
  const f = spawnSync('ls', [dir], { encoding: 'utf8' }).stdout.split('\n').find((n) => n.startsWith(prefix + '_'));
  return f?.split('_')[1];
}

/** Waits until the server greets on its control port (the probes use it too). */
export async function waitForGreeting(port, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.setTimeout(1000);
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('220'));
      });
      s.once('error', () => resolve(false));
      s.once('timeout', () => {
        s.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`no 220 greeting on port ${port} within ${ms} ms`);
}

function launch(name, cmd, args, env, logFile) {
  const out = logFile ? ['ignore', 'ignore', 'pipe'] : 'ignore';
  const child = spawn(cmd, args, { stdio: out, env: { ...process.env, ...env }, detached: false });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    if (stderr.length < 4000) stderr += d;
  });
  child.on('exit', (code, signal) => {
    if (!child.stopping) process.stderr.write(`[${name}] exited early (code ${code}, signal ${signal})${stderr ? ': ' + stderr.trim().slice(-400) : ''}\n`);
  });
  return child;
}

function stopper(child) {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.stopping = true;
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 3000).unref();
    });
}

async function started(name, child, port) {
  await Promise.race([
    waitForGreeting(port),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${name} exited with code ${code} before greeting`)))),
  ]);
  return { pid: child.pid, stop: stopper(child) };
}

/**
 * @typedef {{ port: number, pasv: { min: number, max: number }, root: string, user: string, pass: string, work: string, workers?: number, tls?: { cert: string, key: string },
 *   main?: string, nodeArgs?: string[], vars?: Record<string, string> }} ServerEnv
 * `main`, `nodeArgs` and `vars` (environment for the process) are Wharf's only: probes use them for A/B runs.
 */

/**
 * A probe's server spec: a server name, optionally `@/path/to/dist/src/cli/main.js` (another
 * Wharf build) and `?VAR=value&...` (environment for that server's process).
 */
export function parseServerSpec(spec) {
  const [base, query = ''] = spec.split('?');
  const [name, main] = base.split('@');
  return { name, main, vars: Object.fromEntries(new URLSearchParams(query)) };
}
// A server with `tls: true` offers explicit FTPS (AUTH TLS, beside plain FTP) when env.tls is
// set; the others show "n/a" in the FTPS rows.

export const SERVERS = [
  {
    name: 'wharf',
    label: 'Wharf',
    tls: true,
    available: () => existsSync(path.join(REPO, 'dist/src/cli/main.js')),
    version: () => {
      const v = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
      const rev = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).stdout.trim();
      return rev ? `${v} (${rev})` : v;
    },
    /** @param {ServerEnv} env */
    async start(env) {
      const main = env.main ?? path.join(REPO, 'dist/src/cli/main.js'); // probes compare other builds
      const usersFile = path.join(env.work, 'wharf-users.json');
      if (!existsSync(usersFile)) {
        const hash = execFileSync(process.execPath, [main, 'passwd', env.pass], { encoding: 'utf8' }).trim();
        writeFileSync(usersFile, JSON.stringify({ users: [{ name: env.user, password: hash }] }, null, 2));
      }
      const args = [main, 'serve', env.root, '--host', '127.0.0.1', '--port', String(env.port), '--users-file', usersFile, '--write'];
      args.push('--pasv-ports', `${env.pasv.min}-${env.pasv.max}`, '--max-connections', '100000', '--max-connections-per-ip', '100000', '--log-level', 'error');
      if (env.workers && env.workers > 1) args.push('--workers', String(env.workers));
      if (env.tls) args.push('--tls-cert', env.tls.cert, '--tls-key', env.tls.key);
      const child = launch('wharf', process.execPath, [...(env.nodeArgs ?? []), ...args], env.vars ?? {}, true);
      return started('wharf', child, env.port);
    },
  },
  {
    name: 'pyftpdlib',
    label: 'pyftpdlib',
    tls: true, // servers/pyftpd.py lets curl's early data-connection handshake through
    available: () => existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import pyftpdlib']).status === 0,
    version: () => pkgVersion('python3-pyftpdlib'),
    async start(env) {
      const child = launch('pyftpdlib', '/usr/bin/python3', [
        path.join(BENCH_DIR, 'servers/pyftpd.py'),
        String(env.port),
        env.root,
        env.user,
        env.pass,
        String(env.pasv.min),
        String(env.pasv.max),
        ...(env.tls ? [env.tls.cert, env.tls.key] : []),
      ], {}, true);
      return started('pyftpdlib', child, env.port);
    },
  },
  {
    name: 'vsftpd',
    label: 'vsftpd',
    tls: true,
    available: () => existsSync('/usr/sbin/vsftpd'),
    version: () => pkgVersion('vsftpd'),
    async start(env) {
      mkdirSync('/var/run/vsftpd/empty', { recursive: true });
      const conf = path.join(env.work, 'vsftpd.conf');
      writeFileSync(
        conf,
        [
          'listen=YES',
          'listen_ipv6=NO',
          'listen_address=127.0.0.1',
          `listen_port=${env.port}`,
          'background=NO',
          'anonymous_enable=NO',
          'local_enable=YES',
          'write_enable=YES',
          'local_umask=022',
          'pasv_enable=YES',
          `pasv_min_port=${env.pasv.min}`,
          `pasv_max_port=${env.pasv.max}`,
          'max_clients=0',
          'max_per_ip=0',
          'seccomp_sandbox=NO',
          'pam_service_name=vsftpd',
          'secure_chroot_dir=/var/run/vsftpd/empty',
          'xferlog_enable=NO',
          'dirmessage_enable=NO',
          'connect_from_port_20=NO',
          'idle_session_timeout=600',
          'data_connection_timeout=600',
          'accept_timeout=60',
          // FTPS offered, not required (plain rows use the same daemon). require_ssl_reuse
          // stays at its default YES: curl resumes the control session on data connections.
          ...(env.tls
            ? ['ssl_enable=YES', `rsa_cert_file=${env.tls.cert}`, `rsa_private_key_file=${env.tls.key}`, 'force_local_logins_ssl=NO', 'force_local_data_ssl=NO', 'ssl_tlsv1=YES']
            : []),
          '',
        ].join('\n'),
      );
      const child = launch('vsftpd', '/usr/sbin/vsftpd', [conf], {}, true);
      return started('vsftpd', child, env.port);
    },
  },
  {
    name: 'proftpd',
    label: 'ProFTPD',
    tls: true, // mod_tls, from the unpacked proftpd-mod-crypto
    available: () => existsSync(path.join(UNPACKED, 'usr/sbin/proftpd')),
    version: () => unpackedVersion('proftpd-core'),
    async start(env) {
      const dir = path.join(env.work, 'proftpd');
      mkdirSync(dir, { recursive: true });
      const conf = path.join(dir, 'proftpd.conf');
      const modules = path.join(UNPACKED, 'usr/lib/proftpd');
      const withTls = env.tls && existsSync(path.join(modules, 'mod_tls.so'));
      if (env.tls && !withTls) process.stderr.write('[proftpd] no mod_tls.so (proftpd-mod-crypto not unpacked: run the bench as root once): FTPS off\n');
      writeFileSync(
        conf,
        [
          'ServerName "bench"',
          'ServerType standalone',
          'DefaultServer on',
          `Port ${env.port}`,
          'DefaultAddress 127.0.0.1',
          'SocketBindTight on',
          'UseIPv6 off',
          'User nobody',
          'Group nogroup',
          'MaxInstances 100000',
          `PassivePorts ${env.pasv.min} ${env.pasv.max}`,
          'AuthOrder mod_auth_unix.c',
          'AuthPAM off',
          'RequireValidShell off',
          'UseReverseDNS off',
          'WtmpLog off',
          'TransferLog none',
          `ScoreboardFile ${dir}/scoreboard`,
          `PidFile ${dir}/proftpd.pid`,
          `SystemLog ${dir}/system.log`,
          `DelayTable ${dir}/delay.tab`,
          'AllowOverwrite on',
          'Umask 022',
          'TimeoutIdle 600',
          'TimeoutNoTransfer 600',
          // FTPS offered, not required (plain rows use the same daemon). The binary looks for
          // modules in /usr/lib/proftpd, hence ModulePath (LoadModule is mod_dso's, built in;
          // ModuleControlsACLs only governs ftpdctl's insmod/rmmod and is not needed). No
          // NoSessionReuseRequired: mod_tls's default requires a data connection to resume the
          // control connection's TLS session, which curl does (as vsftpd's require_ssl_reuse).
          // No TLSLog (off by default), as no other log is kept.
          ...(withTls
            ? [
                `ModulePath ${modules}`,
                'LoadModule mod_tls.c',
                'TLSEngine on',
                'TLSProtocol TLSv1.2 TLSv1.3',
                `TLSECCertificateFile ${env.tls.cert}`,
                `TLSECCertificateKeyFile ${env.tls.key}`,
                'TLSRequired off',
                'TLSVerifyClient off',
              ]
            : []),
          '',
        ].join('\n'),
      );
      const child = launch('proftpd', path.join(UNPACKED, 'usr/sbin/proftpd'), ['-n', '-q', '-c', conf], { LD_LIBRARY_PATH: PEER_LIBS }, true);
      return started('proftpd', child, env.port);
    },
  },
  {
    name: 'pureftpd',
    label: 'Pure-FTPd',
    tls: true,
    available: () => existsSync(path.join(UNPACKED, 'usr/sbin/pure-ftpd')),
    version: () => unpackedVersion('pure-ftpd'),
    async start(env) {
      // -l unix: system accounts; -E: no anonymous; -H: no DNS; -c/-C: connection caps out
      // of the way; -p: passive range; -u 1: allow the system account's uid.
      const args = ['-S', `127.0.0.1,${env.port}`, '-l', 'unix', '-E', '-H', '-c', '20000', '-C', '20000', '-p', `${env.pasv.min}:${env.pasv.max}`, '-u', '1', '-I', '10'];
      // -Y 1: FTPS offered beside plain FTP; -2: the bench's certificate and key.
      if (env.tls) args.push('-Y', '1', '-2', `${env.tls.cert},${env.tls.key}`);
      const child = launch('pureftpd', path.join(UNPACKED, 'usr/sbin/pure-ftpd'), args, { LD_LIBRARY_PATH: PEER_LIBS }, true);
      return started('pureftpd', child, env.port);
    },
  },
  {
    name: 'ftpsrv',
    label: 'ftp-srv',
    tls: true, // servers/ftpsrv.mjs passes env.tls as ftp-srv's `tls` option
    available: () => existsSync(path.join(NODE_PEERS, 'node_modules/ftp-srv/package.json')),
    version: () => JSON.parse(readFileSync(path.join(NODE_PEERS, 'node_modules/ftp-srv/package.json'), 'utf8')).version,
    async start(env) {
      const child = launch('ftpsrv', process.execPath, [path.join(BENCH_DIR, 'servers/ftpsrv.mjs'), JSON.stringify({ ...env, modules: path.join(NODE_PEERS, 'node_modules') })], {}, true);
      return started('ftpsrv', child, env.port);
    },
  },
];
