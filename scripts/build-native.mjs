#!/usr/bin/env node
// Builds Wharf's optional native fast path (native/wharf.c and native/listing.c -> dist/native/wharf.node).
// Only a C compiler is needed (no node-gyp, no Node headers). When there is none, or the
// platform is not Linux, Wharf runs without it: every transfer still works, through the
// portable JavaScript path. Set WHARF_NATIVE=off to skip building it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['wharf.c', 'listing.c', 'engine.c', 'datapath.c', 'loop-upload.c', 'tls-link.c', 'file-pages.c'].map((name) => path.join(root, 'native', name));
const output = path.join(root, 'dist', 'native', 'wharf.node');

function skip(why) {
  rmSync(output, { force: true }); // never leave a stale build behind
  console.log(`wharf: native fast path not built (${why}); transfers use the JavaScript path`);
  process.exit(0);
}

if (process.env.WHARF_NATIVE === 'off') skip('WHARF_NATIVE=off');
if (process.platform !== 'linux') skip(`needs Linux, this is ${process.platform}`);
mkdirSync(path.dirname(output), { recursive: true });
const cc = process.env.CC || 'cc';
// Built beside the target and renamed over it: a server still running the previous module
// keeps its mapping of the old file instead of seeing it rewritten under it.
const building = `${output}.${process.pid}.tmp`;
const result = spawnSync(cc, ['-O2', '-Wall', '-shared', '-fPIC', '-o', building, ...sources, '-lm', '-lpthread'], { encoding: 'utf8' });
if (result.error || result.status !== 0) rmSync(building, { force: true });
if (result.error) skip(`${cc}: ${result.error.message}`);
if (result.status !== 0) skip(`${cc} failed: ${(result.stderr || '').trim().split('\n').slice(-3).join(' | ')}`);
renameSync(building, output);
const check = spawnSync(process.execPath, ['-e', `const m = require(${JSON.stringify(output)}); if (typeof m.sendfile !== 'function' || typeof m.spliceToFile !== 'function' || typeof m.listFill !== 'function') process.exit(1);`]);
if (check.status !== 0) skip('the built module did not load');
