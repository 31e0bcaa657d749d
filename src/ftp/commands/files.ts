import { WharfError, isWharfError } from '../../core/errors.js';
import { quotePath } from '../control/reply.js';
import { ftpTimestamp, parseFtpTimestamp } from '../listing.js';
import type { CommandSpec } from '../registry.js';

export const fileCommands: CommandSpec[] = [
  {
    name: 'MKD',
    aliases: ['XMKD'],
    help: 'MKD <sp> path: make a directory',
    auth: true,
    arg: 'required',
    async run(s, arg) {
      const path = s.resolve(arg);
      try {
        await s.storage!.mkdir(path);
      } catch (err) {
        // RFC 959 has no 553 for MKD: an existing name is a plain 550; a bad name stays 553.
        if (isWharfError(err, 'STORAGE_EXISTS')) return s.reply(550, 'Directory already exists');
        return s.replyError(err, 'create');
      }
      s.ctx.events.emit('dir:create', { ...s.info, user: s.user!.name, path });
      s.reply(257, `${quotePath(path)} created`);
    },
  },
  {
    name: 'RMD',
    aliases: ['XRMD'],
    help: 'RMD <sp> path: remove an empty directory',
    auth: true,
    arg: 'required',
    async run(s, arg) {
      const path = s.resolve(arg);
      if (path === '/') return s.reply(550, 'Cannot remove the root directory');
      await s.storage!.rmdir(path);
      if (s.cwd === path || s.cwd.startsWith(path + '/')) s.cwd = '/';
      s.ctx.events.emit('dir:remove', { ...s.info, user: s.user!.name, path });
      s.reply(250, 'Directory removed');
    },
  },
  {
    name: 'DELE',
    help: 'DELE <sp> path: delete a file',
    auth: true,
    arg: 'required',
    async run(s, arg) {
      const path = s.resolve(arg);
      await s.storage!.unlink(path);
      if (s.ctx.events.listenerCount('file:delete') > 0) s.ctx.events.emit('file:delete', { ...s.info, user: s.user!.name, path });
      s.reply(250, 'File deleted');
    },
  },
  {
    name: 'RNFR',
    help: 'RNFR <sp> path: name the file to rename (then RNTO)',
    auth: true,
    arg: 'required',
    async run(s, arg) {
      s.renameFrom = undefined;
      const path = s.resolve(arg);
      if (path === '/') return s.reply(550, 'Cannot rename the root directory');
      if (!s.storage!.can('rename')) throw new WharfError('PERMISSION_DENIED', 'rename');
      await s.storage!.stat(path);
      s.renameFrom = path;
      s.reply(350, 'Ready for RNTO');
    },
  },
  {
    name: 'RNTO',
    help: 'RNTO <sp> path: the new name (after RNFR)',
    auth: true,
    arg: 'required',
    async run(s, arg) {
      const from = s.renameFrom;
      s.renameFrom = undefined;
      if (from === undefined) return s.reply(503, 'RNFR required first');
      const to = s.resolve(arg);
      try {
        await s.storage!.rename(from, to);
      } catch (err) {
        return s.replyError(err, 'create');
      }
      s.ctx.events.emit('file:rename', { ...s.info, user: s.user!.name, from, to });
      s.reply(250, 'Rename successful');
    },
  },
  {
    name: 'SIZE',
    help: 'SIZE <sp> path: file size in bytes',
    auth: true,
    arg: 'required',
    feat: 'SIZE',
    async run(s, arg) {
      const st = await s.storage!.stat(s.resolve(arg));
      if (st.type !== 'file') return s.reply(550, 'Not a regular file');
      s.reply(213, String(st.size));
    },
  },
  {
    name: 'MFMT',
    help: 'MFMT <sp> YYYYMMDDHHMMSS <sp> path: set the modification time (UTC)',
    auth: true,
    arg: 'required',
    feat: 'MFMT',
    async run(s, arg) {
      const m = /^(\d{14}(?:\.\d{1,3})?) (.+)$/.exec(arg);
      const when = m ? parseFtpTimestamp(m[1]!) : undefined;
      if (!m || !when) return s.reply(501, 'Syntax: MFMT YYYYMMDDHHMMSS path');
      const path = s.resolve(m[2]!);
      await s.storage!.setTimes(path, when);
      const st = await s.storage!.stat(path);
      s.reply(213, `Modify=${ftpTimestamp(st.mtime)}; ${m[2]}`);
    },
  },
  {
    name: 'MDTM',
    help: 'MDTM <sp> path: modification time (YYYYMMDDHHMMSS, UTC)',
    auth: true,
    arg: 'required',
    feat: 'MDTM',
    async run(s, arg) {
      const st = await s.storage!.stat(s.resolve(arg));
      if (st.type !== 'file') return s.reply(550, 'Not a regular file');
      s.reply(213, ftpTimestamp(st.mtime));
    },
  },
];
