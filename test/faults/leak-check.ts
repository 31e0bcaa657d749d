import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WharfServer } from '../../src/index.js';
import { transferEngine } from '../../src/core/storage/transfer-engine.js';

/** What a fault may leak: sessions, passive listeners, open file descriptors and timers of this process. */
export interface ResourceCount {
  sessions: number;
  passive: number;
  fds: number;
  /** Active (ref'd) timers: node's active resources of type Timeout. */
  timers: number;
}

export function countResources(server: WharfServer): ResourceCount {
  return {
    sessions: server.sessionCount,
    passive: server.passiveListeners,
    // The engine's kept upload pipes come and go with uploads: not a leak.
    fds: readdirSync('/proc/self/fd').length - (transferEngine?.descriptorsKept ?? 0),
    timers: process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length,
  };
}

/**
 * Waits (up to `timeoutMs`) until the counts fall back to `baseline`, then returns the last
 * counts; the caller asserts they are equal. Descriptors may lag a little (sockets closing),
 * hence the polling rather than one look.
 */
export async function settleTo(server: WharfServer, baseline: ResourceCount, timeoutMs = 5000): Promise<ResourceCount> {
  const deadline = Date.now() + timeoutMs;
  let now = countResources(server);
  while (Date.now() < deadline) {
    if (now.sessions <= baseline.sessions && now.passive <= baseline.passive && now.fds <= baseline.fds && now.timers <= baseline.timers) return now;
    await sleep(50);
    now = countResources(server);
  }
  return now;
}
