import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as Flame from '../../bench/lib/flame.mjs';

// bench/lib/flame.mjs is not compiled: it is loaded from the source tree (dist/test/unit -> repo root).
const flame: typeof Flame = await import(new URL('../../../bench/lib/flame.mjs', import.meta.url).href);

const WEIRD = 'a<b>&"c"';
const url = 'file:///srv/wharf/dist/src/ftp/session.js';

/**
 * (root) -> handle (Wharf) -> { a<b>&"c", readSync (node:fs) }, plus (idle), (program) and
 * (garbage collector). Sample i lasts until sample i+1; the last one until endTime.
 */
function profile(): Flame.CpuProfile {
  const frame = (functionName: string, u = '', lineNumber = -1) => ({ functionName, url: u, lineNumber, columnNumber: 0, scriptId: u ? '1' : '0' });
  const nodes: Flame.ProfileNode[] = [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 7] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(program)') },
    { id: 4, callFrame: frame('handle', url, 9), children: [5, 6] },
    { id: 5, callFrame: frame(WEIRD, url, 41) },
    { id: 6, callFrame: frame('readSync', 'node:fs', 700) },
    { id: 7, callFrame: frame('(garbage collector)') },
  ];
  // stamps (µs):     0     2000  3000  4500  5000  9000  9500  10000 10400, end 10500
  const samples = [5, 5, 6, 4, 2, 3, 7, 5, 6];
  const timeDeltas = [0, 2000, 1000, 1500, 500, 4000, 500, 500, 400];
  // durations:      2000  1000  1500  500   4000  500   500   400   100
  // a<b>&"c": 2000+1000+400 = 3400; readSync: 1500+100 = 1600; handle self 500; idle 4000;
  // (program) 500; GC 500. Busy = 6500.
  return { nodes, startTime: 0, endTime: 10_500, samples, timeDeltas };
}

/** A small well-formedness check: every tag closed in order, attributes quoted, only XML's own entities, no raw < or & in text. */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = body.slice(i, lt < 0 ? body.length : lt);
    assert.doesNotMatch(text, /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/, `bad entity in ${JSON.stringify(text)}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(body);
    assert.ok(m, `malformed markup at ${JSON.stringify(body.slice(lt, lt + 60))}`);
    const [all, close, name, attrs, selfClose] = m;
    assert.doesNotMatch(attrs ?? '', /&(?!(amp|lt|gt|quot|apos);)/);
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else if (!selfClose) stack.push(name ?? '');
    i = lt + all.length;
  }
  assert.deepEqual(stack, [], 'unclosed elements');
}

/** The drawn width of the frame whose tooltip starts with `name`. */
function frameWidth(svg: string, name: string): number {
  const re = /<g><title>([^<]*)<\/title>\n<rect [^>]*width="([\d.]+)"/g;
  for (const m of svg.matchAll(re)) if (m[1]?.startsWith(name)) return Number(m[2]) + 0.5; // drawn 0.5 narrower as a gap
  throw new Error(`no frame ${name}`);
}

test('the flame graph is well-formed XML with names escaped', () => {
  const svg = flame.flameSvg(profile(), { title: 'test <&> "profile"' });
  assertWellFormed(svg);
  assert.ok(svg.includes('a&lt;b&gt;&amp;&quot;c&quot;'), 'escaped name present');
  assert.ok(!svg.includes('<b>'), 'no raw <b>');
  assert.ok(svg.includes('test &lt;&amp;&gt; &quot;profile&quot;'));
});

test('sibling frames are as wide as their sampled time', () => {
  const svg = flame.flameSvg(profile());
  const weird = frameWidth(svg, 'a&lt;b&gt;&amp;&quot;c&quot;');
  const read = frameWidth(svg, 'readSync');
  assert.ok(Math.abs(weird / read - 3400 / 1600) < 0.01, `ratio ${weird / read}`);
  // the bottom frame spans the busy time, the Wharf frame 5500 of the 6500 µs (3400 + 1600 + 500 self)
  const all = frameWidth(svg, 'all (busy time)');
  assert.ok(Math.abs(frameWidth(svg, 'handle') / all - 5500 / 6500) < 0.01);
  assert.match(svg, /a&lt;b&gt;&amp;&quot;c&quot; \(dist\/src\/ftp\/session\.js:42\): 3\.4 ms, 52% of busy time/);
});

test('idle time is left out of the busy total and said so', () => {
  const svg = flame.flameSvg(profile());
  assert.match(svg, /busy 6\.5 ms \(8 samples\)/);
  assert.match(svg, /idle 4\.0 ms \(38% of the 10\.5 ms profiled\) left out/);
  assert.ok(!/<title>\(idle\)/.test(svg), 'no (idle) frame');
  const top = flame.topSelf(profile(), 10);
  assert.ok(!top.some((e) => e.name === '(idle)'));
  const sum = top.reduce((a, e) => a + e.percent, 0);
  assert.ok(Math.abs(sum - 100) < 1e-9, `self percentages add up to ${sum}`);
});

test('topSelf orders functions by self time', () => {
  const top = flame.topSelf(profile(), 3);
  assert.deepEqual(
    top.map((e) => [e.name, Number(e.ms.toFixed(3))]),
    [
      [WEIRD, 3.4],
      ['readSync', 1.6],
      ['(garbage collector)', 0.5], // ties (0.5 ms each) by name: (garbage collector), (program), handle
    ],
  );
  assert.equal(top[0]?.kind, 'wharf');
  assert.equal(top[1]?.kind, 'node');
  assert.equal(top[2]?.kind, 'native');
  assert.ok(Math.abs((top[0]?.percent ?? 0) - (100 * 3400) / 6500) < 1e-9);
});

test('sliceProfile keeps only the samples in the window', () => {
  const sliced = flame.sliceProfile(profile(), 3000, 5000); // readSync, handle, idle
  const top = flame.topSelf(sliced, 5);
  assert.deepEqual(top.map((e) => e.name), ['readSync', 'handle']);
  assert.equal(top[0]?.ms, 1.5);
});

test('a graph over the size budget drops narrow frames and says so', () => {
  const svg = flame.flameSvg(profile(), { maxBytes: 100, minFraction: 0.2 });
  assertWellFormed(svg);
  assert.match(svg, /frames narrower than 20% of the width not drawn/);
  assert.ok(svg.includes('<title>readSync'), 'readSync (1.6 of 6.5 ms, 24.6%) is kept');
  assert.ok(!svg.includes('<title>(program)'), '(program) (0.5 of 6.5 ms, 7.7%) is dropped');
});
