import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { FLAGS, configKey, envName } from '../../src/cli/flags.js';
import { tempDir } from '../helpers/server.js';
import { CLI, REPO, cleanEnv } from './cli.js';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** The ```sh blocks of a doc, in order. */
export function shellBlocks(doc: string): string[] {
  return [...readFileSync(join(REPO, doc), 'utf8').matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/**
 * Runs a doc's ```sh blocks as one bash script, as a reader would type them: `wharf` is the
 * CLI; `wharf serve` lines run in the background until the script ends (the script waits
 * for their banner first); /tmp/wharf-demo and the documented ports are swapped for a temp
 * folder and free ports so the test cannot collide with anything.
 */
async function runDoc(doc: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const dir = await tempDir();
  const ports: Record<string, number> = { '2121': await freePort(), '9021': await freePort() };
  const body = shellBlocks(doc)
    .join('\n')
    .replace(/\/tmp\/wharf-demo/g, dir)
    .replace(/\b(2121|9021)\b/g, (p) => String(ports[p]))
    .split('\n')
    .map((line) => (/^wharf serve /.test(line) ? `N=$((N+1)); ${line.replace(/^wharf /, 'node "$CLI" ')} > "$DIR/serve.$N.log" 2>&1 & PIDS+=($!); wait_banner "$DIR/serve.$N.log"` : line))
    .join('\n');
  const script = `set -euo pipefail
CLI=${JSON.stringify(CLI)}; DIR=${JSON.stringify(dir)}; N=0; PIDS=()
wharf() { node "$CLI" "$@"; }
cleanup() { for p in "\${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_banner() { for _ in $(seq 100); do grep -q 'Press Ctrl+C' "$1" && return 0; sleep 0.1; done; cat "$1" >&2; return 1; }
${body}
`;
  const r = spawnSync('bash', ['-c', script], { cwd: REPO, env: cleanEnv(), encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('docs/configuration.md: every sh block runs as written', async () => {
  const r = await runDoc('docs/configuration.md');
  assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /wharf\.example\.toml: OK/);
  assert.match(r.stdout, /wharf\.toml: OK/);
  assert.match(r.stdout, /added cam2 to /);
  assert.match(r.stdout, /^cam2\s+cam2\s+\(default\)/m);
  assert.match(r.stdout, /^wharf_sessions 0$/m, 'the documented curl reached /metrics');
  assert.match(r.stdout, /"status":"ok"/);
});

test('docs/configuration.md: the key table is generated from the flag table and lists every flag', () => {
  const doc = readFileSync(join(REPO, 'docs/configuration.md'), 'utf8');
  for (const spec of FLAGS) {
    assert.ok(doc.includes(`\`${configKey(spec)}\``) && doc.includes(envName(spec)) && doc.includes(`--${spec.flag}`), `docs/configuration.md does not document --${spec.flag}; run \`npm run build && node scripts/config-doc.mjs\``);
  }
  const check = spawnSync(process.execPath, [join(REPO, 'scripts/config-doc.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stderr);
});

test('docs/api.md: the documented example run works as written', async () => {
  const r = await runDoc('docs/api.md');
  assert.equal(r.status, 0, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /Wharf listening on ftp:\/\/127\.0\.0\.1:\d+\/ \(alice \/ wonderland\)/);
  assert.match(r.stdout, /alice logged in from 127\.0\.0\.1/, 'curl logged in and listed');
});

test('deploy/wharf.service: systemd accepts the unit; it binds low ports without root', () => {
  const unit = readFileSync(join(REPO, 'deploy/wharf.service'), 'utf8');
  for (const line of ['AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'NoNewPrivileges=yes', 'User=wharf', 'ProtectSystem=strict']) {
    assert.ok(unit.includes(`\n${line}\n`), `missing ${line}`);
  }
  assert.match(unit, /^ExecStart=\/usr\/local\/bin\/wharf serve --config \/etc\/wharf\/wharf\.toml$/m);
  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' });
  if (which.status !== 0) return; // no systemd tools here: the static checks above still ran
  const dir = join(REPO, 'dist', 'deploy-check');
  spawnSync('mkdir', ['-p', dir]);
  // verify insists that ExecStart exists on this machine; point it at node for the check.
  const copy = join(dir, 'wharf.service');
  spawnSync('sh', ['-c', `sed "s#/usr/local/bin/wharf#${process.execPath}#" "$1" > "$2"`, 'sh', join(REPO, 'deploy/wharf.service'), copy]);
  const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.equal(verify.stderr.trim(), '', verify.stderr);
});

test('deploy/Dockerfile: every file it copies exists (the image itself is not built here)', () => {
  const dockerfile = readFileSync(join(REPO, 'deploy/Dockerfile'), 'utf8');
  const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
  assert.ok(copies.length >= 5);
  for (const path of copies) assert.ok(existsSync(join(REPO, path)), `Dockerfile copies ${path}, which does not exist`);
  assert.match(dockerfile, /^USER node$/m);
});
