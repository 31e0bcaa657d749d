// CPU time and memory of a server's whole process tree, read from /proc. Forking servers
// (vsftpd, ProFTPD, Pure-FTPd) do their work in children: their CPU is counted while they
// live and, once reaped, through the parent's cutime/cstime.
import { readFileSync, readdirSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

function statFields(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Every pid whose ancestry leads to `root`, root included. */
export function processTree(root) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(name);
    if (!f) continue;
    const ppid = Number(f[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(name));
  }
  const out = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    for (const c of children.get(pid) ?? []) stack.push(c);
  }
  return out;
}

/** CPU seconds (user + system, children reaped included) of the tree rooted at `root`. */
export function treeCpuSeconds(root) {
  let ticks = 0;
  for (const pid of processTree(root)) {
    const f = statFields(pid);
    if (!f) continue;
    // fields (0-based after comm): 11 utime, 12 stime, 13 cutime, 14 cstime
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return ticks / TICKS;
}

/**
 * Memory of the tree in MiB as PSS (proportional set size): shared pages are split between
 * the processes sharing them, so 1 000 forked children are not counted 1 000 times over.
 * RSS is reported beside it for reference.
 */
export function treeMemoryMiB(root) {
  let pssKb = 0;
  let rssKb = 0;
  let processes = 0;
  for (const pid of processTree(root)) {
    try {
      const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
      rssKb += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] ?? 0);
      processes++;
    } catch {
      // exited meanwhile
    }
  }
  return { pss: pssKb / 1024, rss: rssKb / 1024, processes };
}
