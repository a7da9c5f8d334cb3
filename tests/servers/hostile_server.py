#!/usr/bin/env python3
"""A hostile server on loopback for the timeout tests (not a backend: it answers
nothing a real server would). Usage: hostile_server.py MODE PORTFILE

  silent   accepts connections and never answers
  garbage  answers every connection with endless bytes that are no protocol
  huge     a minimal HTTP agent: /v1/session/* answer like Consul, every other
           request gets a 200 JSON answer of 64 MiB
  big      the same with 30 MiB (under offkv's 32 MiB cap: decoding takes time)

Writes its port to PORTFILE once listening; runs until SIGTERM.
"""
import signal
import socket
import sys
import threading

def entries(mib):
    return b"[" + b'{"Key":"x","Value":null,"Flags":0},' * (mib * 1024 * 1024 // 36) + b"{}]"


ANSWERS = {"huge": entries(64), "big": entries(30)}


def silent(conn):
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def garbage(conn):
    chunk = bytes(range(256)) * 64
    try:
        while True:
            conn.sendall(chunk)
    except OSError:
        pass


def http_answer(conn, body, status=b"200 OK"):
    conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                 b"X-Consul-Index: 7\r\nContent-Length: " + str(len(body)).encode() +
                 b"\r\n\r\n" + body)


def agent(conn, answer):
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(buf) < length:
                buf += conn.recv(65536)
            buf = buf[length:]
            target = head.split(b" ")[1]
            if target.startswith(b"/v1/session/create"):
                http_answer(conn, b'{"ID":"11111111-2222-3333-4444-555555555555"}')
            elif target.startswith(b"/v1/session/"):
                http_answer(conn, b'[{"ID":"11111111-2222-3333-4444-555555555555"}]')
            else:
                http_answer(conn, answer)
    except OSError:
        pass


def main():
    mode, portfile = sys.argv[1], sys.argv[2]
    handler = {"silent": silent, "garbage": garbage}.get(mode)
    if handler is None:
        answer = ANSWERS[mode]
        handler = lambda conn: agent(conn, answer)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(portfile + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=handler, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
