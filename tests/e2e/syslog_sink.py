# SPDX-License-Identifier: Apache-2.0
# A syslog of the suite's own: a datagram socket that the suites mount on
# /dev/log in their private mount namespace; every message is appended to
# OUT as one line. Usage: syslog_sink.py SOCKET OUT READY-FILE
import os, socket, sys
path, out, ready = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(ready, "w").close()
with open(out, "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).rstrip(b"\0\n") + b"\n")
