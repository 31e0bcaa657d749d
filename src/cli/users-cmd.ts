import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';
import { hashPassword } from '../core/users/password.js';
import { parseUsersFile } from '../core/users/file.js';
import { parsePermissions } from '../core/permissions.js';
import { readPassword } from './prompt.js';

const HELP = `Usage: wharf users COMMAND [NAME] --file FILE [options]

Edits a JSON users file (the one \`wharf serve --users-file FILE\` reads; a running server
picks up changes within a second). Every change is written atomically (temporary file, then
rename) with mode 600, and checked before it replaces the old file.

Commands:
  add NAME        add a user; asks for the password (hidden, twice)
  passwd NAME     change a user's password
  remove NAME     delete a user
  list            print the users (never the hashes)

Options:
  -f, --file FILE        the users file (default: $WHARF_USERS_FILE); \`add\` creates it
  --home DIR             (add) the user's root folder; relative folders are inside the
                         server's root (default: the server's root)
  --permissions LIST     (add) comma-separated: ${'list,read,write,append,delete,rename,mkdir,rmdir,chmod,settime'}
                         or "all" / "read-only" (default: as \`serve --write\` decides)
  --require-tls          (add) refuse this user without TLS
  --password-stdin       read the password from the first line of stdin instead of asking
                         (passwords are never taken from the command line)
  --json                 (list) machine-readable output
  -h, --help             this text

Examples:
  wharf users add cam --file users.json --home cameras/cam1 --permissions list,write,mkdir
  printf '%s\\n' "$PASSWORD" | wharf users passwd cam --file users.json --password-stdin
  wharf users list --file users.json
`;

class UsageError extends Error {}

interface RawUsersFile {
  users: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

async function readUsers(file: string, createIfMissing: boolean): Promise<{ doc: RawUsersFile; existing: boolean }> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && createIfMissing) return { doc: { users: [] }, existing: false };
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${file}: no such file`);
    throw err;
  }
  parseUsersFile(text, file); // refuse to edit a file that is already broken: say why instead
  return { doc: JSON.parse(text) as RawUsersFile, existing: true };
}

/**
 * Replaces `file` atomically: a temporary file in the same folder (so rename is atomic),
 * mode 600, flushed to disk, given the old file's owner when we may (root editing a file
 * that the `wharf` user must read), then renamed over the original.
 */
export async function writeUsersAtomically(file: string, doc: RawUsersFile): Promise<void> {
  const text = JSON.stringify(doc, null, 2) + '\n';
  parseUsersFile(text, file); // never write something the server would refuse
  const dir = nodePath.dirname(nodePath.resolve(file));
  const temp = nodePath.join(dir, `.${nodePath.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const previous = await fsp.stat(file).catch(() => undefined);
  const handle = await fsp.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.chmod(0o600); // the umask may have removed bits, never added: make it exact
    if (previous) await handle.chown(previous.uid, previous.gid).catch(() => undefined);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fsp.rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fsp.rename(temp, file);
  } catch (err) {
    await fsp.rm(temp, { force: true });
    throw err;
  }
}

async function askPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const password = await readPassword('');
    if (!password) throw new UsageError('no password on stdin');
    return password;
  }
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password: pipe it in with --password-stdin');
  const first = await readPassword('Password: ');
  if (!first) throw new UsageError('empty password');
  const again = await readPassword('Again: ');
  if (first !== again) throw new UsageError('the passwords differ');
  return first;
}

const NAME_RE = /^[^\s:\0]{1,64}$/;

export async function usersCommand(argv: string[]): Promise<void> {
  try {
    await run(argv);
  } catch (err) {
    process.stderr.write(`wharf users: ${(err as Error).message}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  }
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      file: { type: 'string', short: 'f' },
      home: { type: 'string' },
      permissions: { type: 'string' },
      'require-tls': { type: 'boolean' },
      'password-stdin': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, name, ...extra] = positionals;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}" (passwords are never taken from the command line; see --password-stdin)`);
  const file = values.file ?? process.env.WHARF_USERS_FILE;
  if (!file) throw new UsageError('which users file? Pass --file FILE (or set WHARF_USERS_FILE)');
  const needName = () => {
    if (!name) throw new UsageError(`${command} needs a user NAME`);
    if (!NAME_RE.test(name)) throw new UsageError(`"${name}" is not a valid user name (1-64 characters, no spaces or colons)`);
    return name;
  };
  const onlyFor = (allowed: string, ...keys: Array<keyof typeof values>) => {
    for (const k of keys) if (values[k] !== undefined && command !== allowed) throw new UsageError(`--${k} applies to \`${allowed}\` only`);
  };
  onlyFor('add', 'home', 'permissions', 'require-tls');
  onlyFor('list', 'json');

  switch (command) {
    case 'add': {
      const user = needName();
      if (values.permissions !== undefined) parsePermissions(values.permissions); // fail before asking for a password
      const { doc } = await readUsers(file, true);
      if (doc.users.some((u) => u.name === user)) throw new UsageError(`user "${user}" already exists in ${file} (use \`wharf users passwd\` or \`remove\`)`);
      const password = await askPassword(values['password-stdin'] === true);
      const entry: Record<string, unknown> = { name: user, password: await hashPassword(password) };
      if (values.home !== undefined) entry.home = values.home;
      if (values.permissions !== undefined) entry.permissions = values.permissions.split(/[\s,]+/).filter(Boolean);
      if (values['require-tls']) entry.requireTls = true;
      doc.users.push(entry);
      await writeUsersAtomically(file, doc);
      process.stdout.write(`added ${user} to ${file}\n`);
      return;
    }
    case 'passwd': {
      const user = needName();
      const { doc } = await readUsers(file, false);
      const entry = doc.users.find((u) => u.name === user);
      if (!entry) throw new UsageError(`no user "${user}" in ${file}`);
      entry.password = await hashPassword(await askPassword(values['password-stdin'] === true));
      await writeUsersAtomically(file, doc);
      process.stdout.write(`password of ${user} changed in ${file}\n`);
      return;
    }
    case 'remove': {
      const user = needName();
      const { doc } = await readUsers(file, false);
      const before = doc.users.length;
      doc.users = doc.users.filter((u) => u.name !== user);
      if (doc.users.length === before) throw new UsageError(`no user "${user}" in ${file}`);
      await writeUsersAtomically(file, doc);
      process.stdout.write(`removed ${user} from ${file}\n`);
      return;
    }
    case 'list': {
      if (name) throw new UsageError('list takes no NAME');
      const { doc } = await readUsers(file, false);
      const users = parseUsersFile(JSON.stringify(doc), file).map(({ password: _hash, ...rest }) => rest);
      if (values.json) {
        process.stdout.write(JSON.stringify(users, null, 2) + '\n');
        return;
      }
      const rows = [['NAME', 'HOME', 'PERMISSIONS', 'FLAGS'], ...users.map((u) => [u.name, u.home ?? '(root)', u.permissions ? [u.permissions].flat().join(',') : '(default)', [u.requireTls ? 'tls' : '', u.disabled ? 'disabled' : ''].filter(Boolean).join(',') || '-'])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) process.stdout.write(r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ') + '\n');
      return;
    }
    default:
      throw new UsageError(`unknown command "${command}" (add, remove, list, passwd)`);
  }
}
