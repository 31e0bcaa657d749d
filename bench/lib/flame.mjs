// Flame graphs from V8 CPU profiles (`node --cpu-prof`), as self-contained SVG: no scripts, no
// dependencies; hover a frame for its tooltip. Used by bench/profile.mjs (`npm run profile`).
//
// Time: sample i lasts until sample i+1 (timeDeltas[i+1]); the last one until the profile's
// endTime. Samples of "(idle)" (the event loop waiting in epoll) are left out: widths are shares
// of the busy time. Stacks are merged by function (name + url + line), root at the bottom,
// siblings in alphabetical order (as flamegraph.pl does); x order means nothing else.

const WIDTH = 1200;
const PAD = 10;
const FRAME_H = 16;
const CHAR_W = 6.6; // 11px monospace
const HEADER_H = 92;
const FOOTER_H = 20;

/** @typedef {{ functionName: string, url: string, lineNumber: number, columnNumber?: number, scriptId?: string | number }} CallFrame */
/** @typedef {{ id: number, callFrame: CallFrame, children?: number[], hitCount?: number }} ProfileNode */
/** @typedef {{ nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }} CpuProfile */

export function escapeXml(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    // characters XML 1.0 does not allow at all (controls other than tab/LF/CR, lone surrogates)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** Microseconds each sample stands for (see the top of the file). */
export function sampleDurations(profile) {
  const { samples, timeDeltas } = profile;
  const out = new Array(samples.length);
  let t = profile.startTime;
  const stamps = samples.map((_, i) => (t += timeDeltas[i] ?? 0));
  for (let i = 0; i < samples.length; i++) {
    const next = i + 1 < samples.length ? stamps[i + 1] : Math.max(profile.endTime, stamps[i]);
    out[i] = Math.max(0, next - stamps[i]);
  }
  return { durations: out, stamps };
}

/**
 * The same profile with only the samples taken in [fromUs, toUs] (V8's clock: on Linux
 * CLOCK_MONOTONIC, as process.hrtime), e.g. one measured run out of a whole server's life.
 */
export function sliceProfile(profile, fromUs, toUs) {
  const { durations, stamps } = sampleDurations(profile);
  const samples = [];
  const timeDeltas = [];
  let last = fromUs;
  let end = fromUs;
  for (let i = 0; i < profile.samples.length; i++) {
    if (stamps[i] < fromUs || stamps[i] > toUs) continue;
    samples.push(profile.samples[i]);
    timeDeltas.push(stamps[i] - last);
    last = stamps[i];
    end = Math.min(toUs, stamps[i] + durations[i]);
  }
  return { ...profile, startTime: fromUs, endTime: Math.max(end, last), samples, timeDeltas };
}

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** Where a frame's code lives: 'wharf' | 'node' | 'native' | 'other'. */
export function kindOf(callFrame) {
  const url = callFrame.url ?? '';
  if (SPECIAL.has(callFrame.functionName) || url === '') return 'native';
  if (url.startsWith('node:')) return 'node';
  if (url.includes('/dist/src/') && !url.includes('/node_modules/')) return 'wharf';
  return 'other';
}

/** A url for people: the part after dist/ or node_modules/, else the path. */
export function shortUrl(url) {
  if (!url) return '';
  const p = url.replace(/^file:\/\//, '');
  const nm = p.lastIndexOf('/node_modules/');
  if (nm >= 0) return p.slice(nm + 1);
  const dist = p.lastIndexOf('/dist/');
  if (dist >= 0) return p.slice(dist + 1);
  return p;
}

const nameOf = (cf) => cf.functionName || '(anonymous)';
const keyOf = (cf) => `${nameOf(cf)}\u0000${cf.url ?? ''}\u0000${cf.lineNumber ?? -1}`;
const whereOf = (cf) => (cf.url ? `${shortUrl(cf.url)}:${(cf.lineNumber ?? -1) + 1}` : 'native');

/** Per profile node: its parent id, and the busy/idle split of the samples. */
function analyse(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const { durations } = sampleDurations(profile);
  const nodeTime = new Map();
  let idle = 0;
  let busy = 0;
  let busySamples = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const d = durations[i];
    if (node.callFrame.functionName === '(idle)') {
      idle += d;
      return;
    }
    busy += d;
    busySamples++;
    nodeTime.set(id, (nodeTime.get(id) ?? 0) + d);
  });
  return { byId, parent, nodeTime, idle, busy, busySamples };
}

/**
 * Self time per function (name + url + line), "(idle)" left out, most first.
 * @returns {{ name: string, where: string, url: string, line: number, kind: string, ms: number, percent: number }[]}
 */
export function topSelf(profile, n = 15) {
  const { byId, nodeTime, busy } = analyse(profile);
  const acc = new Map();
  for (const [id, us] of nodeTime) {
    const cf = byId.get(id).callFrame;
    const key = keyOf(cf);
    const e = acc.get(key) ?? { name: nameOf(cf), where: whereOf(cf), url: cf.url ?? '', line: (cf.lineNumber ?? -1) + 1, kind: kindOf(cf), us: 0 };
    e.us += us;
    acc.set(key, e);
  }
  return [...acc.values()]
    .sort((a, b) => b.us - a.us || a.name.localeCompare(b.name))
    .slice(0, n)
    .map(({ us, ...e }) => ({ ...e, ms: us / 1000, percent: busy > 0 ? (100 * us) / busy : 0 }));
}

/** The merged call tree: { frame, us, children: Map(key -> tree) } with "(root)" as the top. */
function mergedTree(profile) {
  const { byId, parent, nodeTime, idle, busy, busySamples } = analyse(profile);
  const root = { frame: { functionName: 'all', url: '', lineNumber: -1 }, us: 0, children: new Map() };
  for (const [id, us] of nodeTime) {
    const path = [];
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur)?.callFrame;
      if (cf && cf.functionName !== '(root)') path.push(cf);
    }
    let t = root;
    t.us += us;
    for (let k = path.length - 1; k >= 0; k--) {
      const cf = path[k];
      const key = keyOf(cf);
      let child = t.children.get(key);
      if (!child) t.children.set(key, (child = { frame: cf, us: 0, children: new Map() }));
      child.us += us;
      t = child;
    }
  }
  return { root, idle, busy, busySamples };
}

const PALETTE = {
  wharf: { hue: [8, 40], sat: 85, light: [55, 68], label: "Wharf's own code (dist/src)" },
  node: { hue: [190, 225], sat: 55, light: [60, 74], label: 'Node internals (node:)' },
  native: { hue: [0, 0], sat: 0, light: [62, 78], label: 'native, (program), (garbage collector)' },
  other: { hue: [48, 62], sat: 80, light: [52, 66], label: 'other JS (node_modules, …)' },
};

function colour(cf) {
  const p = PALETTE[kindOf(cf)];
  let h = 0;
  for (const ch of nameOf(cf)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const f = (h % 1000) / 1000;
  const g = ((h >>> 10) % 1000) / 1000;
  const hue = p.hue[0] + (p.hue[1] - p.hue[0]) * f;
  const light = p.light[0] + (p.light[1] - p.light[0]) * g;
  return `hsl(${hue.toFixed(0)},${p.sat}%,${light.toFixed(0)}%)`;
}

const ms = (us) => (us / 1000).toFixed(us >= 100_000 ? 0 : 1);
const pct = (x) => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2));

function render(tree, { title, subtitle, minUs }) {
  const { root, busy } = tree;
  const plotW = WIDTH - 2 * PAD;
  const scale = busy > 0 ? plotW / busy : 0;
  let depth = 0;
  const frames = [];
  let dropped = 0;
  (function walk(t, x, d) {
    if (t.us < minUs) {
      dropped++;
      return;
    }
    depth = Math.max(depth, d);
    frames.push({ t, x, d });
    let cx = x;
    const kids = [...t.children.values()].sort((a, b) => nameOf(a.frame).localeCompare(nameOf(b.frame)) || keyOf(a.frame).localeCompare(keyOf(b.frame)));
    for (const k of kids) {
      walk(k, cx, d + 1);
      cx += k.us;
    }
  })(root, 0, 0);
  const height = HEADER_H + (depth + 1) * FRAME_H + FOOTER_H;
  const out = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#fdfcf8"/>`);
  out.push(`<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-family="sans-serif" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  subtitle.forEach((line, i) => {
    if (line) out.push(`<text x="${WIDTH / 2}" y="${37 + 14 * i}" text-anchor="middle" font-family="sans-serif" font-size="11" fill="#444">${escapeXml(line)}</text>`);
  });
  let lx = PAD;
  for (const p of Object.values(PALETTE)) {
    const swatch = `hsl(${p.hue[0]},${p.sat}%,${p.light[0]}%)`;
    out.push(`<rect x="${lx}" y="64" width="12" height="12" fill="${swatch}" stroke="#999" stroke-width="0.5"/>`);
    out.push(`<text x="${lx + 16}" y="74" font-family="sans-serif" fill="#333">${escapeXml(p.label)}</text>`);
    lx = Math.round(lx + 20 + p.label.length * 6.2 + 18);
  }
  const base = HEADER_H + depth * FRAME_H; // the root's row (bottom)
  for (const { t, x, d } of frames) {
    const cf = t.frame;
    const rx = PAD + x * scale;
    const w = t.us * scale;
    const y = base - d * FRAME_H;
    const name = d === 0 ? 'all (busy time)' : nameOf(cf);
    const where = d === 0 ? '' : ` (${whereOf(cf)})`;
    const tip = `${name}${where}: ${ms(t.us)} ms, ${pct((100 * t.us) / busy)}% of busy time`;
    out.push(`<g><title>${escapeXml(tip)}</title>`);
    out.push(`<rect x="${rx.toFixed(2)}" y="${y}" width="${Math.max(0.1, w - 0.5).toFixed(2)}" height="${FRAME_H - 1}" rx="1.5" fill="${d === 0 ? '#ccc' : colour(cf)}"/>`);
    const chars = Math.floor((w - 6) / CHAR_W);
    if (chars >= 3) {
      const label = name.length <= chars ? name : name.slice(0, chars - 1) + '…';
      out.push(`<text x="${(rx + 3).toFixed(2)}" y="${y + FRAME_H - 4.5}">${escapeXml(label)}</text>`);
    }
    out.push('</g>');
  }
  out.push(`<text x="${PAD}" y="${height - 6}" font-family="sans-serif" font-size="10" fill="#777">Width: share of sampled busy time. Stacks merged by function (name + file + line); root at the bottom; siblings alphabetical. Hover a frame for its figures.</text>`);
  out.push('</svg>');
  return { svg: out.join('\n') + '\n', dropped };
}

/**
 * An SVG flame graph of a V8 CPU profile.
 * @param {CpuProfile} profile
 * @param {{ title?: string, note?: string, maxBytes?: number, minFraction?: number }} [options]
 *   note: a second subtitle line; maxBytes (default 400 000): above it, frames narrower than
 *   minFraction (default 0.001) of the width are dropped, and the subtitle says so.
 */
export function flameSvg(profile, { title = 'CPU flame graph', note, maxBytes = 400_000, minFraction = 0.001 } = {}) {
  const tree = mergedTree(profile);
  const total = tree.busy + tree.idle;
  // two lines: the busy/idle figures (and what was dropped), then the caller's note
  const subtitle = (extra) => [
    [
      `busy ${ms(tree.busy)} ms (${tree.busySamples} samples)`,
      `idle ${ms(tree.idle)} ms (${total > 0 ? pct((100 * tree.idle) / total) : '0'}% of the ${ms(total)} ms profiled) left out`,
      extra,
    ]
      .filter(Boolean)
      .join('; '),
    note ?? '',
  ];
  let r = render(tree, { title, subtitle: subtitle(), minUs: 0 });
  if (Buffer.byteLength(r.svg) > maxBytes) {
    const minUs = tree.busy * minFraction;
    const pre = render(tree, { title, subtitle: [], minUs });
    r = render(tree, { title, subtitle: subtitle(`${pre.dropped} frames narrower than ${pct(minFraction * 100)}% of the width not drawn`), minUs });
  }
  return r.svg;
}
