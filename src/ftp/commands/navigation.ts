import { WharfError } from '../../core/errors.js';
import { quotePath } from '../control/reply.js';
import type { CommandSpec } from '../registry.js';
import type { Session } from '../session.js';

async function changeDirectory(s: Session, target: string): Promise<void> {
  const path = s.resolve(target);
  const st = await s.storage!.stat(path);
  if (st.type !== 'dir') throw new WharfError('STORAGE_NOT_A_DIRECTORY', 'Not a directory');
  s.cwd = path;
  s.reply(250, `Directory successfully changed to ${quotePath(path)}`);
}

export const navigationCommands: CommandSpec[] = [
  {
    name: 'PWD',
    aliases: ['XPWD'],
    help: 'PWD: print the working directory',
    auth: true,
    arg: 'none',
    run(s) {
      s.reply(257, `${quotePath(s.cwd)} is the current directory`);
    },
  },
  {
    name: 'CWD',
    aliases: ['XCWD'],
    help: 'CWD <sp> path: change the working directory',
    auth: true,
    arg: 'required',
    run: (s, arg) => changeDirectory(s, arg),
  },
  {
    name: 'CDUP',
    aliases: ['XCUP'],
    help: 'CDUP: go to the parent directory',
    auth: true,
    arg: 'none',
    run: (s) => changeDirectory(s, '..'),
  },
];
