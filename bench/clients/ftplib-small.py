"""Small-files load from Python's ftplib, one process (or one thread) per client.

Each client logs in, waits for the others, then does ROUNDS x (STOR + RETR + DELE) of a
4 KB file with ftplib's own calls (storbinary/retrbinary send TYPE I before each transfer,
as ftplib always does). Prints one JSON line: ops, seconds (from the start barrier to the
last client's last DELE).

  python3 ftplib-small.py PORT CLIENTS ROUNDS USER PASS [PREFIX] [processes|threads]

"threads" runs every client in this one process, as a script with a thread pool would: the
GIL then serialises the clients' Python work, and the client is one CPU share, not twenty.
"""
import ftplib
import io
import json
import sys
import threading
import time
import multiprocessing

PAYLOAD = b'b' * 4096


def client(i, port, rounds, user, password, prefix, barrier):
    ftp = ftplib.FTP()
    ftp.connect('127.0.0.1', port, timeout=60)
    ftp.login(user, password)
    barrier.wait()
    for k in range(rounds):
        name = f'{prefix}{i}-{k}.bin'
        ftp.storbinary('STOR ' + name, io.BytesIO(PAYLOAD))
        got = bytearray()
        ftp.retrbinary('RETR ' + name, got.extend)
        if len(got) != len(PAYLOAD):
            raise SystemExit(f'{name} came back with {len(got)} bytes')
        ftp.delete(name)
    barrier.wait()
    ftp.quit()


def main():
    port, clients, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    user, password = sys.argv[4], sys.argv[5]
    prefix = sys.argv[6] if len(sys.argv) > 6 else 'up-ftplib-'
    mode = sys.argv[7] if len(sys.argv) > 7 else 'processes'
    if mode not in ('processes', 'threads'):
        raise SystemExit(f'mode must be processes or threads, not {mode}')
    threads = mode == 'threads'
    barrier = (threading.Barrier if threads else multiprocessing.Barrier)(clients + 1, timeout=120)
    failures = []

    def run(i):
        try:
            client(i, port, rounds, user, password, prefix, barrier)
        except BaseException as err:  # a thread's failure must reach the exit status
            failures.append(err)
            barrier.abort()

    workers = [
        threading.Thread(target=run, args=(i,)) if threads else multiprocessing.Process(target=client, args=(i, port, rounds, user, password, prefix, barrier))
        for i in range(clients)
    ]
    for w in workers:
        w.start()
    barrier.wait()
    t0 = time.perf_counter()
    barrier.wait()
    seconds = time.perf_counter() - t0
    for w in workers:
        w.join(60)
    if failures or (not threads and any(w.exitcode != 0 for w in workers)):
        raise SystemExit('a client failed')
    print(json.dumps({'ops': clients * rounds * 3, 'seconds': seconds}))


if __name__ == '__main__':
    main()
