// The smallest embedding: one account that may upload, serving a folder.
//   npm run build && node dist/examples/embed-basic.js
//   curl -u alice:wonderland ftp://127.0.0.1:2121/
import { createServer, type WharfServer } from 'wharf';
import { runIfMain } from './run-if-main.js';

export interface BasicOptions {
  /** Folder to share (default: the current folder). */
  root?: string;
  /** Port (default 2121; 0 picks a free one). */
  port?: number;
}

export async function main({ root = '.', port = Number(process.env.PORT ?? 2121) }: BasicOptions = {}): Promise<WharfServer> {
  const server = createServer({
    host: '127.0.0.1',
    port,
    root,
    users: [{ name: 'alice', password: 'wonderland' }],
    write: true,
  });
  server.on('login:ok', (e) => console.log(`${e.user} logged in from ${e.ip}`));
  server.on('file:upload', (e) => console.log(`${e.user} uploaded ${e.path} (${e.bytes} bytes in ${e.durationMs} ms)`));
  const address = await server.listen();
  console.log(`Wharf listening on ftp://${address.host}:${address.port}/ (alice / wonderland)`);
  return server;
}

runIfMain(import.meta.url, main);
