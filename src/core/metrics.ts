import type { WharfEventMap, WharfEvents } from './events.js';

/**
 * Counters and histograms fed by a server's events, rendered in the Prometheus text format
 * (version 0.0.4). No client library: the format is a few lines of text, and the values are
 * plain numbers owned by one server (two servers in a process keep separate metrics).
 */

/** Upper bounds (seconds) of the transfer-duration buckets: 10 ms to 10 minutes. */
export const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600];

class Histogram {
  readonly counts = DURATION_BUCKETS.map(() => 0);
  count = 0;
  sum = 0;
  observe(value: number): void {
    this.count++;
    this.sum += value;
    DURATION_BUCKETS.forEach((le, i) => {
      if (value <= le) this.counts[i]!++;
    });
  }
}

/** What a metrics reader needs from the server beyond its events (gauges read on scrape). */
export interface MetricsSource {
  events: WharfEvents;
  readonly sessionCount: number;
  readonly passiveListeners: number;
}

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class WharfMetrics {
  private readonly counters = new Map<string, Map<string, { labels: Labels; value: number }>>();
  private readonly durations = { upload: new Histogram(), download: new Histogram() };
  private readonly startedAt = Date.now();
  private readonly detach: () => void;

  constructor(private readonly source: MetricsSource) {
    const { events } = source;
    const handlers: { [K in keyof WharfEventMap]?: (...args: WharfEventMap[K]) => void } = {
      'session:open': () => this.inc('wharf_sessions_total'),
      'login:ok': (e) => this.inc('wharf_logins_total', { result: 'ok', anonymous: String(e.anonymous) }),
      'login:failed': (e) => this.inc('wharf_logins_total', { result: 'failed', reason: e.reason }),
      'file:upload': (e) => {
        this.inc('wharf_bytes_received_total', {}, e.bytes);
        this.inc('wharf_transfers_total', { direction: 'upload', result: e.ok ? 'ok' : 'failed' });
        this.durations.upload.observe(e.durationMs / 1000);
      },
      'file:download': (e) => {
        this.inc('wharf_bytes_sent_total', {}, e.bytes);
        this.inc('wharf_transfers_total', { direction: 'download', result: e.ok ? 'ok' : 'failed' });
        this.durations.download.observe(e.durationMs / 1000);
      },
      'file:delete': () => this.inc('wharf_file_operations_total', { op: 'delete' }),
      'file:rename': () => this.inc('wharf_file_operations_total', { op: 'rename' }),
      'dir:create': () => this.inc('wharf_file_operations_total', { op: 'mkdir' }),
      'dir:remove': () => this.inc('wharf_file_operations_total', { op: 'rmdir' }),
      'security:ban': () => this.inc('wharf_bans_total'),
      'security:refused': (e) => this.inc('wharf_refused_total', { reason: e.reason }),
    };
    const entries = Object.entries(handlers) as Array<[keyof WharfEventMap, (...args: unknown[]) => void]>;
    for (const [name, fn] of entries) events.on(name, fn as never);
    this.detach = () => {
      for (const [name, fn] of entries) events.off(name, fn as never);
    };
  }

  private inc(name: string, labels: Labels = {}, by = 1): void {
    let series = this.counters.get(name);
    if (!series) this.counters.set(name, (series = new Map()));
    const key = labelText(labels);
    const entry = series.get(key);
    if (entry) entry.value += by;
    else series.set(key, { labels, value: by });
  }

  /** The current value of a counter (summed over labels that match), for tests and health checks. */
  counter(name: string, match: Labels = {}): number {
    let total = 0;
    for (const { labels, value } of this.counters.get(name)?.values() ?? []) {
      if (Object.entries(match).every(([k, v]) => labels[k] === v)) total += value;
    }
    return total;
  }

  stop(): void {
    this.detach();
  }

  /** Prometheus text exposition format. */
  render(): string {
    const out: string[] = [];
    const meta = (name: string, type: string, help: string) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    const counter = (name: string, help: string) => {
      meta(name, 'counter', help);
      const series = this.counters.get(name);
      if (!series || series.size === 0) out.push(`${name} 0`);
      else for (const [key, { value }] of series) out.push(`${name}${key} ${value}`);
    };
    meta('wharf_sessions', 'gauge', 'Sessions open now.');
    out.push(`wharf_sessions ${this.source.sessionCount}`);
    meta('wharf_passive_ports_in_use', 'gauge', 'Passive data listeners open now.');
    out.push(`wharf_passive_ports_in_use ${this.source.passiveListeners}`);
    meta('wharf_uptime_seconds', 'gauge', 'Seconds since metrics collection started.');
    out.push(`wharf_uptime_seconds ${Math.round((Date.now() - this.startedAt) / 1000)}`);
    counter('wharf_sessions_total', 'Sessions opened.');
    counter('wharf_logins_total', 'Login attempts by result.');
    counter('wharf_bytes_received_total', 'Bytes received in uploads.');
    counter('wharf_bytes_sent_total', 'Bytes sent in downloads.');
    counter('wharf_transfers_total', 'Finished transfers by direction and result.');
    counter('wharf_file_operations_total', 'Deletes, renames, mkdirs and rmdirs.');
    counter('wharf_bans_total', 'Client addresses banned after failed logins.');
    counter('wharf_refused_total', 'Connections and data connections refused, by reason.');
    meta('wharf_transfer_duration_seconds', 'histogram', 'Duration of finished transfers.');
    for (const [direction, h] of Object.entries(this.durations)) {
      DURATION_BUCKETS.forEach((le, i) => out.push(`wharf_transfer_duration_seconds_bucket{direction="${direction}",le="${le}"} ${h.counts[i]}`));
      out.push(`wharf_transfer_duration_seconds_bucket{direction="${direction}",le="+Inf"} ${h.count}`);
      out.push(`wharf_transfer_duration_seconds_sum{direction="${direction}"} ${h.sum}`);
      out.push(`wharf_transfer_duration_seconds_count{direction="${direction}"} ${h.count}`);
    }
    return out.join('\n') + '\n';
  }
}
