#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""stall_starttls.py [PORT]: a fake LDAP server whose TLS handshake stalls.

Listens on 127.0.0.1:PORT (0 or no argument: a free port). The port it
listens on is the first line of stdout, so a caller can start it in the
background and read the port. For each connection it reads one LDAP
message; if that is a StartTLS extended request it answers success, as a
real server would, and then never sends another byte: the client starts its
TLS handshake and waits for a ServerHello that never comes. Everything the
client sends afterwards is read and thrown away, and the socket stays open
until the client closes it, so the client sees neither an answer nor an
error. libldap 2.5 waits forever in that state whatever its timeouts
(shared/LDAP.md); pam_totp must still give up within ldap_timeout.

Runs until killed. Standard library only.
"""
import socket
import sys
import threading

STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_tlv(conn):
    """One BER element from the socket: (tag byte, contents)."""
    tag = read_exact(conn, 1)[0]
    first = read_exact(conn, 1)[0]
    if first < 0x80:
        length = first                      # short form
    else:                                   # long form: 0x80|count, count bytes
        length = int.from_bytes(read_exact(conn, first & 0x7F), "big")
    return tag, read_exact(conn, length)


def split_tlvs(data):
    """The BER elements inside a constructed element's contents."""
    out, i = [], 0
    while i < len(data):
        tag, first = data[i], data[i + 1]
        i += 2
        if first < 0x80:
            length = first
        else:
            n = first & 0x7F
            length = int.from_bytes(data[i:i + n], "big")
            i += n
        out.append((tag, data[i:i + length]))
        i += length
    return out


def tlv(tag, contents):
    """Encode one BER element (definite length)."""
    n = len(contents)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + contents


def serve(conn):
    try:
        tag, body = read_tlv(conn)          # LDAPMessage ::= SEQUENCE (0x30)
        parts = split_tlvs(body) if tag == 0x30 else []
        # parts: messageID INTEGER (0x02), protocolOp, [controls].
        if (len(parts) >= 2 and parts[0][0] == 0x02
                and parts[1][0] == 0x77):   # [APPLICATION 23] ExtendedRequest
            fields = split_tlvs(parts[1][1])
            # requestName is [0] LDAPOID, primitive context tag 0x80.
            if fields and fields[0] == (0x80, STARTTLS_OID):
                reply = tlv(0x78,           # [APPLICATION 24] ExtendedResponse
                            tlv(0x0A, b"\x00")     # resultCode success (0)
                            + tlv(0x04, b"")       # matchedDN
                            + tlv(0x04, b"")       # diagnosticMessage
                            + tlv(0x8A, STARTTLS_OID))  # [10] responseName
                conn.sendall(tlv(0x30, tlv(0x02, parts[0][1]) + reply))
        # From here on: silence. Read and discard until the client gives up.
        while conn.recv(4096):
            pass
    except (EOFError, OSError, IndexError):
        pass
    finally:
        conn.close()


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    print(srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        # One thread per client: one stalled client must not keep the next
        # one from getting its (equally useless) StartTLS answer.
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
