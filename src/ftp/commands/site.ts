import type { CommandSpec } from '../registry.js';
import type { Session } from '../session.js';

/** SITE subcommands: one entry each, like the main table. */
export interface SiteCommand {
  name: string;
  help: string;
  run(s: Session, arg: string): Promise<void> | void;
}

export const siteCommands: SiteCommand[] = [
  {
    name: 'HELP',
    help: 'SITE HELP: list SITE commands',
    run(s) {
      s.reply(214, ['SITE commands:', ...siteCommands.map((c) => ' ' + c.help), 'End']);
    },
  },
  {
    name: 'CHMOD',
    help: 'SITE CHMOD <sp> mode <sp> path: set permission bits (octal, e.g. 644)',
    async run(s, arg) {
      const m = /^([0-7]{1,4}) (.+)$/.exec(arg);
      if (!m) return s.reply(501, 'Syntax: SITE CHMOD <octal mode> <path>');
      const mode = parseInt(m[1]!, 8);
      await s.storage!.chmod(s.resolve(m[2]!), mode);
      s.reply(200, 'SITE CHMOD command successful');
    },
  },
];

export const siteCommand: CommandSpec = {
  name: 'SITE',
  help: 'SITE <sp> subcommand: server-specific commands (SITE HELP lists them)',
  auth: true,
  arg: 'required',
  async run(s, arg) {
    const space = arg.indexOf(' ');
    const name = (space < 0 ? arg : arg.slice(0, space)).toUpperCase();
    const rest = space < 0 ? '' : arg.slice(space + 1);
    const sub = siteCommands.find((c) => c.name === name);
    if (!sub) return s.reply(500, `Unknown SITE command ${name.slice(0, 32)}`);
    await sub.run(s, rest);
  },
};
