// Camera uploads: IP cameras push snapshots over FTP; a hook reacts to each finished upload
// (here: file it under archive/YYYY-MM-DD/ and remember its SHA-256). Failed or partial
// uploads (e.ok === false) are left alone for the camera to retry.
//   npm run build && node dist/examples/upload-hook.js ./camera-inbox
//   curl -u cam1:snapshot -T snap.jpg ftp://127.0.0.1:2121/
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename } from 'node:fs/promises';
import * as path from 'node:path';
import { createServer, type WharfServer } from 'wharf';
import { runIfMain } from './run-if-main.js';

export interface ArchivedSnapshot {
  camera: string;
  file: string;
  sha256: string;
  bytes: number;
}

export async function main({ root = process.argv[2] ?? '.', port = Number(process.env.PORT ?? 2121) }: { root?: string; port?: number } = {}): Promise<WharfServer & { archived: ArchivedSnapshot[]; idle(): Promise<void> }> {
  root = path.resolve(root);
  const archived: ArchivedSnapshot[] = [];
  let pending = Promise.resolve();
  const server = createServer({
    host: '127.0.0.1',
    port,
    root,
    // Cameras may only upload and create folders: a stolen camera password cannot read or delete footage.
    users: [{ name: 'cam1', password: 'snapshot', home: '.', permissions: ['list', 'write', 'mkdir'] }],
    atomicUploads: true, // a half-written snapshot never appears under its final name
  });
  server.on('file:upload', (e) => {
    if (!e.ok) return;
    // Hooks run one after another so two snapshots never race for the same folder.
    pending = pending.then(async () => {
      const source = path.join(root, e.path);
      const day = new Date().toISOString().slice(0, 10);
      const folder = path.join(root, 'archive', day);
      await mkdir(folder, { recursive: true });
      const target = path.join(folder, `${e.user}-${path.basename(e.path)}`);
      const sha256 = createHash('sha256').update(await readFile(source)).digest('hex');
      await rename(source, target);
      archived.push({ camera: e.user, file: path.relative(root, target), sha256, bytes: e.bytes });
      console.log(`archived ${e.path} from ${e.user} as ${path.relative(root, target)}`);
    }).catch((err: unknown) => console.error('archiving failed:', err));
  });
  const address = await server.listen();
  console.log(`camera inbox ${root} on ftp://${address.host}:${address.port}/ (cam1 / snapshot)`);
  return Object.assign(server, { archived, idle: () => pending });
}

runIfMain(import.meta.url, () => main());
