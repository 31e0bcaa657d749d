# pyftpdlib as a benchmark peer: one user, one writable root, a passive range, no caps,
# command logging off (as for every server in the run). Uses sendfile(2) for RETR by default.
import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

port, root, user, password, pasv_min, pasv_max = sys.argv[1:7]
logging.basicConfig(level=logging.WARNING)
logging.getLogger('pyftpdlib').setLevel(logging.WARNING)

authorizer = DummyAuthorizer()
authorizer.add_user(user, password, root, perm='elradfmwMT')


class Handler(FTPHandler):
    pass


Handler.authorizer = authorizer
Handler.passive_ports = range(int(pasv_min), int(pasv_max) + 1)
Handler.banner = 'pyftpdlib ready'

server = FTPServer(('127.0.0.1', int(port)), Handler)
server.max_cons = 0
server.max_cons_per_ip = 0
server.serve_forever(handle_exit=True)
