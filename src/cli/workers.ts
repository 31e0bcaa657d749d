import cluster from 'node:cluster';

/**
 * `wharf serve --workers N`: N processes serve the same port so every core works. Each worker
 * runs an ordinary Wharf server. The control port is shared through node:cluster (the
 * primary accepts and hands connections out in turn), while passive listeners are bound with
 * `exclusive: true` (see PassivePortPool), so they belong to the worker that opened them:
 * the data connection always reaches the process that owns its session, and TLS session
 * reuse between control and data works as in one process.
 *
 * What is per worker: connection counts per IP, the failed-login defender and the
 * verified-credentials cache are not shared, so limits apply per process.
 */
export function superviseWorkers(count: number): void {
  let stopping = false;
  const alive = () => Object.values(cluster.workers ?? {}).filter((w) => w !== undefined);
  const startedAt = new Map<number, number>();
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (alive().length === 0) process.exit(0);
      return;
    }
    // A worker that fails at once (bad configuration, port in use) would fail again: stop all.
    const quick = Date.now() - (startedAt.get(worker.id) ?? 0) < 2000;
    if (code === 2 || quick) {
      stopping = true;
      for (const w of alive()) w.process.kill('SIGTERM');
      process.exit(code || 1);
    }
    process.stderr.write(`wharf: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
    fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const w of alive()) w.process.kill(signal);
    if (alive().length === 0) process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    for (const w of alive()) w.process.kill('SIGHUP');
  });
}

/** True in the process that should print the start-up banner (the first worker, or a lone process). */
export function isFirstProcess(): boolean {
  return !cluster.isWorker || cluster.worker?.id === 1;
}

/** True when this process should become the supervisor of `workers` processes. */
export function shouldSupervise(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}
