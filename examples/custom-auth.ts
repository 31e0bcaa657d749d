// A custom Authenticator: accounts come from your own store (here a Map standing in for a
// database), each with its own home folder and permissions.
//   npm run build && node dist/examples/custom-auth.js
//   curl -u uploader:upload-secret -T photo.jpg ftp://127.0.0.1:2121/
import * as path from 'node:path';
import { mkdirSync } from 'node:fs';
import {
  createServer,
  hashPassword,
  parsePermissions,
  verifyPassword,
  type Authenticator,
  type Credentials,
  type User,
  type WharfServer,
} from 'wharf';
import { runIfMain } from './run-if-main.js';

interface Account {
  passwordHash: string;
  folder: string;
  permissions: string;
}

/** Looks accounts up in a store; never logs or keeps the password. */
export class DatabaseAuthenticator implements Authenticator {
  constructor(
    private readonly accounts: ReadonlyMap<string, Account>,
    private readonly root: string,
  ) {}

  async authenticate({ username, password }: Credentials): Promise<User | null> {
    const account = this.accounts.get(username);
    if (!account || !(await verifyPassword(password, account.passwordHash))) return null;
    return {
      name: username,
      home: path.join(this.root, account.folder),
      permissions: parsePermissions(account.permissions),
    };
  }
}

export async function main({ root = '.', port = Number(process.env.PORT ?? 2121) }: { root?: string; port?: number } = {}): Promise<WharfServer> {
  const accounts = new Map<string, Account>([
    ['reader', { passwordHash: await hashPassword('read-secret'), folder: 'public', permissions: 'read-only' }],
    ['uploader', { passwordHash: await hashPassword('upload-secret'), folder: 'incoming', permissions: 'list,write,mkdir' }],
  ]);
  for (const { folder } of accounts.values()) mkdirSync(path.join(root, folder), { recursive: true });
  const server = createServer({ host: '127.0.0.1', port, authenticator: new DatabaseAuthenticator(accounts, path.resolve(root)) });
  server.on('login:failed', (e) => console.log(`refused ${e.user} from ${e.ip}`));
  const address = await server.listen();
  console.log(`Wharf listening on ftp://${address.host}:${address.port}/ (reader / read-secret, uploader / upload-secret)`);
  return server;
}

runIfMain(import.meta.url, main);
