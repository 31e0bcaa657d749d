import type * as net from 'node:net';
import type { CommandSpec } from '../registry.js';
import type { Session } from '../session.js';
import { secureSession } from '../tls.js';

/** AUTH mechanisms that mean "TLS on the control connection" (RFC 4217 §4; SSL and TLS-C by tradition). */
const TLS_MECHANISMS = new Set(['TLS', 'TLS-C', 'SSL', 'TLS-P']);

/** FEAT lines for this listener: only when it has TLS; AUTH TLS only where AUTH can happen. */
function tlsFeatures(s: Session): readonly string[] | undefined {
  if (s.ctx.tls === 'none' || !s.ctx.ftps) return undefined;
  return s.ctx.tls === 'explicit' ? ['AUTH TLS', 'PBSZ', 'PROT'] : ['PBSZ', 'PROT'];
}

async function auth(s: Session, arg: string): Promise<void> {
  const ftps = s.ctx.ftps;
  if (s.ctx.tls === 'none' || !ftps) return s.reply(502, 'TLS is not configured on this server');
  if (s.secure) return s.reply(503, 'Already using TLS');
  const mechanism = arg.trim().toUpperCase();
  if (!TLS_MECHANISMS.has(mechanism)) return s.reply(504, `AUTH ${mechanism.slice(0, 16)} not supported; use AUTH TLS`);
  if (s.loggedIn) return s.reply(503, 'AUTH must come before login');
  const raw = s.socket as net.Socket;
  // Stop reading plaintext at once (same tick, so no byte is emitted to nobody): what the
  // client sends next is its ClientHello, which stays buffered in the socket for TLS.
  s.release();
  raw.pause();
  s.discardPendingInput();
  s.pendingUser = undefined;
  await s.replyAndFlush(234, `AUTH ${mechanism} successful`);
  let secured;
  try {
    secured = await ftps.upgrade(raw, s.ctx.settings.timeouts.loginMs || 30_000);
  } catch (err) {
    s.log.info({ err: (err as Error).message }, 'control TLS handshake failed');
    return s.destroy('TLS handshake failed');
  }
  if (s.isClosed) return void secured.destroy();
  secureSession(s, ftps, false);
  s.attach(secured);
  s.log.debug({ protocol: secured.getProtocol(), cipher: secured.getCipher().name }, 'control connection secured');
}

function pbsz(s: Session, arg: string): void {
  if (!s.secure) return s.reply(503, 'PBSZ needs a secure control connection: send AUTH TLS first');
  if (!/^\d{1,10}$/.test(arg.trim())) return s.reply(501, 'PBSZ takes a number (0 for TLS)');
  s.pbszSet = true;
  // TLS has no buffer size to negotiate: RFC 4217 §8 has the server answer PBSZ=0.
  s.reply(200, 'PBSZ=0');
}

function prot(s: Session, arg: string): void {
  if (!s.secure) return s.reply(503, 'PROT needs a secure control connection: send AUTH TLS first');
  if (!s.pbszSet) return s.reply(503, 'PBSZ must come before PROT');
  const level = arg.trim().toUpperCase();
  if (level === 'P') {
    s.protectData = true;
    return s.reply(200, 'Protection level set to Private: data connections use TLS');
  }
  if (level === 'C') {
    if (s.ctx.ftps?.settings.requireTls || s.user?.requireTls) return s.reply(534, 'PROT C refused: this server requires protected data connections (PROT P)');
    s.protectData = false;
    return s.reply(200, 'Protection level set to Clear');
  }
  if (level === 'S' || level === 'E') return s.reply(536, `PROT ${level} not supported: use PROT P or PROT C`);
  s.reply(504, 'Unknown protection level: use PROT P or PROT C');
}

export const tlsCommands: CommandSpec[] = [
  {
    name: 'AUTH',
    help: 'AUTH <sp> TLS: secure the control connection (RFC 4217); SSL is a synonym',
    auth: false,
    arg: 'required',
    beforeTls: true,
    feat: tlsFeatures,
    run: auth,
  },
  {
    name: 'PBSZ',
    help: 'PBSZ <sp> 0: protection buffer size (always 0 with TLS)',
    auth: false,
    arg: 'required',
    beforeTls: true,
    run: pbsz,
  },
  {
    name: 'PROT',
    help: 'PROT <sp> P | C: data connections private (TLS) or clear',
    auth: false,
    arg: 'required',
    beforeTls: true,
    run: prot,
  },
  {
    name: 'CCC',
    help: 'CCC: refused (the control connection stays encrypted)',
    auth: false,
    arg: 'none',
    beforeTls: true,
    run: (s) => s.reply(534, 'CCC refused: the control connection stays encrypted'),
  },
  // RFC 2228 security commands other than AUTH/PBSZ/PROT/CCC: not used with TLS.
  { name: 'ADAT', help: 'ADAT: not used with TLS', auth: false, arg: 'optional', notImplemented: true, run() {} },
  { name: 'MIC', help: 'MIC: not used with TLS', auth: false, arg: 'optional', notImplemented: true, run() {} },
  { name: 'CONF', help: 'CONF: not used with TLS', auth: false, arg: 'optional', notImplemented: true, run() {} },
  { name: 'ENC', help: 'ENC: not used with TLS', auth: false, arg: 'optional', notImplemented: true, run() {} },
];
