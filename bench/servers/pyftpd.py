# pyftpdlib as a benchmark peer: one user, one writable root, a passive range, no caps,
# command logging off (as for every server in the run). Uses sendfile(2) for RETR by default.
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

port, root, user, password, pasv_min, pasv_max = sys.argv[1:7]
# Optional cert and key: explicit FTPS (AUTH TLS) offered beside plain FTP, as for the
# other servers in the run. TLS_FTPHandler needs pyOpenSSL (python3-openssl).
tls_files = sys.argv[7:9]
if tls_files:
    from pyftpdlib.handlers import TLS_FTPHandler as BaseHandler
else:
    BaseHandler = FTPHandler
logging.basicConfig(level=logging.WARNING)
logging.getLogger('pyftpdlib').setLevel(logging.WARNING)

authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm='elradfmwMT')


class Handler(BaseHandler):
    pass


Handler.authorizer = authorizer
Handler.passive_ports = range(int(pasv_min), int(pasv_max) + 1)
Handler.banner = 'pyftpdlib ready'
if tls_files:
    Handler.certfile, Handler.keyfile = tls_files

    from pyftpdlib.handlers import TLS_DTPHandler

    class EarlyHandshakeDTP(TLS_DTPHandler):
        # curl starts the data connection's TLS handshake before it sends RETR/STOR. Stock
        # DTPHandler.readable() closes a data channel that turns readable before a transfer
        # command (it takes that for a disconnect), so curl's ClientHello killed it; let the
        # handshake run instead.
        def readable(self):
            if self._ssl_accepting:
                return True
            return super().readable()

    Handler.dtp_handler = EarlyHandshakeDTP

server = FTPServer(('127.0.0.1', int(port)), Handler)
server.max_cons = 0
server.max_cons_per_ip = 0
server.serve_forever(handle_exit=True)
