import * as net from 'node:net';
import type { CommandSpec } from '../registry.js';
import type { Session } from '../session.js';
import { ActiveEndpoint, PassiveEndpoint } from '../data/endpoints.js';
import { NativePassiveEndpoint } from '../data/native-endpoint.js';
import { nativeData } from '../data/native-data.js';
import { isUnspecifiedAddress, parseEprtArg, parsePortArg, pasvTuple, sameHost } from '../data/address.js';

/** localIp is already plain (a mapped `::ffff:a.b.c.d` became `a.b.c.d`): a colon means IPv6. */
function controlIsIPv6(s: Session): boolean {
  return s.localIp.includes(':');
}

async function openPassive(s: Session): Promise<PassiveEndpoint | NativePassiveEndpoint | undefined> {
  s.closeDataEndpoint();
  const onForeignPeer = (address: string) => {
    s.log.warn({ peer: address }, 'refused data connection from another host');
    s.ctx.events.emit('security:refused', { ip: address, reason: 'foreign-data-peer' });
  };
  try {
    // Plain data connections take the native path (no net.Server, and for binary RETR/STOR
    // no net.Socket: see data/native-endpoint.ts). PROT P keeps net.Server, whose early
    // 'connection' starts the TLS handshake before the transfer command (below).
    if (nativeData && !s.protectData) {
      const endpoint = new NativePassiveEndpoint(nativeData, s.ctx.ports.listenFd(s.localIp, nativeData), s.remoteIp, { onForeignPeer });
      s.setDataEndpoint(endpoint);
      return endpoint;
    }
    const server = await s.ctx.ports.listen(s.localIp, () => undefined);
    const endpoint = new PassiveEndpoint(server, s.remoteIp, {
      onForeignPeer,
      // PROT P: answer the data connection's TLS handshake as soon as it arrives. curl (7.88)
      // sends its ClientHello right after connecting, before RETR/STOR, and does not read
      // the control replies until the handshake moves, so waiting for the transfer command
      // cost ~200 ms per transfer. The transfer awaits this same handshake (memoized per
      // socket), so failures still surface there as 425.
      onConnected: (socket) => {
        if (s.protectData && s.secureDataSocket) s.secureDataSocket(socket).catch(() => undefined);
      },
    });
    s.setDataEndpoint(endpoint);
    return endpoint;
  } catch (err) {
    s.log.warn({ err: (err as Error).message }, 'no passive port');
    s.reply(425, "Can't open passive connection: no free port");
    return undefined;
  }
}

/** PORT/EPRT target checks: the client's own IP only (no bounce, no FXP), no privileged ports. */
function acceptActiveTarget(s: Session, host: string, port: number): boolean {
  if (!s.ctx.settings.activeEnabled) {
    s.reply(502, 'Active mode is disabled on this server; use PASV or EPSV');
    return false;
  }
  // lftp on a loopback connection sends `EPRT |2|::|port|` (its unbound data socket). The
  // wildcard can only mean "where you see me"; connecting to it literally would reach this
  // host's own services, so it becomes the control peer's address, never a bounce.
  if (isUnspecifiedAddress(host)) host = s.remoteIp;
  if (!sameHost(host, s.remoteIp)) {
    s.log.warn({ target: host, port }, 'refused PORT to another host');
    s.ctx.events.emit('security:refused', { ip: s.remoteIp, reason: 'bounce' });
    s.reply(504, 'Rejected: data connections may only go to your own address');
    return false;
  }
  if (port < 1024) {
    s.reply(504, 'Rejected: privileged port');
    return false;
  }
  s.closeDataEndpoint();
  s.setDataEndpoint(
    new ActiveEndpoint({ host, port, localAddress: s.localIp, ...(s.ctx.settings.activeSourcePort ? { localPort: s.ctx.settings.activeSourcePort } : {}) }, (err) =>
      s.log.warn({ err: err.message, port: s.ctx.settings.activeSourcePort }, 'active source port unavailable; using any port'),
    ),
  );
  return true;
}

export const dataSetupCommands: CommandSpec[] = [
  {
    name: 'TYPE',
    help: 'TYPE <sp> A | I | L 8: ASCII or binary transfers',
    auth: true,
    arg: 'required',
    run(s, arg) {
      const t = arg.trim().toUpperCase().replace(/\s+/g, ' ');
      if (t === 'I' || t === 'L 8' || t === 'L8') {
        s.type = 'I';
        return s.reply(200, 'Switching to Binary mode');
      }
      if (t === 'A' || t === 'A N') {
        s.type = 'A';
        return s.reply(200, 'Switching to ASCII mode');
      }
      if (/^(E|A [TC]|E [NTC]|L \d+)$/.test(t)) return s.reply(504, `TYPE ${t} not implemented`);
      s.reply(501, 'Unrecognised TYPE');
    },
  },
  {
    name: 'MODE',
    help: 'MODE <sp> S: stream mode only',
    auth: true,
    arg: 'required',
    run(s, arg) {
      const m = arg.trim().toUpperCase();
      if (m === 'S') return s.reply(200, 'Mode set to S');
      if (m === 'B' || m === 'C' || m === 'Z') return s.reply(504, `MODE ${m} not implemented`);
      s.reply(501, 'Unrecognised MODE');
    },
  },
  {
    name: 'STRU',
    help: 'STRU <sp> F: file structure only',
    auth: true,
    arg: 'required',
    run(s, arg) {
      const m = arg.trim().toUpperCase();
      if (m === 'F') return s.reply(200, 'Structure set to F');
      if (m === 'R' || m === 'P') return s.reply(504, `STRU ${m} not implemented`);
      s.reply(501, 'Unrecognised STRU');
    },
  },
  {
    name: 'PASV',
    help: 'PASV: listen for an IPv4 data connection',
    auth: true,
    arg: 'none',
    feat: 'PASV',
    async run(s) {
      if (s.epsvAll) return s.reply(503, 'PASV not allowed after EPSV ALL');
      if (controlIsIPv6(s)) return s.reply(522, 'PASV is IPv4 only on an IPv6 connection; use EPSV (2)');
      const endpoint = await openPassive(s);
      if (!endpoint) return;
      const announced = s.ctx.settings.passiveAddress;
      s.reply(227, `Entering Passive Mode (${pasvTuple(announced !== undefined && net.isIPv4(announced) ? announced : s.localIp, endpoint.port)})`);
    },
  },
  {
    name: 'EPSV',
    help: 'EPSV [<sp> 1 | 2 | ALL]: listen for a data connection (any address family)',
    auth: true,
    arg: 'optional',
    feat: 'EPSV',
    async run(s, arg) {
      const a = arg.trim().toUpperCase();
      if (a === 'ALL') {
        s.epsvAll = true;
        return s.reply(200, 'EPSV ALL ok: only EPSV from now on');
      }
      const family = controlIsIPv6(s) ? '2' : '1';
      if (a !== '' && a !== family) {
        if (/^\d+$/.test(a)) return s.reply(522, `Network protocol not supported, use (${family})`);
        return s.reply(501, 'Syntax error: EPSV [1|2|ALL]');
      }
      const endpoint = await openPassive(s);
      if (!endpoint) return;
      s.reply(229, `Entering Extended Passive Mode (|||${endpoint.port}|)`);
    },
  },
  {
    name: 'PORT',
    help: 'PORT <sp> h1,h2,h3,h4,p1,p2: connect to the client (active mode)',
    auth: true,
    arg: 'required',
    run(s, arg) {
      if (s.epsvAll) return s.reply(503, 'PORT not allowed after EPSV ALL');
      if (controlIsIPv6(s)) return s.reply(522, 'PORT is IPv4 only on an IPv6 connection; use EPRT (2)');
      const target = parsePortArg(arg);
      if (!target || target.port === 0) return s.reply(501, 'Syntax error in PORT arguments');
      if (acceptActiveTarget(s, target.host, target.port)) s.reply(200, 'PORT command successful. Consider using PASV');
    },
  },
  {
    name: 'EPRT',
    help: 'EPRT <sp> |proto|address|port|: connect to the client (active, IPv4 or IPv6)',
    auth: true,
    arg: 'required',
    feat: 'EPRT',
    run(s, arg) {
      if (s.epsvAll) return s.reply(503, 'EPRT not allowed after EPSV ALL');
      const target = parseEprtArg(arg);
      if (!target) {
        // Well-formed but an unknown protocol number: 522 tells the client which ones work.
        const trimmed = arg.trim();
        const parts = trimmed.length > 1 ? trimmed.split(trimmed[0]!) : [];
        if (parts.length === 5 && parts[0] === '' && parts[4] === '' && /^\d+$/.test(parts[1]!) && parts[1] !== '1' && parts[1] !== '2') {
          return s.reply(522, 'Network protocol not supported, use (1,2)');
        }
        return s.reply(501, 'Syntax error in EPRT arguments');
      }
      const family = controlIsIPv6(s) ? 6 : 4;
      if (target.family !== family) return s.reply(522, `Network protocol not supported, use (${family === 6 ? 2 : 1})`);
      if (acceptActiveTarget(s, target.host, target.port)) s.reply(200, 'EPRT command successful');
    },
  },
  {
    name: 'REST',
    help: 'REST <sp> offset: start the next RETR/STOR at this byte',
    auth: true,
    arg: 'required',
    feat: 'REST STREAM',
    run(s, arg) {
      const text = arg.trim();
      if (!/^\d{1,16}$/.test(text) || !Number.isSafeInteger(Number(text))) {
        s.restOffset = 0;
        return s.reply(501, 'REST needs a non-negative byte offset');
      }
      const offset = Number(text);
      if (offset > 0 && s.type === 'A') return s.reply(501, 'REST not allowed in ASCII mode; use TYPE I');
      s.restOffset = offset;
      s.reply(350, `Restarting at ${offset}. Send STOR or RETR to initiate transfer`);
    },
  },
  {
    name: 'ALLO',
    help: 'ALLO <sp> size: reserve space (not needed)',
    auth: true,
    arg: 'optional',
    run(s) {
      s.reply(202, 'No storage allocation necessary');
    },
  },
];
