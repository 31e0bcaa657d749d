// Type tests for the public API: this file is compiled by `npm run build` (tsc) and never
// run. Each `@ts-expect-error` line is a wrong usage that must NOT compile; if the API
// loosened and accepted it, tsc would report the directive as unused and the build fails.
import {
  createServer,
  MemoryStorage,
  WharfError,
  type Authenticator,
  type Credentials,
  type StorageBackend,
  type User,
  type WharfEventMap,
  type WharfOptions,
  type WharfServer,
} from 'wharf';

const server: WharfServer = createServer({ port: 0, host: '127.0.0.1', root: '.', write: true, passivePorts: '50000-50100' });

// Events are typed by name.
server.on('file:upload', (e) => {
  const bytes: number = e.bytes;
  const ms: number = e.durationMs;
  const mode: 'store' | 'append' | 'unique' = e.mode;
  void [bytes, ms, mode];
  // @ts-expect-error uploads carry no `from` (that is file:rename)
  void e.from;
});
server.on('login:failed', (e) => {
  const reason: 'bad-credentials' | 'tls-required' | 'banned' = e.reason;
  void reason;
});
server.on('security:ban', (e) => void e.untilMs);
// @ts-expect-error unknown event names are refused
server.on('file:uplaod', () => {});
// @ts-expect-error the payload of file:download has no `reason`
server.on('file:download', (e) => void e.reason);

// Options are checked.
// @ts-expect-error port is a number
createServer({ port: '21' });
// @ts-expect-error listeners need a port
createServer({ listeners: [{ host: '::' }] });
// @ts-expect-error tls mode is 'none' | 'explicit' | 'implicit'
createServer({ listeners: [{ port: 990, tls: 'ssl' }] });
// @ts-expect-error unknown options are refused
createServer({ prot: 21 });
createServer({ listeners: [{ port: 21 }, { port: 990, tls: 'implicit', passivePorts: { min: 50000, max: 50100 }, passiveAddress: '203.0.113.1' }] });

// A custom Authenticator returns a User or null.
const auth: Authenticator = {
  async authenticate({ username }: Credentials): Promise<User | null> {
    return username === 'x' ? { name: 'x', home: '/srv/x', permissions: new Set(['list', 'read']) } : null;
  },
};
const badAuth: Authenticator = {
  // @ts-expect-error permissions are named: 'fly' is not one
  async authenticate() {
    return { name: 'x', home: '/', permissions: new Set(['fly']) };
  },
};
void badAuth;

// Any StorageBackend can serve files.
const storage: StorageBackend = new MemoryStorage({ '/a.txt': 'a' });
const options: WharfOptions = { authenticator: auth, storage: () => storage };
void options;
// @ts-expect-error storage is a factory per user, not a backend
createServer({ storage });
// @ts-expect-error a backend must implement every method
const partial: StorageBackend = { stat: storage.stat };
void partial;

// listen() resolves with the address; close() takes an optional grace period.
async function lifecycle(): Promise<void> {
  const { port, host } = await server.listen();
  const p: number = port;
  void [p, host];
  await server.close({ graceMs: 1000 });
  // @ts-expect-error graceMs is a number of milliseconds
  await server.close({ graceMs: '1s' });
}
void lifecycle;

// Errors carry stable codes.
const err = new WharfError('STORAGE_NOT_FOUND', 'missing');
// @ts-expect-error codes come from a closed list
new WharfError('NOT_A_CODE', 'x');
type UploadPayload = WharfEventMap['file:upload'][0];
const sample: Pick<UploadPayload, 'bytes'> = { bytes: 1 };
void [err, sample];
