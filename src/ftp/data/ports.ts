import * as net from 'node:net';
import { randomInt } from 'node:crypto';
import { errnoError } from '../../core/native.js';
import { EACCES, EADDRINUSE, type NativeDataIo } from './native-data.js';

/** A listening descriptor from PassivePortPool.listenFd. */
export interface NativeListener {
  readonly fd: number;
  readonly port: number;
  /**
   * Closes the descriptor and frees the pool's slot. `duplicated`: the transfer engine may
   * still hold a duplicate of it (a watch), so it is stopped listening for every copy first.
   */
  release(duplicated: boolean): void;
}

export interface PortRange {
  min: number;
  max: number;
}

export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  const min = m ? Number(m[1]) : NaN;
  const max = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || min < 1 || max > 65535 || min > max) throw new Error(`invalid port range "${text}" (expected A-B with 1 <= A <= B <= 65535)`);
  return { min, max };
}

/**
 * Hands out passive listeners from a port range. Binding is the test of freedom (no
 * check-then-bind race); the scan starts at a random port so concurrent sessions and
 * restarts do not pile onto the same ports and the next port is not guessable. Without a
 * range the OS picks an ephemeral port.
 */
export class PassivePortPool {
  private inUse = 0;

  constructor(readonly range?: PortRange) {}

  get listenersOpen(): number {
    return this.inUse;
  }

  async listen(host: string, onConnection: (socket: net.Socket) => void): Promise<net.Server> {
    const server = net.createServer({ noDelay: false, pauseOnConnect: true }, onConnection);
    server.maxConnections = 4; // a passive port serves one client; a few extra are rejected promptly
    if (!this.range) {
      await bind(server, host, 0);
      return this.track(server);
    }
    for (const port of scanOrder(this.range)) {
      try {
        await bind(server, host, port);
        return this.track(server);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
      }
    }
    throw new Error('no free passive port in range');
  }

  /**
   * The native data path's listener (see native-endpoint.ts): a bare listening descriptor,
   * bound synchronously with the same random scan. `release()` closes it and gives the slot
   * back; call it exactly once.
   */
  listenFd(host: string, io: NativeDataIo): NativeListener {
    const open = (port: number): NativeListener | undefined => {
      const fd = io.dataListen(host, port);
      if (fd === -EADDRINUSE || fd === -EACCES) return undefined;
      if (fd < 0) throw errnoError(fd, 'listen');
      const bound = port || io.dataPort(fd);
      this.inUse++;
      return {
        fd,
        port: bound,
        release: (duplicated) => {
          this.inUse--;
          if (duplicated) io.dataUnlisten(fd);
          else io.dataClose(fd);
        },
      };
    };
    if (!this.range) {
      const listener = open(0);
      if (!listener) throw errnoError(-EADDRINUSE, 'listen');
      return listener;
    }
    for (const port of scanOrder(this.range)) {
      const listener = open(port);
      if (listener) return listener;
    }
    throw new Error('no free passive port in range');
  }

  private track(server: net.Server): net.Server {
    this.inUse++;
    server.once('close', () => this.inUse--);
    return server;
  }
}

/** Every port of the range once, from a random one on (wrapping around): the scan both listeners share. */
function* scanOrder({ min, max }: PortRange): Generator<number> {
  const size = max - min + 1;
  const start = randomInt(size);
  for (let i = 0; i < size; i++) yield min + ((start + i) % size);
}

function bind(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true, backlog: 4 });
  });
}
