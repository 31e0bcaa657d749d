import { setTimeout as sleep } from 'node:timers/promises';
import type { CommandSpec } from '../registry.js';

export const authCommands: CommandSpec[] = [
  {
    name: 'USER',
    help: 'USER <sp> username: start a login (always answered 331)',
    auth: false,
    arg: 'required',
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
    async run(s, arg) {
      if (s.loggedIn) return s.reply(503, 'Already logged in');
      const username = s.pendingUser;
      if (username === undefined) return s.reply(503, 'Login with USER first');
      s.pendingUser = undefined;
      const defender = s.ctx.defender;
      if (defender.isBanned(s.remoteIp)) {
        // Banned while this session was open: no password is checked any more.
        s.ctx.events.emit('login:failed', { ...s.info, user: username, reason: 'banned' });
        return s.end(421, 'Too many failed logins from your address; try again later');
      }
      const user = await s.ctx.authenticator.authenticate({ username, password: arg, ip: s.remoteIp, secure: s.secure });
      if (s.isClosed) return; // includes: the address was banned meanwhile (the ban closes pre-login sessions)
      if (!user) {
        s.failedLogins++;
        // May ban the address, which closes its pre-login sessions (this one too) with 421.
        const verdict = defender.recordFailure(s.remoteIp, username);
        s.ctx.events.emit('login:failed', { ...s.info, user: username, reason: 'bad-credentials' });
        s.log.info({ user: username, ipFailures: verdict.ipFailures, delayMs: verdict.delayMs }, 'login failed');
        if (verdict.banned) return s.end(421, 'Too many failed logins from your address; try again later');
        await sleep(verdict.delayMs);
        if (s.isClosed) return;
        s.reply(530, 'Login incorrect');
        const perSession = defender.maxFailuresPerSession;
        if (perSession > 0 && s.failedLogins >= perSession) await s.end(421, 'Too many failed logins; closing control connection');
        return;
      }
      if (user.requireTls && !s.secure) {
        // The users file says this account logs in over TLS only.
        s.ctx.events.emit('login:failed', { ...s.info, user: username, reason: 'tls-required' });
        s.log.info({ user: username }, 'login refused: TLS required for this user');
        return s.reply(530, 'TLS required for this account: send AUTH TLS, then log in');
      }
      s.login(user);
      // Payloads and the session's child logger are built only for someone who reads them.
      if (s.ctx.events.listenerCount('login:ok') > 0) s.ctx.events.emit('login:ok', { ...s.info, user: user.name, anonymous: user.anonymous === true });
      if (s.logs('info')) s.log.info({ user: user.name }, 'login ok');
      s.reply(230, user.anonymous ? 'Anonymous access granted, read-only' : 'Login successful');
    },
  },
  {
    name: 'HOST',
    help: 'HOST <sp> name: choose the virtual host before logging in (RFC 7151)',
    auth: false,
    arg: 'required',
    beforeTls: true,
    feat: 'HOST',
    run(s, arg) {
      // RFC 7151: HOST belongs before USER; afterwards the login already chose the host.
      if (s.loggedIn || s.pendingUser !== undefined) return s.reply(503, 'HOST must come before USER');
      // One storage tree serves every name, so any host is accepted (and remembered for logs).
      s.virtualHost = arg.trim().slice(0, 255);
      s.reply(220, 'Host accepted');
    },
  },
  { name: 'ACCT', help: 'ACCT: not used', auth: false, arg: 'optional', notImplemented: true, run() {} },
  { name: 'REIN', help: 'REIN: not supported', auth: false, arg: 'none', notImplemented: true, run() {} },
  { name: 'SMNT', help: 'SMNT: not supported', auth: true, arg: 'optional', notImplemented: true, run() {} },
];
