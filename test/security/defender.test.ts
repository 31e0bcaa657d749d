import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Defender } from '../../src/core/policy/defender.js';
import { AddressList } from '../../src/core/policy/cidr.js';
import { RateLimiter } from '../../src/core/policy/limits.js';
import { WharfEvents } from '../../src/core/events.js';
import { FLAGS, applyFlags, coerce, type FlagSpec } from '../../src/cli/flags.js';
import type { WharfOptions } from '../../src/index.js';
import { warnCapturingLogger } from '../helpers/logger.js';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test('defender: the delay doubles with each failure of an address, up to the cap', () => {
  const c = clock();
  const d = new Defender({ baseDelayMs: 100, maxDelayMs: 700, maxFailures: 0, now: c.now });
  const delays = [1, 2, 3, 4, 5].map((i) => d.recordFailure('203.0.113.9', `user${i}`).delayMs);
  assert.deepEqual(delays, [100, 200, 400, 700, 700]);
});

test('defender: the delay also grows per user name across addresses (distributed guessing)', () => {
  const c = clock();
  const d = new Defender({ baseDelayMs: 100, maxFailures: 0, now: c.now });
  const delays = ['198.51.100.1', '198.51.100.2', '198.51.100.3'].map((ip) => d.recordFailure(ip, 'root').delayMs);
  assert.deepEqual(delays, [100, 200, 400]);
});

test('defender: another user on another address is not slowed by an attack', () => {
  const c = clock();
  const d = new Defender({ baseDelayMs: 100, maxFailures: 0, now: c.now });
  for (let i = 0; i < 10; i++) d.recordFailure('198.51.100.7', 'root');
  const other = d.recordFailure('192.0.2.44', 'bob');
  assert.equal(other.delayMs, 100);
  assert.equal(other.ipFailures, 1);
  assert.equal(other.userFailures, 1);
});

test('defender: bans an address at the threshold, emits security:ban once, logs it, and the ban expires', () => {
  const c = clock();
  const events = new WharfEvents();
  const bans: Array<{ ip: string; untilMs: number; failures: number }> = [];
  events.on('security:ban', (b) => bans.push(b));
  const lines: string[] = [];
  const log = warnCapturingLogger(lines);
  const d = new Defender({ maxFailures: 3, banMs: 60_000, now: c.now }, events, log);
  assert.equal(d.recordFailure('203.0.113.5', 'a').banned, false);
  assert.equal(d.recordFailure('203.0.113.5', 'b').banned, false);
  assert.equal(d.isBanned('203.0.113.5'), false);
  assert.equal(d.recordFailure('203.0.113.5', 'c').banned, true);
  assert.equal(d.isBanned('203.0.113.5'), true);
  assert.equal(d.isBanned('::ffff:203.0.113.5'), true, 'the IPv4-mapped form is the same address');
  assert.equal(d.isBanned('203.0.113.6'), false);
  assert.equal(d.recordFailure('203.0.113.5', 'd').banned, true);
  assert.equal(bans.length, 1);
  assert.deepEqual(bans[0], { ip: '203.0.113.5', untilMs: 1_000_000 + 60_000, failures: 3 });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /banned/);
  assert.match(lines[0]!, /203\.0\.113\.5/);
  c.advance(59_999);
  assert.equal(d.isBanned('203.0.113.5'), true);
  c.advance(1);
  assert.equal(d.isBanned('203.0.113.5'), false);
  assert.equal(d.bannedCount, 0);
  // after the sentence the score starts again from zero
  assert.equal(d.recordFailure('203.0.113.5', 'e').ipFailures, 1);
});

test('defender: failures outside the window are forgotten', () => {
  const c = clock();
  const d = new Defender({ maxFailures: 3, banMs: 1000, windowMs: 10_000, now: c.now });
  d.recordFailure('203.0.113.8', 'x');
  d.recordFailure('203.0.113.8', 'x');
  c.advance(10_001);
  const v = d.recordFailure('203.0.113.8', 'x');
  assert.equal(v.ipFailures, 1);
  assert.equal(v.banned, false);
});

test('defender: the allow-list (plain IPs and CIDR, IPv4 and IPv6) is never banned', () => {
  const d = new Defender({ maxFailures: 1, allow: ['10.0.0.0/8', '192.0.2.7', '2001:db8::/32'] });
  for (const ip of ['10.1.2.3', '::ffff:10.9.9.9', '192.0.2.7', '2001:db8::1']) {
    for (let i = 0; i < 5; i++) assert.equal(d.recordFailure(ip, 'root').banned, false, ip);
    assert.equal(d.isBanned(ip), false, ip);
  }
  assert.equal(d.recordFailure('192.0.2.8', 'root').banned, true);
  assert.equal(d.recordFailure('127.0.0.1', 'root').banned, true, 'loopback is not allowed by default');
});

test('defender: memory stays bounded under many addresses and long user names', () => {
  const d = new Defender({ maxFailures: 0, maxTracked: 1000 });
  for (let i = 0; i < 20_000; i++) d.recordFailure(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'x'.repeat(5000) + i);
  const internals = d as unknown as { byIp: Map<string, unknown>; byUser: Map<string, unknown> };
  assert.equal(internals.byIp.size, 1000);
  assert.equal(internals.byUser.size, 1000);
  for (const key of internals.byUser.keys()) assert.ok(key.length < 100, 'long names are stored hashed');
});

test('address list: rejects what is not an address', () => {
  assert.throws(() => new AddressList(['10.0.0.0/33']), /prefix/);
  assert.throws(() => new AddressList(['example.com']), /not an IP/);
  assert.equal(new AddressList(['::1']).has('::1'), true);
  assert.equal(new AddressList(['::1']).has('127.0.0.1'), false);
});

test('rate limiter: bursts then a sustained rate', () => {
  let t = 0;
  const r = new RateLimiter(10, 20, () => t);
  let ok = 0;
  for (let i = 0; i < 100; i++) if (r.take()) ok++;
  assert.equal(ok, 20);
  t += 500; // half a second refills 5
  ok = 0;
  for (let i = 0; i < 100; i++) if (r.take()) ok++;
  assert.equal(ok, 5);
  assert.equal(new RateLimiter(0).take(1e9), true, 'rate 0 is unlimited');
});

function parse(args: Record<string, unknown>): WharfOptions {
  const values = new Map<FlagSpec, string | boolean | number | string[]>();
  for (const [flag, raw] of Object.entries(args)) {
    const spec = FLAGS.find((f) => f.flag === flag);
    assert.ok(spec, `flag --${flag} exists`);
    values.set(spec, coerce(spec, raw));
  }
  const options: WharfOptions = {};
  applyFlags(options, values);
  return options;
}

test('flags: --max-login-failures, --ban-time, --allow-ip, --shutdown-grace, --data-timeout, --max-command-rate', () => {
  const o = parse({
    'max-login-failures': '4',
    'ban-time': '60',
    'allow-ip': ['10.0.0.0/8', '::1'],
    'shutdown-grace': '7',
    'data-timeout': '9',
    'max-command-rate': '50',
  });
  assert.deepEqual(o.defender, { maxFailures: 4, banMs: 60_000, allow: ['10.0.0.0/8', '::1'] });
  assert.equal(o.shutdownGraceMs, 7000);
  assert.equal(o.timeouts?.dataConnectMs, 9000);
  assert.equal(o.limits?.maxCommandsPerSecond, 50);
  assert.throws(() => parse({ 'allow-ip': ['10.0.0.300'] }), /--allow-ip: .*not an IP/);
  assert.throws(() => parse({ 'ban-time': '0' }), /whole number from 1/);
});
