// Installs what the benchmark needs, idempotently: Debian daemons (vsftpd as a package,
// ProFTPD and Pure-FTPd unpacked beside it because the three conflict as packages),
// pyftpdlib, curl, a system account the C daemons can authenticate, and ftp-srv from npm in
// its own folder (never a Wharf dependency).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, writeFileSync, writeSync, chmodSync, chownSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import * as path from 'node:path';

export const BENCH_DIR = path.resolve(new URL('..', import.meta.url).pathname);
export const PEERS_DIR = path.join(BENCH_DIR, '.peers');
export const UNPACKED = path.join(PEERS_DIR, 'root');
export const PEER_LIBS = path.join(UNPACKED, 'usr/lib/x86_64-linux-gnu');
export const NODE_PEERS = path.join(PEERS_DIR, 'node');
export const SYSTEM_USER = 'wharfbench';

// python3-openssl: pyftpdlib's TLS_FTPHandler (the FTPS rows) needs pyOpenSSL.
const APT_PACKAGES = ['vsftpd', 'python3-pyftpdlib', 'python3-openssl', 'curl', 'openssl'];
// Unpacked with dpkg -x: they conflict with vsftpd as packages. ProFTPD needs a few libraries
// that are not on a minimal Debian.
const UNPACKED_PACKAGES = ['proftpd-core', 'pure-ftpd', 'libhiredis0.14', 'libmemcached11', 'libmemcachedutil2', 'libhashkit2', 'libpcre2-posix3', 'libsodium23'];

const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
}

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

let aptUpdated = false;
function aptUpdate() {
  if (aptUpdated) return;
  log('apt-get update');
  run('apt-get', ['update', '-qq']);
  aptUpdated = true;
}

/** Daemons installed from packages must not start as services (NODE-NOTES: policy-rc.d). */
function denyServiceStarts() {
  const file = '/usr/sbin/policy-rc.d';
  if (existsSync(file)) return;
  writeFileSync(file, '#!/bin/sh\nexit 101\n');
  chmodSync(file, 0o755);
}

function ensureApt() {
  const missing = APT_PACKAGES.filter((p) => !installed(p));
  if (!missing.length) return;
  denyServiceStarts();
  aptUpdate();
  log(`apt-get install ${missing.join(' ')}`);
  run('apt-get', ['install', '-y', '-qq', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function ensureUnpacked() {
  const marker = path.join(UNPACKED, '.complete');
  if (existsSync(marker)) return;
  const debs = path.join(PEERS_DIR, 'debs');
  mkdirSync(debs, { recursive: true });
  aptUpdate();
  log(`apt-get download ${UNPACKED_PACKAGES.join(' ')}`);
  run('apt-get', ['download', ...UNPACKED_PACKAGES], { cwd: debs });
  mkdirSync(UNPACKED, { recursive: true });
  for (const f of readdirSync(debs)) if (f.endsWith('.deb')) run('dpkg', ['-x', path.join(debs, f), UNPACKED]);
  writeFileSync(marker, new Date().toISOString() + '\n');
}

function ensureFtpSrv() {
  if (existsSync(path.join(NODE_PEERS, 'node_modules/ftp-srv/package.json'))) return;
  mkdirSync(NODE_PEERS, { recursive: true });
  writeFileSync(path.join(NODE_PEERS, 'package.json'), JSON.stringify({ name: 'wharf-bench-peers', private: true }, null, 2) + '\n');
  log('npm install ftp-srv (into bench/.peers/node, not a Wharf dependency)');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'ftp-srv@4'], { cwd: NODE_PEERS });
}

/** A system account for the daemons that authenticate against /etc/shadow. */
export function ensureSystemUser(home, password) {
  const exists = spawnSync('id', [SYSTEM_USER]).status === 0;
  if (!exists) run('useradd', ['--system', '--no-create-home', '--home-dir', home, '--shell', '/bin/bash', SYSTEM_USER]);
  else run('usermod', ['--home', home, SYSTEM_USER]);
  execFileSync('chpasswd', { input: `${SYSTEM_USER}:${password}\n` });
  const uid = Number(run('id', ['-u', SYSTEM_USER]).trim());
  const gid = Number(run('id', ['-g', SYSTEM_USER]).trim());
  return { uid, gid };
}

/** Returns the names of peers that could not be installed (they are skipped, and said so). */
export function setupPeers() {
  const problems = [];
  if (process.getuid?.() !== 0) {
    log('not root: using whatever peers are already installed');
    return problems;
  }
  for (const [what, fn] of [
    ['apt', ensureApt],
    ['unpacked', ensureUnpacked],
    ['ftp-srv', ensureFtpSrv],
  ]) {
    try {
      fn();
    } catch (err) {
      problems.push(`${what}: ${(err.stderr || err.message).toString().trim().split('\n').pop()}`);
      log(`could not install ${what}: ${err.message}`);
    }
  }
  return problems;
}

/**
 * One self-signed certificate and key (ECDSA P-256, 30 days, CN=localhost) shared by every
 * server's FTPS, made once per work folder. Readable by all: the C daemons may read it after
 * dropping privileges.
 */
export function ensureTlsPair(work) {
  const cert = path.join(work, 'tls-cert.pem');
  const key = path.join(work, 'tls-key.pem');
  if (!existsSync(cert) || !existsSync(key)) {
    run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30', '-subj', '/CN=localhost', '-keyout', key, '-out', cert]);
    chmodSync(cert, 0o644);
    chmodSync(key, 0o644);
  }
  return { cert, key };
}

/**
 * The served tree: a big file, a medium file, a folder of `sizes.entries` entries (sizes from
 * sizes.mjs). Reused across runs: only what is missing or of the wrong size is made.
 * @param {{ big: number, medium: number, entries: number }} sizes
 * @param {{ uid: number, gid: number }} [owner] the system account the C daemons write as
 */
export function prepareRoot(root, sizes, owner) {
  const MiB = 1024 * 1024;
  const shown = (p) => path.relative(path.resolve(BENCH_DIR, '..'), p);
  mkdirSync(root, { recursive: true });
  const writeFile = (file, size) => {
    if (existsSync(file) && statSync(file).size === size) return;
    process.stderr.write(`creating ${shown(file)} (${size} bytes)\n`);
    const chunk = randomFillSync(Buffer.alloc(MiB));
    const fd = openSync(file, 'w');
    for (let done = 0; done < size; done += MiB) writeSync(fd, chunk, 0, Math.min(MiB, size - done));
    closeSync(fd);
  };
  writeFile(path.join(root, 'big.bin'), sizes.big);
  writeFile(path.join(root, 'medium.bin'), sizes.medium);
  const many = path.join(root, 'many');
  mkdirSync(many, { recursive: true });
  const have = readdirSync(many).length;
  if (have !== sizes.entries) {
    process.stderr.write(`creating ${sizes.entries} entries in ${shown(many)}\n`);
    for (const name of readdirSync(many)) execFileSync('rm', ['-f', path.join(many, name)]);
    for (let i = 0; i < sizes.entries; i++) writeFileSync(path.join(many, `file-${String(i).padStart(5, '0')}.txt`), 'x'.repeat(i % 100));
  }
  // The C daemons act as the system account: it must be able to write the root.
  chmodSync(root, 0o777);
  if (owner) chownSync(root, owner.uid, owner.gid);
}
