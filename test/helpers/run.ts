import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface RunResult {
  /** Exit code, or null when killed by a signal (e.g. on timeout). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  /** Kill the process (SIGKILL) after this long. Default 15 s: a test must stay bounded. */
  timeoutMs?: number;
  /** Written to stdin, then stdin is closed (always closed, so no client waits for a prompt). */
  input?: string | Buffer;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a real client and collects its output. Never rejects on a non-zero exit: tests
 * assert on `code`, the output and the files. A process past its time limit is killed.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: options.cwd,
        env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', ...options.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      reject(err as Error);
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    });
  });
}

/** Describes a run for assertion messages. */
export function describeRun(what: string, r: RunResult): string {
  return `${what} exited ${r.code ?? r.signal}${r.timedOut ? ' (killed: timed out)' : ''}\nstdout: ${r.stdout.toString('utf8').slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
}

/**
 * Fails loudly when a client binary is missing: interop tests must never skip silently.
 * CI installs the clients through .ci/run.
 */
export function requireBinary(name: string, debianPackage = name): void {
  const found = spawnSync('sh', ['-c', `command -v "$1"`, 'sh', name], { encoding: 'utf8' });
  if (found.status !== 0) {
    throw new Error(`the "${name}" client is not installed: install the Debian package "${debianPackage}" (.ci/run does this) to run the interop tests`);
  }
}
