import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (tests run from dist/test/...). */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI = join(REPO, 'dist/src/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `wharf ARGS` to completion (bounded), feeding `input` on stdin. */
export function wharf(args: string[], { input, env, cwd }: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: cwd ?? REPO, env: { ...cleanEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** The environment without WHARF_* variables, so the developer's shell cannot change results. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WHARF_')));
}

export interface RunningServe {
  child: ChildProcess;
  /** The FTP port from the start-up banner. */
  port: number;
  /** Everything written to stderr so far. */
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `wharf serve ARGS` and waits for its banner (the first "ftp://HOST:PORT/"). */
export function serve(args: string[], { env, cwd }: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunningServe> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: cwd ?? REPO, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let done = false;
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const timer = setTimeout(() => finish(new Error(`no banner within 10 s:\n${err}`)), 10_000);
    const finish = (error?: Error, port?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) {
        child.kill('SIGKILL');
        return reject(error);
      }
      resolve({
        child,
        port: port!,
        stderr: () => err,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    };
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /ftp:\/\/[^\s/]+:(\d+)\//.exec(err);
      if (m && /Press Ctrl\+C/.test(err)) finish(undefined, Number(m[1]));
    });
    child.on('close', (code) => finish(new Error(`wharf serve exited with ${code}:\n${err}`)));
  });
}
