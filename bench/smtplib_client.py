#!/usr/bin/python3
"""The Python smtplib side of the benchmark; prints one JSON object.

    smtplib_client.py reuse   MODE PORT CAFILE MSGFILE N
    smtplib_client.py newconn MODE PORT CAFILE MSGFILE N
    smtplib_client.py bulk    MODE PORT CAFILE MSGFILE

MODE is plain, starttls or tls.  Only the timed part counts: wall time from
time.perf_counter(), CPU from time.process_time() (this process, user+sys),
so interpreter start-up and reading the message file are left out.
reuse: one connection (set up untimed), N x MAIL/RCPT/DATA.
newconn: N x (connect, [STARTTLS, EHLO], MAIL/RCPT/DATA, QUIT), with each
message's latency.  bulk: one connection (untimed), one message (MSGFILE).
"""
import json
import smtplib
import ssl
import sys
import time

SENDER = "sender@example.com"
RCPT = "rcpt@example.com"
HELO = "bench.example"


def connect(mode, port, ctx):
    if mode == "tls":
        s = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname=HELO,
                             context=ctx, timeout=60)
        s.ehlo()
    else:
        s = smtplib.SMTP("127.0.0.1", port, local_hostname=HELO, timeout=60)
        s.ehlo()
        if mode == "starttls":
            s.starttls(context=ctx)
            s.ehlo()
    return s


def main():
    what, mode, port, cafile, msgfile = sys.argv[1:6]
    port = int(port)
    n = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    ctx = ssl.create_default_context(cafile=cafile)
    with open(msgfile, "rb") as f:
        msg = f.read()
    out = {"n": n}
    if what == "reuse" or what == "bulk":
        s = connect(mode, port, ctx)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            s.sendmail(SENDER, [RCPT], msg)
        out["wall"] = time.perf_counter() - t0
        out["cpu"] = time.process_time() - c0
        s.quit()
    elif what == "newconn":
        lat = []
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            t = time.perf_counter()
            s = connect(mode, port, ctx)
            s.sendmail(SENDER, [RCPT], msg)
            s.quit()
            lat.append((time.perf_counter() - t) * 1000.0)
        out["wall"] = time.perf_counter() - t0
        out["cpu"] = time.process_time() - c0
        out["lat_ms"] = lat
    else:
        sys.exit("unknown mode " + what)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
