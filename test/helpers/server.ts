import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type WharfOptions, type WharfServer } from '../../src/index.js';

export interface TestServer {
  server: WharfServer;
  port: number;
  host: string;
  /** The served folder (a fresh temp dir unless `root` was given). */
  root: string;
  close(): Promise<void>;
}

export const TEST_USER = 'alice';
export const TEST_PASSWORD = 'wonderland';

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix = 'wharf-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Starts a real Wharf on 127.0.0.1 and a free port, with user alice/wonderland (all
 * permissions) over a fresh temp folder, unless options say otherwise.
 */
export async function startServer(options: WharfOptions = {}): Promise<TestServer> {
  const ownRoot = options.root === undefined;
  const root = options.root ?? (await tempDir());
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    users: [{ name: TEST_USER, password: TEST_PASSWORD }],
    write: true,
    ...options,
    root,
    timeouts: { failedLoginDelayMs: 50, dataConnectMs: 5000, ...options.timeouts },
  });
  const address = await server.listen();
  return {
    server,
    port: address.port,
    host: '127.0.0.1',
    root,
    async close() {
      await server.close({ graceMs: 1000 });
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}
