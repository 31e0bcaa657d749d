import type { CommandSpec } from '../registry.js';
import type { Session } from '../session.js';

function feat(s: Session): void {
  const lines = s.ctx.commands.featLines(s).map((l) => ' ' + l);
  s.reply(211, ['Features:', ...lines, 'End']);
}

function help(s: Session, arg: string): void {
  const verb = arg.trim().toUpperCase();
  if (verb) {
    const spec = s.ctx.commands.get(verb);
    if (!spec) return s.reply(502, `Unknown command ${verb.slice(0, 32)}`);
    return s.reply(214, `Syntax: ${spec.notImplemented ? `${spec.name} (not implemented)` : spec.help}`);
  }
  const verbs = s.ctx.commands.verbs();
  const rows: string[] = [];
  for (let i = 0; i < verbs.length; i += 8) rows.push(' ' + verbs.slice(i, i + 8).map((v) => v.padEnd(6)).join(' '));
  s.reply(214, ['The following commands are recognized:', ...rows, 'Help OK']);
}

async function opts(s: Session, arg: string): Promise<void> {
  const space = arg.indexOf(' ');
  const name = (space < 0 ? arg : arg.slice(0, space)).toUpperCase();
  const value = space < 0 ? '' : arg.slice(space + 1).trim();
  if (name === 'UTF8' || name === 'UTF-8') {
    const v = value.toUpperCase();
    if (v === 'ON' || v === '') return s.reply(200, 'Always in UTF8 mode');
    if (v === 'OFF') return s.reply(200, 'UTF8 stays on: names are sent as stored');
    return s.reply(501, 'OPTS UTF8 takes ON or OFF');
  }
  // Every other option belongs to a command: its table entry handles it (OPTS MLST, OPTS HASH).
  const spec = s.ctx.commands.get(name);
  if (spec?.opts && !spec.notImplemented) return await spec.opts(s, value);
  s.reply(501, `Option ${name.slice(0, 32)} not understood`);
}

export const miscCommands: CommandSpec[] = [
  { name: 'SYST', help: 'SYST: system type', auth: false, arg: 'none', beforeTls: true, run: (s) => s.reply(215, 'UNIX Type: L8') },
  { name: 'FEAT', help: 'FEAT: list extensions', auth: false, arg: 'none', beforeTls: true, feat: ['UTF8', 'TVFS'], run: feat },
  { name: 'OPTS', help: 'OPTS <sp> UTF8 ON | MLST facts;', auth: false, arg: 'required', beforeTls: true, run: opts },
  { name: 'HELP', help: 'HELP [<sp> command]', auth: false, arg: 'optional', beforeTls: true, run: help },
  { name: 'NOOP', help: 'NOOP: do nothing', auth: false, arg: 'none', beforeTls: true, duringTransfer: true, run: (s) => s.reply(200, 'NOOP ok') },
  {
    name: 'CLNT',
    help: 'CLNT <sp> client name: say which client this is',
    auth: false,
    arg: 'required',
    beforeTls: true,
    run(s, arg) {
      s.clientName = arg.slice(0, 128);
      s.reply(200, 'Noted');
    },
  },
  {
    name: 'QUIT',
    help: 'QUIT: end the session (a running transfer finishes first)',
    auth: false,
    arg: 'optional',
    beforeTls: true,
    duringTransfer: true,
    async run(s) {
      // A transfer that is moving data finishes first; one still waiting for its data
      // connection would only make the client wait for a timeout, so it is aborted (426).
      const t = s.transfer;
      if (t && !t.connected) {
        t.abortedBy = 'QUIT';
        t.abort();
      }
      await s.settle();
      await s.end(221, 'Goodbye', 'client quit', 'at-once');
    },
  },
];
