// Serving files that live only in memory: any StorageBackend works, MemoryStorage is the
// built-in one (handy for tests, or as a base for your own backend).
//   npm run build && node dist/examples/memory-storage.js
//   curl ftp://127.0.0.1:2121/hello.txt
import { createServer, MemoryStorage, type WharfServer } from 'wharf';
import { runIfMain } from './run-if-main.js';

export async function main({ port = Number(process.env.PORT ?? 2121) }: { port?: number } = {}): Promise<WharfServer & { files: MemoryStorage }> {
  const files = new MemoryStorage({
    '/hello.txt': 'Hello from memory!\n',
    '/docs/readme.md': '# Nothing on disk\n',
  });
  const server = createServer({
    host: '127.0.0.1',
    port,
    anonymous: true,
    users: [{ name: 'writer', password: 'in-memory' }],
    write: true,
    // Every user sees the same in-memory tree; return a different backend per user to separate them.
    storage: () => files,
  });
  const address = await server.listen();
  console.log(`Wharf listening on ftp://${address.host}:${address.port}/ (anonymous, or writer / in-memory)`);
  return Object.assign(server, { files });
}

runIfMain(import.meta.url, main);
