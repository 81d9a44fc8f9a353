#!/usr/bin/env python3
"""Opens N idle keep-alive connections to a proxy on 127.0.0.1 and holds them.

Each connection sends one GET and reads the whole answer (so the proxy has set it up completely
and parked it as an idle keep-alive connection), then stays silent. Requests go out at most
--parallel at a time, so the proxy needs only a few backend connections. When all N are idle,
prints "READY <n>" on stdout; closes them all and exits when stdin closes (or on SIGTERM).

  idle_conns.py --target 127.0.0.1:8080 --count 10000
  idle_conns.py --target 127.0.0.1:8443 --count 2000 --tls   # HTTPS (certificate not checked)

With --tls the connections are opened one after another (a blocking TLS handshake each), which
is quick enough for the few thousand a TLS memory measurement needs.
"""

import argparse
import resource
import selectors
import signal
import socket
import ssl
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--parallel", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--tls", action="store_true", help="speak HTTPS (no verification)")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    if not host.startswith("127."):
        print("idle_conns: only 127.0.0.0/8 targets", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.count + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.count + 1024), hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    request = f"GET / HTTP/1.1\r\nHost: {args.target}\r\nUser-Agent: idle_conns\r\n\r\n".encode()
    if args.tls:
        return hold(open_tls(host, int(port), args.count, request, args.timeout))
    selector = selectors.DefaultSelector()
    idle = []
    pending = 0
    opened = 0
    failed = 0
    buffers = {}
    deadline = time.monotonic() + args.timeout

    def start_one() -> None:
        nonlocal opened, pending
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex((host, int(port)))
        selector.register(sock, selectors.EVENT_WRITE)
        buffers[sock] = b""
        opened += 1
        pending += 1

    while len(idle) + failed < args.count:
        if time.monotonic() > deadline:
            print(f"idle_conns: timeout with {len(idle)} idle", file=sys.stderr)
            return 1
        while pending < args.parallel and opened < args.count:
            start_one()
        for key, events in selector.select(timeout=1.0):
            sock = key.fileobj
            if events & selectors.EVENT_WRITE:
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    selector.unregister(sock)
                    sock.close()
                    failed += 1
                    pending -= 1
                    continue
                sock.send(request)
                selector.modify(sock, selectors.EVENT_READ)
                continue
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                selector.unregister(sock)
                sock.close()
                failed += 1
                pending -= 1
                continue
            buffers[sock] += data
            head, sep, body = buffers[sock].partition(b"\r\n\r\n")
            if not sep:
                continue
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(body) >= length:
                selector.unregister(sock)
                del buffers[sock]
                idle.append(sock)
                pending -= 1
    print(f"READY {len(idle)} failed={failed}", flush=True)
    try:
        sys.stdin.read()
    finally:
        for sock in idle:
            sock.close()
    return 0 if failed == 0 else 1


def read_answer(sock) -> bool:
    """Reads one answer with a Content-Length body; False if the connection ended first."""
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(body) >= length:
                return True
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk


def open_tls(host: str, port: int, count: int, request: bytes, timeout: float):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    idle, failed = [], 0
    deadline = time.monotonic() + timeout
    for _ in range(count):
        if time.monotonic() > deadline:
            print(f"idle_conns: timeout with {len(idle)} idle", file=sys.stderr)
            break
        try:
            sock = context.wrap_socket(socket.create_connection((host, port), timeout=10),
                                       server_hostname="localhost")
            sock.sendall(request)
            if read_answer(sock):
                idle.append(sock)
                continue
            sock.close()
        except OSError:
            pass
        failed += 1
    return idle, failed


def hold(opened) -> int:
    idle, failed = opened
    print(f"READY {len(idle)} failed={failed}", flush=True)
    try:
        sys.stdin.read()
    finally:
        for sock in idle:
            sock.close()
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
