#!/usr/bin/env python3
# A tight upload client for the big STOR row: log in, PASV, STOR, then the whole file goes
# out with sendfile(2) (Python's socket.sendfile), so the client moves bytes page cache ->
# socket without copying them through user space. curl -T reads the file into a 100 KiB-ish
# buffer and writes it, and over loopback that copy, not the server, capped every server near
# the same rate. The upload is the STOR row's "fast client", as curl to /dev/null is RETR's.
#
#   stor-sendfile.py HOST PORT USER PASS LOCAL_FILE REMOTE_NAME
# Prints one JSON line: {"seconds": from connect to the 226, "bytes": bytes sent}.
import ftplib
import json
import os
import sys
import time

host, port, user, password, local, remote = sys.argv[1:7]
started = time.perf_counter()
ftp = ftplib.FTP()
ftp.connect(host, int(port), timeout=600)
ftp.login(user, password)
ftp.voidcmd('TYPE I')
with open(local, 'rb') as source:
    size = os.fstat(source.fileno()).st_size
    data = ftp.transfercmd('STOR ' + remote)
    sent = data.sendfile(source)
    data.close()
reply = ftp.voidresp()  # raises unless 2xx: the server confirmed every byte
seconds = time.perf_counter() - started
ftp.quit()
if sent != size:
    sys.exit(f'sent {sent} of {size} bytes')
print(json.dumps({'seconds': seconds, 'bytes': sent, 'reply': reply[:3]}))
