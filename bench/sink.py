#!/usr/bin/python3
"""A discard SMTP sink for the bulk benchmark: it answers EHLO/MAIL/RCPT/DATA
and throws the message bytes away as fast as it can read them (large reads,
no per-line work), so a client's bulk rate is measured without an MTA's queue
file behind it.  One thread per connection, blocking sockets, so a TLS read
is one SSL_read straight from the socket.

    sink.py --pki DIR --ready-file F [--stats FILE] --listen PORT:plain|starttls|tls ...

Listens on 127.0.0.1 only.  Not a test server: no capture, no checks.
"""
import argparse
import os
import signal
import socket
import ssl
import sys
import threading
import time

READ_SIZE = 1 << 20
STATS_LOCK = threading.Lock()
END = b"\r\n.\r\n"


class Session:
    """One client connection."""

    def __init__(self, sock, kind, ctx, port, stats):
        self.port = port
        self.stats = stats
        self.sock = sock
        self.kind = kind
        self.ctx = ctx
        self.tls = False
        self.buf = bytearray(READ_SIZE)
        self.pending = b""

    def send(self, line):
        self.sock.sendall(line.encode("ascii") + b"\r\n")

    def recv(self):
        n = self.sock.recv_into(self.buf, READ_SIZE)
        if n == 0:
            raise EOFError
        return bytes(self.buf[:n])

    def readline(self):
        while b"\n" not in self.pending:
            self.pending += self.recv()
        line, _, self.pending = self.pending.partition(b"\n")
        return line.rstrip(b"\r").decode("ascii", "replace")

    def discard_data(self):
        """Read until CRLF.CRLF (the 354 counts as a preceding CRLF); log
        the bytes, this thread's CPU seconds and the wall seconds it took."""
        c0, t0 = time.thread_time(), time.perf_counter()
        tail = b"\r\n" + self.pending
        nbytes = len(self.pending)
        self.pending = b""
        while True:
            i = tail.find(END)
            if i >= 0:
                self.pending = tail[i + len(END):]
                break
            chunk = self.recv()
            nbytes += len(chunk)
            tail = tail[-4:] + chunk
        if self.stats:
            with STATS_LOCK, open(self.stats, "a") as f:
                f.write(f"{self.port} {self.kind} {nbytes} "
                        f"{time.thread_time() - c0:.6f} {time.perf_counter() - t0:.6f}\n")

    def run(self):
        if self.kind == "tls":
            self.sock = self.ctx.wrap_socket(self.sock, server_side=True)
            self.tls = True
        self.send("220 sink.test ESMTP discard sink")
        while True:
            line = self.readline()
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                caps = ["sink.test", "PIPELINING", "8BITMIME", "SIZE 209715200"]
                if self.kind == "starttls" and not self.tls:
                    caps.append("STARTTLS")
                for c in caps[:-1]:
                    self.send("250-" + c)
                self.send("250 " + caps[-1])
            elif verb == "STARTTLS" and self.kind == "starttls" and not self.tls:
                self.send("220 2.0.0 go ahead")
                self.sock = self.ctx.wrap_socket(self.sock, server_side=True)
                self.tls = True
                self.pending = b""
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.send("250 2.0.0 ok")
            elif verb == "DATA":
                self.send("354 go ahead")
                self.discard_data()
                self.send("250 2.0.0 discarded")
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("502 5.5.1 not implemented")


def serve(listener, port, kind, ctx, stats):
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def handle(c=conn):
            try:
                Session(c, kind, ctx, port, stats).run()
            except (EOFError, OSError, ssl.SSLError):
                pass
            finally:
                try:
                    c.close()
                except OSError:
                    pass

        threading.Thread(target=handle, daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pki", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--stats", help="append one line per message: port kind bytes cpu_s wall_s")
    args = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(os.path.join(args.pki, "server-chain.pem"),
                        os.path.join(args.pki, "server.key"))

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    for spec in args.listen:
        port, kind = spec.split(":")
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(port)))
        s.listen(128)
        threading.Thread(target=serve, args=(s, int(port), kind, ctx, args.stats), daemon=True).start()
    with open(args.ready_file, "w") as f:
        f.write("ready\n")
    signal.pause()


if __name__ == "__main__":
    main()
