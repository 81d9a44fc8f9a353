#!/usr/bin/env python3
"""Opens N idle keep-alive connections to a proxy on 127.0.0.1 and holds them.

Each connection sends one GET and reads the whole answer (so the proxy has set it up completely
and parked it as an idle keep-alive connection), then stays silent. Requests go out at most
--parallel at a time, so the proxy needs only a few backend connections. When all N are idle,
prints "READY <n>" on stdout; closes them all and exits when stdin closes (or on SIGTERM).

  idle_conns.py --target 127.0.0.1:8080 --count 10000
  idle_conns.py --target 127.0.0.1:8443 --count 2000 --tls   # HTTPS (certificate not checked)
  idle_conns.py --target 127.0.0.1:8080 --count 2000 --h2    # h2c with prior knowledge
  idle_conns.py --target 127.0.0.1:8443 --count 2000 --h2 --tls   # h2 over TLS (ALPN h2)

With --tls or --h2 the connections are opened one after another (blocking), which is quick
enough for the few thousand a memory measurement needs. With --h2 each connection sends the
client preface and SETTINGS, answers the server's SETTINGS, makes one GET stream and reads it
to its END_STREAM, then stays open and silent like an HTTP/1.1 one (raw frames, no library).
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
    parser.add_argument("--h2", action="store_true", help="speak HTTP/2 (h2c, or h2 with --tls)")
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
    if args.h2:
        return hold(open_h2(host, int(port), args.count, args.target, args.timeout, args.tls))
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


H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2_frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    return (len(payload).to_bytes(3, "big") + bytes([kind, flags]) +
            stream.to_bytes(4, "big") + payload)


def h2_get(authority: str, tls: bool) -> bytes:
    """HEADERS (END_STREAM|END_HEADERS) of GET / on stream 1, HPACK without the dynamic table:
    :method GET (static 2), :scheme http/https (6/7), :path / (4), :authority (literal, name 1,
    not indexed)."""
    value = authority.encode()
    block = bytes([0x82, 0x87 if tls else 0x86, 0x84, 0x01, len(value)]) + value
    return h2_frame(0x1, 0x5, 1, block)


def read_h2_answer(sock) -> bool:
    """Reads frames until stream 1 ends; answers SETTINGS. False on a reset, GOAWAY or EOF."""
    data = b""
    while True:
        while len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            if len(data) < 9 + length:
                break
            kind, flags = data[3], data[4]
            stream = int.from_bytes(data[5:9], "big") & 0x7FFFFFFF
            data = data[9 + length:]
            if kind == 0x4 and not flags & 0x1:  # SETTINGS, not an ACK
                sock.sendall(h2_frame(0x4, 0x1, 0))
            elif kind in (0x3, 0x7):  # RST_STREAM, GOAWAY
                return False
            elif kind in (0x0, 0x1) and stream == 1 and flags & 0x1:  # END_STREAM
                return True
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk


def open_h2(host: str, port: int, count: int, authority: str, timeout: float, tls: bool):
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
    hello = H2_PREFACE + h2_frame(0x4, 0x0, 0) + h2_get(authority, tls)
    idle, failed = [], 0
    deadline = time.monotonic() + timeout
    for _ in range(count):
        if time.monotonic() > deadline:
            print(f"idle_conns: timeout with {len(idle)} idle", file=sys.stderr)
            break
        try:
            sock = socket.create_connection((host, port), timeout=10)
            if context is not None:
                sock = context.wrap_socket(sock, server_hostname="localhost")
                if sock.selected_alpn_protocol() != "h2":
                    raise OSError(f"ALPN chose {sock.selected_alpn_protocol()!r}, not h2")
            sock.sendall(hello)
            if read_h2_answer(sock):
                idle.append(sock)
                continue
            sock.close()
        except OSError as error:
            if failed == 0:
                print(f"idle_conns: {error}", file=sys.stderr)
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
