import type * as net from 'node:net';

/** Idle time before the first keep-alive probe on a control connection (dead peers are found in minutes, not hours). */
export const CONTROL_KEEPALIVE_MS = 60_000;

/** The methods of Node's TCP handle that set socket options (0 on success, a negative errno otherwise). */
interface TcpOptionHandle {
  setNoDelay?(on: boolean): number;
  setKeepAlive?(on: boolean, delaySeconds: number): number;
}

/**
 * Control connections want TCP_NODELAY (a reply must not wait behind Nagle's algorithm for
 * the ACK of the previous one) and keep-alive probes. Node would set them on every accepted
 * socket: five setsockopt(2) calls per connection (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT), 1 000 system calls for 200 logins. On Linux an accepted socket
 * inherits all five from the listening socket, so they are set once there instead.
 *
 * Returns true when the listening socket carries them; false (not Linux, a cluster worker
 * whose listening socket lives in the primary, or a refusal) means `applyPerSocket` must set
 * them on each accepted socket, as Node would.
 */
export function setInheritedControlOptions(server: net.Server): boolean {
  if (process.platform !== 'linux') return false;
  const handle = (server as unknown as { _handle?: TcpOptionHandle | null })._handle;
  if (typeof handle?.setNoDelay !== 'function' || typeof handle.setKeepAlive !== 'function') return false;
  return handle.setNoDelay(true) === 0 && handle.setKeepAlive(true, CONTROL_KEEPALIVE_MS / 1000) === 0;
}

/** The same options on one accepted socket, where the listening socket could not pass them on. */
export function applyPerSocket(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, CONTROL_KEEPALIVE_MS);
}
