import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandSpec } from '../registry.js';

export const authCommands: CommandSpec[] = [
  {
    name: 'USER',
    help: 'USER <sp> username: start a login (always answered 331)',
    auth: false,
    arg: 'required',
    beforeTls: true,
    run(s, arg) {
      if (s.loggedIn) return s.reply(503, 'Already logged in');
      s.pendingUser = arg;
      // The same answer for every name: no way to learn which accounts exist.
      s.reply(331, 'Please specify the password');
    },
  },
  {
    name: 'PASS',
    help: 'PASS <sp> password: finish the login',
    auth: false,
    arg: 'optional',
    beforeTls: true,
    async run(s, arg) {
      if (s.loggedIn) return s.reply(503, 'Already logged in');
      const username = s.pendingUser;
      if (username === undefined) return s.reply(503, 'Login with USER first');
      s.pendingUser = undefined;
      const user = await s.ctx.authenticator.authenticate({ username, password: arg, ip: s.remoteIp, secure: s.secure });
      if (s.isClosed) return;
      if (!user) {
        s.failedLogins++;
        s.ctx.events.emit('login:failed', { ...s.info, user: username, reason: 'bad-credentials' });
        s.log.info({ user: username }, 'login failed');
        await sleep(s.ctx.settings.timeouts.failedLoginDelayMs);
        return s.reply(530, 'Login incorrect');
      }
      s.login(user);
      s.ctx.events.emit('login:ok', { ...s.info, user: user.name, anonymous: user.anonymous === true });
      s.log.info({ user: user.name }, 'login ok');
      s.reply(230, user.anonymous ? 'Anonymous access granted, read-only' : 'Login successful');
    },
  },
  { name: 'ACCT', help: 'ACCT: not used', auth: false, arg: 'optional', notImplemented: true, run() {} },
  { name: 'REIN', help: 'REIN: not supported', auth: false, arg: 'none', notImplemented: true, run() {} },
  { name: 'SMNT', help: 'SMNT: not supported', auth: true, arg: 'optional', notImplemented: true, run() {} },
];
