// CPU time and memory of a server's whole process tree. Forking servers (vsftpd, ProFTPD,
// Pure-FTPd) do their work in children. From /proc, a child's CPU is counted while it lives
// and, once reaped, through its parent's cutime/cstime; but a session process whose parent
// exits first is reaped by init and its time is lost (vsftpd's STOR then showed 0.04 CPU s/GB,
// below the cost of one memory copy). So where the cpuacct cgroup controller is writable,
// each server runs in a cgroup of its own, which counts every descendant, exited or not.
import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const TICKS = 100; // USER_HZ on Linux

/** The fields of /proc/<pid>/stat (or of one thread's, /proc/<pid>/task/<tid>/stat) after comm; null when gone. */
function statFields(pid, tid) {
  try {
    const text = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of one thread (the main thread's tid is the pid), in seconds; 0 when it is gone. */
export function threadCpuSeconds(pid, tid = pid) {
  const f = statFields(pid, tid);
  return f ? (Number(f[11]) + Number(f[12])) / TICKS : 0;
}

/** CPU seconds of each of a process's threads, summed by thread name (/proc/<pid>/task/<tid>/comm). */
export function cpuByThreadName(pid) {
  const out = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let name;
    try {
      name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (Number(tid) === pid) name = 'main';
    out.set(name, (out.get(name) ?? 0) + threadCpuSeconds(pid, tid));
  }
  return out;
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

const CPUACCT = '/sys/fs/cgroup/cpuacct';
/** Server root pid -> its cgroup directory. */
const cgroups = new Map();

/**
 * Puts the process tree of `root` into a new cpuacct cgroup (children forked later inherit
 * it). Returns false, leaving the /proc method in place, where cgroups are not writable.
 */
export function accountCpuByCgroup(root, name) {
  const dir = path.join(CPUACCT, `wharf-bench-${process.pid}`, name);
  try {
    mkdirSync(dir, { recursive: true });
    for (const pid of processTree(root)) {
      try {
        writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
      } catch (err) {
        // A helper process that exited since the tree was read: nothing of it to count. Any
        // other failure means cgroups are not usable here (the /proc method stays).
        if (err.code !== 'ESRCH') throw err;
      }
    }
    cgroups.set(root, dir);
    return true;
  } catch {
    return false;
  }
}

/** Removes the cgroups made by accountCpuByCgroup (call once the servers have exited). */
export function releaseCpuCgroups() {
  for (const dir of cgroups.values()) {
    try {
      rmdirSync(dir);
      rmdirSync(path.dirname(dir));
    } catch {
      // still in use, or the parent has other children: harmless
    }
  }
  cgroups.clear();
}

/** CPU seconds (user + system) of the tree rooted at `root`: its cgroup's, or from /proc (children reaped included). */
export function treeCpuSeconds(root) {
  const cgroup = cgroups.get(root);
  if (cgroup) {
    try {
      return Number(readFileSync(path.join(cgroup, 'cpuacct.usage'), 'utf8')) / 1e9;
    } catch {
      // fall back to /proc
    }
  }
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

/** Busy CPU seconds of the whole machine (every CPU, /proc/stat: all but idle and iowait): what a job costs including kernel threads and softirq. */
export function machineCpuSeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + steal) / 100;
}
