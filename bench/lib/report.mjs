// Turns a run into a summary (medians and ratios), docs/benchmarks.md and an SVG chart.
// Ratios are always "how many times better Wharf is": above 1.0 Wharf leads, whatever the
// unit's direction (for times and memory the ratio is peer / Wharf).
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export function median(xs) {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const advantage = (better, wharf, peer) => (better === 'higher' ? wharf / peer : peer / wharf);

/** A ratio for people: two decimals, three where two would round a deficit up to "1.00". */
export const ratioText = (ratio) => (ratio < 1 && ratio >= 0.995 ? ratio.toFixed(3) : ratio.toFixed(2));

export function summarize(run) {
  const rows = [];
  const add = (id, title, unit, better, medians, transfer) => {
    const wharf = medians.wharf;
    const peers = Object.entries(medians).filter(([name, v]) => name !== 'wharf' && v !== undefined && v > 0);
    let best;
    for (const [name, v] of peers) {
      if (!best || (better === 'higher' ? v > best[1] : v < best[1])) best = [name, v];
    }
    const ratio = wharf !== undefined && best ? advantage(better, wharf, best[1]) : undefined;
    const ratioFtpSrv = wharf !== undefined && medians.ftpsrv ? advantage(better, wharf, medians.ftpsrv) : undefined;
    rows.push({ id, title, unit, better, transfer: !!transfer, medians, wharf, bestPeer: best?.[0], best: best?.[1], ratio, ratioFtpSrv });
  };
  for (const w of run.workloads) {
    const medians = {};
    for (const [name, slot] of Object.entries(run.results[w.id] ?? {})) medians[name] = slot.unsupported ? undefined : median(slot.samples);
    add(w.id, w.title, w.unit, w.better, medians, w.transfer);
  }
  for (const d of run.derived) {
    const medians = {};
    for (const [name, slot] of Object.entries(run.results[d.from] ?? {})) {
      medians[name] = median((slot.extras ?? []).map((e) => e[d.field]).filter((v) => typeof v === 'number' && Number.isFinite(v)));
    }
    add(d.id, d.title, d.unit, d.better, medians, false);
  }
  return rows;
}

const fmt = (v) => {
  if (v === undefined || v === null || Number.isNaN(v)) return '–';
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  if (v >= 1) return v.toFixed(2);
  return v.toFixed(3);
};

function escapeXml(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A horizontal bar per row: Wharf's advantage over the best peer, on a log2 axis around 1.0x. */
export function chartSvg(rows) {
  const shown = rows.filter((r) => r.ratio !== undefined);
  const labelW = 430;
  const plotW = 420;
  const rowH = 26;
  const top = 40;
  const height = top + shown.length * rowH + 40;
  const width = labelW + plotW + 90;
  const maxLog = Math.max(2, ...shown.map((r) => Math.ceil(Math.abs(Math.log2(r.ratio)))));
  const x = (ratio) => labelW + plotW / 2 + (Math.max(-maxLog, Math.min(maxLog, Math.log2(ratio))) / maxLog) * (plotW / 2);
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Wharf vs the best peer per workload (right of 1.0x: Wharf leads)</text>`);
  for (let k = -maxLog; k <= maxLog; k++) {
    const gx = x(2 ** k);
    parts.push(`<line x1="${gx}" y1="${top - 6}" x2="${gx}" y2="${top + shown.length * rowH}" stroke="${k === 0 ? '#333' : '#ddd'}" stroke-width="${k === 0 ? 1.5 : 1}"/>`);
    const label = k >= 0 ? `${2 ** k}x` : `1/${2 ** -k}x`;
    parts.push(`<text x="${gx}" y="${top + shown.length * rowH + 16}" text-anchor="middle" fill="#555">${label}</text>`);
  }
  shown.forEach((r, i) => {
    const y = top + i * rowH;
    const x0 = x(1);
    const x1 = x(r.ratio);
    const lead = r.ratio >= 1;
    parts.push(`<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${escapeXml(r.title)}</text>`);
    parts.push(`<rect x="${Math.min(x0, x1)}" y="${y + 4}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${rowH - 8}" fill="${lead ? '#2e8b57' : '#c0392b'}"/>`);
    parts.push(`<text x="${lead ? Math.max(x0, x1) + 4 : Math.min(x0, x1) - 4}" y="${y + 16}" text-anchor="${lead ? 'start' : 'end'}" fill="#222">${ratioText(r.ratio)}x vs ${escapeXml(r.bestPeer)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/**
 * The full runs kept in `resultsDir` (complete, not quick), oldest first, with `current` last in
 * place of its own file: what the history chart draws.
 */
export function loadHistory(resultsDir, current) {
  const runs = [];
  for (const name of existsSync(resultsDir) ? readdirSync(resultsDir).sort() : []) {
    if (!name.endsWith('.json')) continue;
    try {
      const run = JSON.parse(readFileSync(path.join(resultsDir, name), 'utf8'));
      if (run.date !== current.date && run.complete !== false && !run.quick && Array.isArray(run.summary)) runs.push(run);
    } catch {
      // a file being written or not a run: not part of the history
    }
  }
  if (!current.quick) runs.push(current);
  return runs.sort((a, b) => String(a.date).localeCompare(String(b.date)));
}

/**
 * One small panel per row: Wharf's advantage over the best peer in each kept run, oldest on
 * the left, on a log2 axis from 1/4x to 4x around 1.0x. Shows what moved and how noisy a row is.
 */
export function historySvg(runs) {
  const rowIds = [];
  const titles = new Map();
  // Rows in the order of the newest run, then any that only older runs had.
  for (const run of [...runs].reverse()) {
    for (const r of run.summary) {
      if (!titles.has(r.id)) rowIds.push(r.id);
      titles.set(r.id, r.title);
    }
  }
  const cols = 3;
  const panelW = 330;
  const panelH = 120;
  const top = 46;
  const width = cols * panelW + 20;
  const height = top + Math.ceil(rowIds.length / cols) * panelH + 10;
  const maxLog = 2;
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  parts.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">Wharf vs the best peer, run by run (above the 1.0x line: Wharf leads)</text>`);
  const first = String(runs[0]?.date ?? '').slice(0, 16).replace('T', ' ');
  const last = String(runs[runs.length - 1]?.date ?? '').slice(0, 16).replace('T', ' ');
  parts.push(`<text x="${width / 2}" y="36" text-anchor="middle" fill="#555">${runs.length} full runs, ${escapeXml(first)} to ${escapeXml(last)} UTC; axis 1/4x to 4x</text>`);
  rowIds.forEach((id, i) => {
    const px = 10 + (i % cols) * panelW;
    const py = top + Math.floor(i / cols) * panelH;
    const plotX = px + 40;
    const plotW = panelW - 90;
    const plotY = py + 22;
    const plotH = panelH - 40;
    const y = (ratio) => plotY + plotH / 2 - (Math.max(-maxLog, Math.min(maxLog, Math.log2(ratio))) / maxLog) * (plotH / 2);
    const x = (k) => plotX + (runs.length > 1 ? (k / (runs.length - 1)) * plotW : plotW / 2);
    const title = titles.get(id);
    parts.push(`<text x="${px + 4}" y="${py + 14}" font-weight="bold">${escapeXml(title.length > 52 ? title.slice(0, 51) + '…' : title)}</text>`);
    parts.push(`<rect x="${plotX}" y="${plotY}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#ddd"/>`);
    parts.push(`<line x1="${plotX}" y1="${y(1)}" x2="${plotX + plotW}" y2="${y(1)}" stroke="#333"/>`);
    parts.push(`<text x="${plotX - 4}" y="${y(1) + 4}" text-anchor="end" fill="#555">1x</text>`);
    parts.push(`<text x="${plotX - 4}" y="${y(4) + 8}" text-anchor="end" fill="#999">4x</text>`);
    parts.push(`<text x="${plotX - 4}" y="${y(0.25)}" text-anchor="end" fill="#999">¼x</text>`);
    const points = [];
    runs.forEach((run, k) => {
      const r = run.summary.find((row) => row.id === id);
      if (r?.ratio !== undefined && r.ratio > 0) points.push([x(k), y(r.ratio), r.ratio]);
    });
    if (points.length > 1) parts.push(`<polyline fill="none" stroke="#888" points="${points.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ')}"/>`);
    for (const [a, b, ratio] of points) parts.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3.5" fill="${ratio >= 1 ? '#2e8b57' : '#c0392b'}"/>`);
    const lastPoint = points[points.length - 1];
    if (lastPoint) parts.push(`<text x="${plotX + plotW + 6}" y="${(lastPoint[1] + 4).toFixed(1)}" fill="#222">${ratioText(lastPoint[2])}x</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export function writeReport(run, docsDir, resultsRel) {
  const rows = run.summary;
  const names = run.servers.map((s) => s.name);
  const label = Object.fromEntries(run.servers.map((s) => [s.name, s.label]));
  const md = [];
  md.push('# Benchmarks');
  md.push('');
  md.push('<!-- Generated by `npm run bench` (bench/run.mjs); edits here are overwritten. -->');
  md.push('');
  md.push(`Wharf against the FTP servers people actually run, side by side on one machine in one run (${run.date}${run.quick ? `, **quick mode: small sizes${run.reps === 1 ? ', one repetition, for sanity only' : ''}**` : ''}).`);
  md.push(`Every figure is the **median of ${run.reps} repetition${run.reps > 1 ? 's' : ''}**; the ratio says how many times better Wharf is than the best peer on that row (above 1.00 Wharf leads; for times and memory it is peer ÷ Wharf).`);
  md.push('');
  if (run.complete === false) md.push('**This run was cut short: only the rows below were measured.**', '');
  md.push('![Wharf vs the best peer](benchmarks.svg)');
  md.push('');
  md.push('## Results');
  md.push('');
  md.push(`| workload | unit | ${names.map((n) => label[n]).join(' | ')} | best peer | Wharf ÷ best | Wharf ÷ ftp-srv |`);
  md.push(`|---|---|${names.map(() => '--:').join('|')}|---|--:|--:|`);
  for (const r of rows) {
    const cells = names.map((n) => {
      const slot = run.results[r.id]?.[n] ?? run.results[run.derived.find((d) => d.id === r.id)?.from]?.[n];
      if (slot?.unsupported) return 'n/a';
      const v = r.medians[n];
      if (v === undefined && slot?.errors?.length) return 'failed';
      return n === 'wharf' ? `**${fmt(v)}**` : fmt(v);
    });
    const dir = r.better === 'higher' ? '↑' : '↓';
    md.push(`| ${r.title} | ${r.unit} ${dir} | ${cells.join(' | ')} | ${r.bestPeer ? label[r.bestPeer] : '–'} | ${r.ratio !== undefined ? `**${ratioText(r.ratio)}x**` : '–'} | ${r.ratioFtpSrv !== undefined ? `${ratioText(r.ratioFtpSrv)}x` : '–'} |`);
  }
  md.push('');
  md.push('↑ higher is better, ↓ lower is better. "n/a": the server has no such command (vsftpd has no MLSD), or the bench runs it without FTPS (FTPS rows). "failed": every repetition failed (see the JSON for the error).');
  md.push('');
  const leads = rows.filter((r) => r.ratio !== undefined && r.ratio >= 1).length;
  const counted = rows.filter((r) => r.ratio !== undefined).length;
  md.push(`Wharf leads on **${leads} of ${counted}** rows in this run.`);
  const behind = rows.filter((r) => r.ratio !== undefined && r.ratio < 1);
  if (behind.length) md.push(`Behind: ${behind.map((r) => `${r.title} (${ratioText(r.ratio)}x vs ${label[r.bestPeer]})`).join('; ')}.`);
  md.push('');
  const idle = run.results.idle_memory;
  const rssMedians = names.map((n) => [n, median((idle?.[n]?.extras ?? []).map((e) => e.rssMiB).filter((v) => typeof v === 'number'))]).filter(([, v]) => v !== undefined);
  if (rssMedians.length) {
    md.push(`The memory row by RSS instead of PSS (medians, MiB; a forking server's processes summed, so its shared pages count once per process): ${rssMedians.map(([n, v]) => `${label[n]} ${n === 'wharf' ? `**${fmt(v)}**` : fmt(v)}`).join(', ')}.`);
    md.push('');
  }
  // A run without FTPS rows (e.g. --only plain rows) keeps the FTPS section an earlier run or
  // a hand edit put there, instead of silently dropping those figures.
  const carried = run.workloads.some((w) => w.tls) ? undefined : previousFtpsSection(path.join(docsDir, 'benchmarks.md'));
  if (carried) md.push(carried, '');
  const history = loadHistory(path.resolve(docsDir, path.dirname(resultsRel)), run);
  if (history.length > 1) {
    md.push('## Over time');
    md.push('');
    md.push(`Wharf ÷ best peer for every row in each of the ${history.length} full runs kept in \`bench/results/\` (oldest on the left, this run last). The runs span Wharf's development, so a step that holds is usually a change in Wharf; a row that zigzags from run to run is this shared 2-core machine's noise (see each run's JSON for the individual repetitions).`);
    md.push('');
    md.push('![Wharf vs the best peer, run by run](benchmarks-history.svg)');
    md.push('');
  }
  md.push('## Machine and versions');
  md.push('');
  md.push(`- CPU: ${run.machine.cpu}, **${run.machine.cores} cores** (clients, curl and the server share them: every server is measured under the same contention), ${run.machine.memoryGiB} GiB RAM, Linux ${run.machine.kernel}`);
  md.push(`- Node ${run.machine.node}; ${run.machine.curl}`);
  if (run.machine.dentries) md.push(`- Kernel dentry cache at the start: ${run.machine.dentries.total.toLocaleString('en')} entries, ${run.machine.dentries.negative.toLocaleString('en')} of them negative (names of deleted files): listings depend on it, see the caveats below`);
  if (run.machine.freePageReportingOrder != null) md.push(`- A VM whose host reclaims free guest memory (virtio-balloon free page reporting, blocks of order ${run.machine.freePageReportingOrder} and up): see the caveats below`);
  for (const n of names) md.push(`- ${label[n]}: ${run.versions[n]}${n === 'wharf' ? ` (\`--workers ${run.wharfWorkers}\`${run.wharfNative === undefined ? '' : run.wharfNative ? ', native fast path' : ', JavaScript path (native module not built)'})` : ''}`);
  if (run.problems?.length) md.push(`- Problems during setup: ${run.problems.join('; ')}`);
  md.push(`- Raw data: [${path.basename(resultsRel)}](${resultsRel.split(path.sep).join('/')})`);
  md.push('');
  md.push(method(run));
  writeFileSync(path.join(docsDir, 'benchmarks.md'), md.join('\n'));
  writeFileSync(path.join(docsDir, 'benchmarks.svg'), chartSvg(rows));
  if (history.length > 1) writeFileSync(path.join(docsDir, 'benchmarks-history.svg'), historySvg(history));
}

/** The `## FTPS` section of an existing benchmarks.md, up to the next `## ` heading. */
function previousFtpsSection(file) {
  if (!existsSync(file)) return undefined;
  const m = /^## FTPS\n[\s\S]*?(?=^## )/m.exec(readFileSync(file, 'utf8'));
  return m ? m[0].trimEnd() : undefined;
}

const method = (run) => `## Method

\`npm run bench\` does everything: it installs the peers (Debian \`vsftpd\`, \`python3-pyftpdlib\` and
\`curl\` as packages; \`proftpd-core\`, \`proftpd-mod-crypto\` (ProFTPD's \`mod_tls\`) and \`pure-ftpd\` with \`apt-get download\` + \`dpkg -x\` into
\`bench/.peers/\` because the three daemons conflict as packages; \`ftp-srv\` from npm into
\`bench/.peers/node/\`, never a Wharf dependency), builds the served tree under \`bench/.work/\`, starts
every server on 127.0.0.1 and runs each workload against each server in turn, rotating the order every
repetition. \`npm run bench -- --quick\` runs small sizes once, as a sanity check. Options:
\`--reps N\`, \`--only id,id\`, \`--servers wharf,vsftpd\`, \`--workers N\` (Wharf's processes; default 1, as \`wharf serve\` runs),
\`--no-docs\`.

**Equivalent settings.** One account, one writable root (the same folder for all), a passive port range,
loopback only, no connection caps (\`max_clients=0\`, \`MaxInstances\`, \`-c/-C\`, \`max_cons=0\`,
\`--max-connections\`), no per-command or transfer logging, no reverse DNS. The C daemons authenticate a
system account against /etc/shadow; Wharf authenticates against a users file with an scrypt hash (its
recommended setup; a plain \`--user\` password would skip scrypt). ProFTPD keeps its default \`mod_delay\`.
Wharf runs as \`wharf serve ROOT --host 127.0.0.1 --port P --users-file FILE --write --pasv-ports A-B
--max-connections 100000 --max-connections-per-ip 100000 --log-level error\` (plus \`--tls-cert\`/\`--tls-key\`
for FTPS). Its safety defaults would otherwise cap 1 000 idle sessions from one address (500 per address);
the per-session command rate limit (10 000/s sustained, 20 000 burst) stays on and no workload reaches it.

**Workloads.** The big downloads use curl to /dev/null. The big plain upload uses \`bench/clients/stor-sendfile.py\`
(Python's ftplib for the commands, then the cached file sent with sendfile(2), timed from connect to the 226):
curl \`-T\` copies the file through a user-space buffer, and over loopback that copy held every server near the
same rate (Wharf 2.35, Pure-FTPd 2.33 GB/s in the last run with curl). FTPS uploads still use curl \`-T\`. Everything
concurrent uses \`bench/clients/load.mjs\`, a raw-socket Node client in its own process, with clients spread
over source addresses 127.0.0.2–251 so no per-address rule or port range is the limit. Small files: each
client does STOR, RETR and DELE of a 4 KB file in a loop; each of the three counts as one operation.
Before each timed repetition of the big transfers and of the concurrent RETR, the harness reads the file once
through the page cache (untimed), so no server pays for the disk by running first. Each server also gets one
untimed login before the first row: a first login costs what later ones do not (Wharf derives its scrypt
hash once, ~0.1 s, then caches the verified credentials), and the first RETR would otherwise carry it.
Where Wharf's CPU goes in these workloads is drawn as flame graphs in [profiling.md](profiling.md) (\`npm run profile\`).
Listings are timed from
the command to the last byte. Memory is the PSS (proportional set size) of the
server's whole process tree, so forking servers are not charged their shared pages once per child; RSS is
under the table and in the JSON. CPU per GB is user+system time of the server and every process it forked during the big
RETR/STOR, ${run.cpuAccounting === 'proc' ? 'read from /proc (cgroups were not writable: the time of a forked child reaped by init is missed)' : "read from a cpuacct cgroup per server, which also counts children that exited and were reaped by init (from /proc, vsftpd's session processes went uncounted)"}.

**FTPS.** The big FTPS rows are the same RETR/STOR with curl \`--ssl-reqd -k\`: explicit \`AUTH TLS\`, then
\`PBSZ 0\` + \`PROT P\`, so control and data are both encrypted; curl resumes the control connection's TLS
session on the data connection. The FTPS logins, concurrent transfers and small files are the plain rows'
jobs with \`load.mjs\` speaking FTPS as curl does (\`AUTH TLS\` and a full handshake before \`USER\`, then
\`PBSZ 0\` + \`PROT P\`; every data connection starts its handshake right after connecting, resuming the
control connection's TLS 1.3 session, and ends with close_notify). Node's TLS client costs about as much
CPU per handshake as the servers do, so on this 2-core machine these rows measure the client and the
server sharing the cores (the JSON keeps the client's CPU per repetition). Every server offers FTPS beside plain FTP with one self-signed
ECDSA P-256 certificate made at bench start (\`bench/.work/*/tls-*.pem\`): Wharf \`--tls-cert/--tls-key\`,
pyftpdlib \`TLS_FTPHandler\` (pyOpenSSL), vsftpd \`ssl_enable=YES\` (its default \`require_ssl_reuse=YES\`),
ProFTPD \`mod_tls\` from Debian's \`proftpd-mod-crypto\` (\`TLSEngine on\`, \`TLSECCertificateFile\`,
\`TLSRequired off\`; its default also requires the data connection to resume the control session),
Pure-FTPd \`-Y 1 -2 cert,key\`, ftp-srv its \`tls\` option (\`{ key, cert }\`). ftp-srv's data listener is
a TLS server of its own, so it does a full handshake on every data connection instead of resuming.
ftp-srv 4.6.3 switched the control connection to TLS a turn after its \`234\` reply, so curl's
ClientHello was sometimes read as a command and the handshake failed (about 1 login in 15):
\`bench/servers/ftpsrv.mjs\` replaces its \`AUTH TLS\` handler with one that writes the reply and wraps
the socket in one tick; its transfers are ftp-srv's own.

**Caveats.** The machine has 2 cores and the clients run on it too, so figures are relative, not
absolute; the ratios are what to compare. pyftpdlib, vsftpd and ProFTPD use sendfile(2) for RETR; Node has
none, so Wharf's plain transfers go through its small native module (\`native/wharf.c\`: sendfile for RETR,
splice socket → pipe → file for STOR; built with the system C compiler, see docs/deployment.md). The run
records whether it was loaded (\`wharfNative\` in the JSON); without it Wharf reads into large buffers and
writes them to the socket. The same module formats LIST and MLSD lines of local folders (\`native/listing.c\`).
FTPS bodies are encrypted in user space either way. A freshly started Wharf pays for its first login's
scrypt (~0.1 s of CPU, by design: see docs/security.md) in the first workload's first repetition; verified
credentials are cached after that, as they would be on a long-running server.

**Listings depend on the kernel's dentry cache.** Every entry of a LIST or MLSD costs a name lookup
(one \`fstatat\` per entry, in every server), and the lookup walks a hash chain that grows with the
number of cached names. Deleted files stay cached as negative entries until memory runs short, so
benchmark churn piles them up: with 1.2 million of them on this machine (its dentry hash has 131 072
buckets), Wharf's MLSD of 10 000 entries took 42 ms of CPU, 61% of it in the kernel's
\`__d_lookup_rcu\`, against 16.5 ms after \`echo 2 > /proc/sys/vm/drop_caches\`; Pure-FTPd's went from
43 to 17.5 ms. The machine line above gives the count at the start of this run. Wharf stats the entries
of a big folder on two threads (\`native/listing.c\`), which helps most when lookups are slow.

**Order matters on a VM that hands free memory back.** Where the guest reports free memory to its
host (the machine line above says so), blocks that stay free for a while are reclaimed by the host,
and the next program to touch them pays a host page fault per page. The server that runs right
after a long repetition (ftp-srv's 200 uploads take ~3 s) gets those blocks for its page cache:
Wharf's 200 concurrent STOR measured 1.2-2.2 GB/s there against 2.4-2.7 right after its own
repetition, and the gap closed when reporting was switched off
(\`/sys/module/page_reporting/parameters/page_reporting_order\`). Wharf now writes uploads in
128 KiB pieces while other transfers run, so the page cache asks for small folios, which come from
recently freed memory (2.0-2.7 GB/s in the same position; see \`native/engine.c\`). The order still
rotates every repetition, so no server always follows the same one.

**The concurrent rows use one client process.** The 200 logins, the 200 concurrent RETR and STOR
and the small-files row run every connection from one Node process. A client made of processes
changes the standings. With 200 \`curl\` processes (\`bench/curl-many-probe.mjs\`), Wharf led
200 RETR by 1.25x and 200 STOR by 1.55x; there, the forking servers pay a fork and a shadow check per
client. With 20 Python \`ftplib\` processes on one persistent session each
(\`bench/ftplib-probe.mjs\`), Pure-FTPd led the small-files load by 1.3-1.5x: a process per session
gets a CPU share per session, where Wharf's one event loop has one. Both are measured in
[profiling.md](profiling.md), "Many client processes".
`;
