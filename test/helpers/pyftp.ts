import { run, requireBinary, describeRun } from './run.js';

/**
 * Drives Python's standard ftplib (no pip packages) through a small script given with -c.
 * The script reads one JSON job on stdin: where to connect, whom to log in as, passive or
 * active, and a list of operations. It runs them in order and prints one JSON result per
 * operation, so a test sees exactly which step failed and with which FTP reply.
 */
const DRIVER = String.raw`
import ftplib, json, sys
job = json.loads(sys.stdin.buffer.read().decode('utf-8'))
out = []
ftp = ftplib.FTP(encoding='utf-8', timeout=10)
def reply_of(e):
    return str(e.args[0]) if e.args else repr(e)
try:
    ftp.connect(job['host'], job['port'])
    out.append({'op': 'connect', 'ok': True, 'result': ftp.getwelcome()})
except Exception as e:
    out.append({'op': 'connect', 'ok': False, 'error': reply_of(e)})
    print(json.dumps(out)); sys.exit(0)
ftp.set_pasv(job.get('passive', True))
for op in job['ops']:
    name, args = op[0], op[1:]
    try:
        if name == 'login': r = ftp.login(args[0], args[1])
        elif name == 'pwd': r = ftp.pwd()
        elif name == 'cwd': r = ftp.cwd(args[0])
        elif name == 'nlst': r = ftp.nlst(*args)
        elif name == 'list':
            lines = []
            ftp.retrlines('LIST' + (' ' + args[0] if args else ''), lines.append)
            r = lines
        elif name == 'mlsd': r = [n for n, facts in ftp.mlsd(*args) if facts.get('type') not in ('cdir', 'pdir')]
        elif name == 'size': r = ftp.size(args[0])
        elif name == 'mkd': r = ftp.mkd(args[0])
        elif name == 'rmd': r = ftp.rmd(args[0])
        elif name == 'delete': r = ftp.delete(args[0])
        elif name == 'rename': r = ftp.rename(args[0], args[1])
        elif name == 'sendcmd': r = ftp.sendcmd(args[0])
        elif name == 'stor':
            # stor REMOTE LOCALFILE [REST]
            with open(args[1], 'rb') as f:
                rest = args[2] if len(args) > 2 else None
                if rest is not None: f.seek(rest)
                r = ftp.storbinary('STOR ' + args[0], f, 65536, None, rest)
        elif name == 'appe':
            with open(args[1], 'rb') as f:
                r = ftp.storbinary('APPE ' + args[0], f, 65536)
        elif name == 'retr':
            # retr REMOTE LOCALFILE [REST]: with REST, appends to LOCALFILE (a resumed download)
            rest = args[2] if len(args) > 2 else None
            with open(args[1], 'ab' if rest else 'wb') as f:
                r = ftp.retrbinary('RETR ' + args[0], f.write, 65536, rest)
        elif name == 'retrtext':
            lines = []
            r = ftp.retrbinary('RETR ' + args[0], lambda b: lines.append(b.decode('latin-1')))
            r = ''.join(lines)
        elif name == 'storlines':
            with open(args[1], 'rb') as f:
                r = ftp.storlines('STOR ' + args[0], f)
        elif name == 'retrlines':
            lines = []
            ftp.retrlines('RETR ' + args[0], lines.append)
            r = lines
        elif name == 'abortretr':
            # Starts RETR, reads one block, then ABOR (urgent data, as ftplib sends it):
            # the result is the replies seen and that the session still works.
            conn = ftp.transfercmd('RETR ' + args[0])
            first = conn.recv(65536)
            abor = ftp.abort()
            conn.close()
            try:
                final = ftp.voidresp()
            except ftplib.all_errors as e:
                final = reply_of(e)
            r = {'bytes': len(first), 'abor': abor, 'final': final, 'noop': ftp.sendcmd('NOOP')}
        else: raise ValueError('unknown op ' + name)
        out.append({'op': name, 'ok': True, 'result': r})
    except Exception as e:
        out.append({'op': name, 'ok': False, 'error': reply_of(e)})
try:
    ftp.quit()
except Exception:
    ftp.close()
print(json.dumps(out))
`;

export type PyOp = [string, ...Array<string | number>];

export interface PyStep {
  op: string;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface PyJob {
  port: number;
  host?: string;
  passive?: boolean;
  ops: PyOp[];
}

/** Runs the ops with ftplib; returns one step per op, after the `connect` step. */
export async function ftplib(job: PyJob, timeoutMs = 20_000): Promise<PyStep[]> {
  requireBinary('python3');
  const r = await run('python3', ['-c', DRIVER], {
    input: JSON.stringify({ host: '127.0.0.1', passive: true, ...job }),
    timeoutMs,
    env: { PYTHONIOENCODING: 'utf-8' },
  });
  const text = r.stdout.toString('utf8').trim();
  if (r.code !== 0 || !text) throw new Error(describeRun('python3 ftplib driver', r));
  const steps = JSON.parse(text) as PyStep[];
  if (!steps[0]?.ok) throw new Error(`ftplib could not connect: ${steps[0]?.error}`);
  return steps.slice(1);
}

/** Asserts every step succeeded; returns the results by index. */
export function allOk(steps: PyStep[]): unknown[] {
  const bad = steps.find((s) => !s.ok);
  if (bad) throw new Error(`ftplib step "${bad.op}" failed: ${bad.error}\nall steps: ${JSON.stringify(steps)}`);
  return steps.map((s) => s.result);
}
