#!/usr/bin/python3
"""The smtp_mail benchmark driver, started by bench/run (which starts the
servers and exports their ports).  Runs every measurement, prints the
markdown report on stdout and writes it to bench/results.md (and into
bench/README.md between the results markers).  Progress goes to stderr.

Every figure is the median of several runs (BENCH_RUNS_FAST for the quick
sections, BENCH_RUNS for the slow ones), shown as "median (min–max)"; the
runs of the clients being compared are interleaved, so drift on the machine
hits all of them alike.
"""
import base64
import datetime
import json
import os
import platform
import re
import select
import statistics
import subprocess
import sys
import threading
import time

E = os.environ
HERE = os.path.dirname(os.path.abspath(__file__))
WORK = E["WORK"]
DB = E.get("BENCH_DB", "bench")
WALLET = E["BENCH_WALLET"]          # 'file:/…/wallets/pem'
CAFILE = E["BENCH_CAFILE"]          # the test root CA, for smtplib and curl
PF = {"plain": int(E["PF_SMTP"]), "starttls": int(E["PF_SMTP"]), "tls": int(E["PF_SMTPS"])}
SINK = {"plain": int(E["SINK_PLAIN"]), "starttls": int(E["SINK_STARTTLS"]), "tls": int(E["SINK_TLS"])}
SINK_STATS = E["SINK_STATS"]
PF_MAILLOG = E["PF_MAILLOG"]
PY = "/usr/bin/python3"

RUNS = int(E.get("BENCH_RUNS", 3))                  # sections 2 and 4 (slow runs)
RUNS_FAST = int(E.get("BENCH_RUNS_FAST", 5))        # sections 1 and 3 (runs of ~1 s)
N_REUSE = int(E.get("BENCH_N_REUSE", 1000))     # messages per run, one connection
N_NEW = int(E.get("BENCH_N_NEW", 200))          # messages per run, new connection each
N_MEM = int(E.get("BENCH_N_MEM", 10000))        # messages for the RSS-growth check
N_CONNS = 50                                    # connections for RSS per connection
CHUNK = 32768
N_CHUNKS = 640                                  # 640 x 32 KiB = 20 MiB
CLK = os.sysconf("SC_CLK_TCK")
SENDER, RCPT = "sender@example.com", "rcpt@example.com"
MODES = {"plain": "plain", "starttls": "STARTTLS", "tls": "implicit TLS"}


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ messages

def header(subject):
    return ("From: Bench Sender <sender@example.com>\r\n"
            "To: Bench Recipient <rcpt@example.com>\r\n"
            f"Subject: {subject}\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
            "Message-ID: <bench-0001@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n")


def lines_of(total, width=76):
    """Text lines (width chars + CRLF) filling exactly total bytes."""
    alphabet = "The quick brown fox jumps over the lazy dog 0123456789 "
    out, i = [], 0
    while total >= width + 2 + 8:
        s = (alphabet * 3)[i % len(alphabet):][:width]
        out.append(s + "\r\n")
        total -= width + 2
        i += 7
    out.append("x" * (total - 2) + "\r\n")
    return "".join(out)


MSG = header("smtp_mail benchmark message")
MSG += lines_of(2048 - len(MSG))
assert len(MSG) == 2048
SMALL = header("small") + "hello\r\n"
BULK_HEADER = header("smtp_mail bulk benchmark")
BULK_CHUNK = lines_of(CHUNK)
assert len(BULK_CHUNK) == CHUNK
BULK_BYTES = len(BULK_HEADER) + N_CHUNKS * CHUNK


def write_file(name, text):
    path = os.path.join(WORK, name)
    with open(path, "w", newline="") as f:
        f.write(text)
    return path


MSG_FILE = write_file("msg-2k.eml", MSG)
BULK_FILE = os.path.join(WORK, "msg-20m.eml")
with open(BULK_FILE, "w", newline="") as f:
    f.write(BULK_HEADER)
    for _ in range(N_CHUNKS):
        f.write(BULK_CHUNK)


# ------------------------------------------------------------------ /proc

def proc_cpu(pid):
    """CPU seconds (user+system) of a single-threaded process: its on-CPU
    time from /proc/PID/schedstat (nanoseconds; what utime+stime of
    /proc/PID/stat count in clock ticks), or /proc/PID/stat without it."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            ns = int(f.read().split()[0])
        if ns > 0:
            return ns / 1e9
    except (OSError, ValueError, IndexError):
        pass
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def sink_last(sink):
    """The sink's CPU seconds for the message just sent (0 for Postfix)."""
    if not sink:
        return 0.0
    with open(SINK_STATS) as f:
        port, kind, nbytes, cpu, wall = f.read().splitlines()[-1].split()
    if int(nbytes) < BULK_BYTES:
        raise RuntimeError(f"the sink got {nbytes} bytes, fewer than {BULK_BYTES}")
    return float(cpu)


def proc_mem(pid):
    """VmRSS, RssAnon, VmHWM of a process in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def run_child(args, timeout=180):
    """Run a process; (wall seconds, its CPU seconds from wait4, stdout)."""
    outp = os.path.join(WORK, "child.out")
    errp = os.path.join(WORK, "child.err")
    with open(outp, "wb") as o, open(errp, "wb") as e:
        t0 = time.perf_counter()
        p = subprocess.Popen(args, stdout=o, stderr=e, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = -9
                raise RuntimeError(f"timed out: {args[:3]}")
            time.sleep(0.0005)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(outp) as f:
        out = f.read()
    if p.returncode != 0:
        with open(errp) as f:
            raise RuntimeError(f"{args[0]} exited {p.returncode}: {f.read()[-2000:]}")
    return wall, ru.ru_utime + ru.ru_stime, out


# ------------------------------------------------------------------ psql

class Psql:
    """A psql session fed on stdin; query() returns the output lines."""

    def __init__(self):
        self.errpath = os.path.join(WORK, "bench-psql.err")
        self.err = open(self.errpath, "ab")
        self.p = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                   "-d", DB], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err)
        self.buf = b""
        self.k = 0
        self.query("SET statement_timeout = '300s'")
        self.pid = int(self.query("SELECT pg_backend_pid()")[0])

    def _write(self, data):
        try:
            self.p.stdin.write(data)
            self.p.stdin.flush()
        except BrokenPipeError:
            pass

    def _readline(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, left))
            if not r:
                raise RuntimeError("psql timed out")
            chunk = os.read(self.p.stdout.fileno(), 1 << 16)
            if not chunk:
                self.err.flush()
                with open(self.errpath, errors="replace") as f:
                    raise RuntimeError("psql failed: " + f.read()[-2000:])
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def query(self, sql, timeout=300):
        self.k += 1
        mark = f"__bench_mark_{self.k}__"
        sql = sql.rstrip()
        if not sql.endswith(";") and "\\g" not in sql.rsplit("\n", 1)[-1]:
            sql += ";"
        data = (sql + "\n\\echo " + mark + "\n").encode()
        w = threading.Thread(target=self._write, args=(data,), daemon=True)
        w.start()
        deadline = time.monotonic() + timeout
        lines = []
        while True:
            line = self._readline(deadline)
            if line == mark:
                break
            lines.append(line)
        w.join()
        return lines

    def setvar(self, name, text):
        """A psql variable holding text exactly (CR and LF included)."""
        b64 = base64.b64encode(text.encode()).decode()
        self.query(f"SELECT convert_from(decode('{b64}', 'base64'), 'UTF8') AS {name} \\gset")

    def connect(self, port, mode):
        self.query(f"SELECT bench.connect({port}, '{mode}', '{WALLET}') AS c \\gset")

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.err.close()


# ------------------------------------------------------------------ clients

def curl_base(mode, port):
    args = ["curl", "-s", "-S", "--cacert", CAFILE, "--connect-timeout", "30", "-m", "300",
            "--mail-from", SENDER, "--mail-rcpt", RCPT]
    if mode == "starttls":
        args.append("--ssl-reqd")
    scheme = "smtps" if mode == "tls" else "smtp"
    return args, f"{scheme}://127.0.0.1:{port}/bench.example"


def sm_reuse_sql(mode, port, n):
    """smtp_mail, one SELECT (mail, rcpt, data) per message, from psql."""
    s = Psql()
    try:
        s.connect(port, mode)
        s.setvar("body", MSG)
        stmt = ("SELECT (utl_smtp.mail(:'c', 'sender@example.com')).code,"
                " (utl_smtp.rcpt(:'c', 'rcpt@example.com')).code,"
                " (utl_smtp.data(:'c', :'body')).code;\n")
        s.query(stmt * 20)
        c0, p0, t0 = proc_cpu(s.pid), proc_cpu(s.p.pid), time.perf_counter()
        out = s.query(stmt * n)
        t1, c1, p1 = time.perf_counter(), proc_cpu(s.pid), proc_cpu(s.p.pid)
        if len(out) != n or any(x != "250|250|250" for x in out):
            raise RuntimeError(f"unexpected replies: {out[:3]}")
        s.query("SELECT utl_smtp.quit(:'c')")
    finally:
        s.close()
    return {"rate": n / (t1 - t0), "cpu_us": (c1 - c0) / n * 1e6,
            "psql_us": (p1 - p0) / n * 1e6}


def sm_reuse_loop(mode, port, n):
    """smtp_mail, n messages in one PL/pgSQL loop."""
    s = Psql()
    try:
        s.connect(port, mode)
        s.setvar("body", MSG)
        s.query("SELECT bench.send_loop(:'c', 20, :'body')")
        c0, t0 = proc_cpu(s.pid), time.perf_counter()
        s.query(f"SELECT bench.send_loop(:'c', {n}, :'body')")
        t1, c1 = time.perf_counter(), proc_cpu(s.pid)
        s.query("SELECT utl_smtp.quit(:'c')")
    finally:
        s.close()
    return {"rate": n / (t1 - t0), "cpu_us": (c1 - c0) / n * 1e6}


def smtplib_run(what, mode, port, msgfile, n=1):
    _, _, out = run_child([PY, os.path.join(HERE, "smtplib_client.py"), what, mode,
                           str(port), CAFILE, msgfile, str(n)], timeout=300)
    return json.loads(out)


def py_reuse(mode, port, n):
    r = smtplib_run("reuse", mode, port, MSG_FILE, n)
    return {"rate": n / r["wall"], "cpu_us": r["cpu"] / n * 1e6}


def curl_reuse(mode, port, n):
    """curl, one process, n URLs: it reuses the connection for all of them."""
    args, url = curl_base(mode, port)
    cfg = os.path.join(WORK, "curl.cfg")
    with open(cfg, "w") as f:
        for _ in range(n):
            f.write(f'url = "{url}"\nupload-file = "{MSG_FILE}"\n')
    wall, cpu, _ = run_child(args + ["-K", cfg], timeout=300)
    return {"rate": n / wall, "cpu_us": cpu / n * 1e6}


def sm_newconn(mode, port, n):
    s = Psql()
    try:
        s.setvar("body", MSG)
        s.query(f"SELECT bench.newconn_loop({port}, '{mode}', '{WALLET}', 3, :'body')")
        c0, t0 = proc_cpu(s.pid), time.perf_counter()
        out = s.query(f"SELECT bench.newconn_loop({port}, '{mode}', '{WALLET}', {n}, :'body')")
        t1, c1 = time.perf_counter(), proc_cpu(s.pid)
    finally:
        s.close()
    lat = [float(x) for x in out[0].strip("{}").split(",")]
    return {"rate": n / (t1 - t0), "cpu_ms": (c1 - c0) / n * 1e3, "lat": lat}


def py_newconn(mode, port, n):
    r = smtplib_run("newconn", mode, port, MSG_FILE, n)
    return {"rate": n / r["wall"], "cpu_ms": r["cpu"] / n * 1e3, "lat": r["lat_ms"]}


def curl_newconn(mode, port, n):
    """One curl process per message (the CLI cannot be told not to reuse)."""
    args, url = curl_base(mode, port)
    lat, cpu = [], 0.0
    t0 = time.perf_counter()
    for _ in range(n):
        w, c, _ = run_child(args + ["-T", MSG_FILE, url], timeout=60)
        lat.append(w * 1e3)
        cpu += c
    wall = time.perf_counter() - t0
    return {"rate": n / wall, "cpu_ms": cpu / n * 1e3, "lat": lat}


def sm_bulk(mode, port, sink):
    s = Psql()
    try:
        s.connect(port, mode)
        s.setvar("header", BULK_HEADER)
        s.setvar("chunk", BULK_CHUNK)
        s.setvar("body", MSG)
        s.query("SELECT bench.send_one(:'c', :'body')")
        c0 = proc_cpu(s.pid)
        secs = float(s.query(f"SELECT bench.bulk(:'c', :'header', :'chunk', {N_CHUNKS})")[0])
        c1 = proc_cpu(s.pid)
        s.query("SELECT utl_smtp.quit(:'c')")
    finally:
        s.close()
    return {"mbps": BULK_BYTES / secs / 1e6, "cpu_s": c1 - c0, "sink_s": sink_last(sink)}


def py_bulk(mode, port, sink):
    r = smtplib_run("bulk", mode, port, BULK_FILE, 1)
    return {"mbps": BULK_BYTES / r["wall"] / 1e6, "cpu_s": r["cpu"], "sink_s": sink_last(sink)}


CURL_BASELINE = {}


def curl_baseline(mode, port):
    """CPU of a curl process that sends one 2 KB message: start-up, handshake."""
    key = (mode, port)
    if key not in CURL_BASELINE:
        args, url = curl_base(mode, port)
        cpus = [run_child(args + ["-T", MSG_FILE, url])[1] for _ in range(5)]
        CURL_BASELINE[key] = statistics.median(cpus)
    return CURL_BASELINE[key]


def curl_bulk(mode, port, sink):
    base = curl_baseline(mode, port)
    args, url = curl_base(mode, port)
    _, cpu, out = run_child(args + ["-w", "%{time_pretransfer} %{time_total}\n",
                                    "-T", BULK_FILE, url], timeout=300)
    pre, total = map(float, out.split())
    return {"mbps": BULK_BYTES / (total - pre) / 1e6, "cpu_s": max(cpu - base, 0.0),
            "sink_s": sink_last(sink)}


# ------------------------------------------------------------------ statistics

def med(values):
    return statistics.median(values)


def pct(values, p):
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def fmt(values, digits=0):
    m, lo, hi = med(values), min(values), max(values)
    return f"{m:,.{digits}f} ({lo:,.{digits}f}–{hi:,.{digits}f})"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "–"


def collect(fns, args, runs):
    """Run each client's function runs times, interleaved; lists of results."""
    res = {name: [] for name in fns}
    for r in range(runs):
        for name, fn in fns.items():
            log(f"  run {r + 1}/{runs}: {name} {args}")
            res[name].append(fn(*args))
    return res


# ------------------------------------------------------------------ sections

def section_reuse():
    rows = []
    for mode in ("starttls", "plain"):
        port = PF[mode]
        fns = {"smtp_mail, one SELECT per message (psql)": lambda m, p: sm_reuse_sql(m, p, N_REUSE),
               "smtp_mail, PL/pgSQL loop": lambda m, p: sm_reuse_loop(m, p, N_REUSE),
               "Python smtplib": lambda m, p: py_reuse(m, p, N_REUSE),
               "curl (one process, N URLs)": lambda m, p: curl_reuse(m, p, N_REUSE)}
        log(f"one connection, {MODES[mode]}")
        smtplib_run("reuse", mode, port, MSG_FILE, 50)     # warm the server up
        res = collect(fns, (mode, port), RUNS_FAST)
        py = [x["rate"] for x in res["Python smtplib"]]
        cu = [x["rate"] for x in res["curl (one process, N URLs)"]]
        pyc = [x["cpu_us"] for x in res["Python smtplib"]]
        cuc = [x["cpu_us"] for x in res["curl (one process, N URLs)"]]
        for name, rs in res.items():
            rate = [x["rate"] for x in rs]
            cpu = [x["cpu_us"] for x in rs]
            note = ""
            if "psql_us" in rs[0]:
                note = f"psql itself: {med([x['psql_us'] for x in rs]):.0f} µs/msg more"
            sm = name.startswith("smtp_mail")
            rows.append([MODES[mode], name, fmt(rate), fmt(cpu),
                         ratio(med(rate), med(py)) + " / " + ratio(med(rate), med(cu)) if sm else "",
                         ratio(med(cpu), med(pyc)) + " / " + ratio(med(cpu), med(cuc)) if sm else "",
                         note])
    head = ["transport", "client", "messages/s", "client CPU µs/message",
            "msg/s ratio vs smtplib / vs curl", "CPU ratio vs smtplib / vs curl", "note"]
    return head, rows


def tls_handshakes(offset):
    """Full and resumed TLS handshakes Postfix logged after offset.  A
    resumed TLS 1.3 handshake is logged without "server-digest" (there is
    no server signature in it); checked against openssl s_client -sess_in."""
    time.sleep(0.3)                 # postlogd writes asynchronously
    with open(PF_MAILLOG, errors="replace") as f:
        f.seek(offset)
        lines = [l for l in f if "TLS connection established" in l]
    return len(lines), sum(1 for l in lines if "server-digest" not in l)


def counting_resumption(fn):
    """fn, plus the number of TLS handshakes and resumed ones it caused."""
    def wrapped(mode, port):
        offset = os.path.getsize(PF_MAILLOG)
        r = fn(mode, port)
        r["tls"], r["resumed"] = tls_handshakes(offset)
        return r
    return wrapped


def section_newconn():
    rows = []
    for mode in ("starttls", "tls"):
        port = PF[mode]
        fns = {"smtp_mail, PL/pgSQL loop": counting_resumption(lambda m, p: sm_newconn(m, p, N_NEW)),
               "Python smtplib": counting_resumption(lambda m, p: py_newconn(m, p, N_NEW)),
               "curl (one process per message)":
                   counting_resumption(lambda m, p: curl_newconn(m, p, N_NEW))}
        log(f"new connection per message, {MODES[mode]}")
        smtplib_run("newconn", mode, port, MSG_FILE, 20)
        res = collect(fns, (mode, port), RUNS)
        py = res["Python smtplib"]
        cu = res["curl (one process per message)"]
        for name, rs in res.items():
            rate = [x["rate"] for x in rs]
            cpu = [x["cpu_ms"] for x in rs]
            p50 = [pct(x["lat"], 50) for x in rs]
            p99 = [pct(x["lat"], 99) for x in rs]
            mx = max(max(x["lat"]) for x in rs)
            ntls = sum(x["tls"] for x in rs)
            nres = sum(x["resumed"] for x in rs)
            resumed = f"{100.0 * nres / ntls:.0f}% of {ntls}" if ntls else "–"
            sm = name.startswith("smtp_mail")
            rows.append([MODES[mode] if mode == "tls" else "plain + STARTTLS", name,
                         fmt(rate), fmt(cpu, 2), fmt(p50, 2), fmt(p99, 2), f"{mx:.1f}", resumed,
                         (ratio(med(rate), med([x['rate'] for x in py])) + " / " +
                          ratio(med(rate), med([x['rate'] for x in cu]))) if sm else "",
                         (ratio(med(cpu), med([x['cpu_ms'] for x in py])) + " / " +
                          ratio(med(cpu), med([x['cpu_ms'] for x in cu]))) if sm else ""])
    head = ["transport", "client", "messages/s", "client CPU ms/message", "latency p50 ms",
            "latency p99 ms", f"max of {RUNS}×{N_NEW} ms", "TLS handshakes resumed",
            "msg/s ratio vs smtplib / vs curl",
            "CPU ratio vs smtplib / vs curl"]
    return head, rows


def section_bulk():
    rows = []
    for server, ports in (("Postfix (discard)", PF), ("discard sink", SINK)):
        for mode in ("starttls", "tls", "plain"):
            port = ports[mode]
            fns = {"smtp_mail (write_data, 32 KiB chunks)": sm_bulk,
                   "Python smtplib": py_bulk,
                   "curl": curl_bulk}
            log(f"20 MB body, {server}, {MODES[mode]}")
            res = collect(fns, (mode, port, ports is SINK), RUNS_FAST)
            py = res["Python smtplib"]
            cu = res["curl"]
            for name, rs in res.items():
                mb = [x["mbps"] for x in rs]
                cpu = [x["cpu_s"] * 1e3 / (BULK_BYTES / 1e6) for x in rs]
                sink = [x["sink_s"] * 1e3 / (BULK_BYTES / 1e6) for x in rs]
                sm = name.startswith("smtp_mail")
                rows.append([server, MODES[mode], name, fmt(mb), fmt(cpu, 2),
                             (ratio(med(mb), med([x['mbps'] for x in py])) + " / " +
                              ratio(med(mb), med([x['mbps'] for x in cu]))) if sm else "",
                             (ratio(med(cpu), med([x['cpu_s'] for x in py]) * 1e3 / (BULK_BYTES / 1e6)) + " / " +
                              ratio(med(cpu), med([x['cpu_s'] for x in cu]) * 1e3 / (BULK_BYTES / 1e6))) if sm else "",
                             fmt(sink, 2) if ports is SINK else ""])
    head = ["server", "transport", "client", "MB/s", "client CPU ms/MB",
            "MB/s ratio vs smtplib / vs curl", "CPU ratio vs smtplib / vs curl",
            "sink CPU ms/MB"]
    return head, rows


def openssl_speed():
    out = {}
    for cipher in ("aes-128-gcm", "aes-256-gcm"):
        vals = []
        for _ in range(RUNS):
            r = subprocess.run(["openssl", "speed", "-evp", cipher, "-bytes", "16384",
                                "-seconds", "1"], capture_output=True, text=True, timeout=60)
            m = re.search(r"^" + re.escape(cipher.upper()) + r"\s+([\d.]+)k", r.stdout, re.M)
            vals.append(float(m.group(1)) / 1000.0)
        out[cipher] = vals
    return out


def section_memory():
    rows = []
    s_ = {}
    for mode in ("plain", "tls"):
        log(f"memory: {N_CONNS} connections, {MODES[mode]}")
        per_open, per_used, anon_open, freed = [], [], [], []
        for r in range(RUNS):
            s = Psql()
            try:
                s.query("SET smtp_mail.max_connections = 100")
                s.setvar("body", MSG)
                out = s.query(f"SELECT stage, vmrss, rssanon FROM bench.open_many("
                              f"{PF[mode]}, '{mode}', '{WALLET}', {N_CONNS}, :'body')")
            finally:
                s.close()
            st = {l.split("|")[0]: list(map(int, l.split("|")[1:])) for l in out}
            per_open.append((st["open"][0] - st["before"][0]) / N_CONNS)
            anon_open.append((st["open"][1] - st["before"][1]) / N_CONNS)
            per_used.append((st["used"][0] - st["before"][0]) / N_CONNS)
            freed.append(st["closed"][0] - st["used"][0])
        s_[mode] = per_open
        rows.append([f"VmRSS growth per open connection, {MODES[mode]} (open + EHLO)",
                     fmt(per_open, 1) + " KiB", f"RssAnon: {fmt(anon_open, 1)} KiB"])
        rows.append([f"… after one 2 KB message on each, {MODES[mode]}",
                     fmt(per_used, 1) + " KiB",
                     f"VmRSS change when all {N_CONNS} are closed: {fmt(freed)} KiB "
                     "(freed memory stays with the allocator)"])

    log(f"memory: {N_MEM} messages on one plain connection")
    before, after, hwm, rates = [], [], [], []
    for r in range(RUNS):
        s = Psql()
        try:
            s.connect(PF["plain"], "plain")
            s.setvar("body", SMALL)
            s.query("SELECT bench.send_loop(:'c', 200, :'body')")
            m0 = proc_mem(s.pid)
            t0 = time.perf_counter()
            s.query(f"SELECT bench.send_loop(:'c', {N_MEM}, :'body')")
            rates.append(N_MEM / (time.perf_counter() - t0))
            m1 = proc_mem(s.pid)
            s.query("SELECT utl_smtp.quit(:'c')")
        finally:
            s.close()
        before.append(m0["VmRSS"])
        after.append(m1["VmRSS"])
        hwm.append(m1["VmHWM"] - m0["VmHWM"])
    rows.append([f"VmRSS before → after {N_MEM:,} messages on one connection (plain, "
                 f"{len(SMALL)}-byte message, PL/pgSQL loop)",
                 f"{fmt(before)} → {fmt(after)} KiB",
                 f"growth {fmt([a - b for a, b in zip(after, before)])} KiB; "
                 f"VmHWM growth during the loop {fmt(hwm)} KiB; {fmt(rates)} msg/s"])
    return ["measure", "median (min–max)", "also"], rows


# ------------------------------------------------------------------ report

def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break

    def cmd(args):
        try:
            return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
        except OSError:
            return "?"
    s = Psql()
    pg = s.query("SELECT version()")[0].split(" on ")[0]
    s.close()
    deb = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return (f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Debian {deb}; "
            f"{pg}; {cmd(['openssl', 'version'])}; "
            f"Postfix {cmd(['/usr/sbin/postconf', '-d', '-h', 'mail_version'])}; "
            f"{cmd(['curl', '--version']).splitlines()[0].split(' (')[0]}; "
            f"Python {platform.python_version()}")


def extension_build():
    """The installed smtp_mail.so's SHA-256 prefix and the repository's commit."""
    import hashlib
    libdir = subprocess.run(["pg_config", "--pkglibdir"], capture_output=True,
                            text=True).stdout.strip()
    with open(os.path.join(libdir, "smtp_mail.so"), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    root = os.path.dirname(HERE)
    git = lambda *a: subprocess.run(["git", "-C", root] + list(a), capture_output=True,
                                    text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = " + uncommitted changes in src/" if git("status", "--porcelain", "--", "src") else ""
    return digest, f"commit {commit}{dirty}, installed smtp_mail.so sha256 {digest}…"


def main():
    t_start = time.monotonic()
    so_before, build = extension_build()
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mach = machine()
    log("machine:", mach)
    speed = openssl_speed()
    reuse = section_reuse()
    newconn = section_newconn()
    bulk = section_bulk()
    mem = section_memory()
    took = time.monotonic() - t_start
    so_after, _ = extension_build()
    if so_after != so_before:
        build += (f" — **the extension was reinstalled during the run (now {so_after}…): "
                  "the figures mix two builds; run again**")
        log("WARNING: smtp_mail.so changed during the run")

    cipher_note = ""
    s = Psql()
    try:
        s.connect(PF["starttls"], "starttls")
        cipher_note = s.query("SELECT tls_version || ' ' || cipher FROM smtp_mail.connections()")[0]
        s.query("SELECT utl_smtp.quit(:'c')")
    finally:
        s.close()

    md = []
    md.append(f"## Results — {when}\n")
    md.append(f"Machine: {mach}.  ")
    md.append(f"smtp_mail: {build}.  ")
    md.append(f"Every figure: median (min–max) of {RUNS_FAST} runs in sections 1 and 3, "
              f"{RUNS} runs in sections 2 and 4.  Server: a private Postfix "
              f"in discard mode on loopback (queue on tmpfs), unless \"discard sink\".  "
              f"TLS: {cipher_note} (all three clients negotiate the same).  "
              f"Ratios are smtp_mail ÷ the other client (msg/s, MB/s: higher is better; "
              f"CPU: lower is better).  Whole run: {took / 60:.1f} min.\n")
    md.append(f"### 1. One connection, {N_REUSE:,} messages of 2 KB per run "
              f"(MAIL, RCPT, DATA each), {RUNS_FAST} runs\n")
    md.append(table(*reuse) + "\n")
    md.append(f"### 2. A new connection per message ({N_NEW} messages per run, {RUNS} runs)\n")
    md.append(table(*newconn) + "\n")
    md.append(f"### 3. One message with a {N_CHUNKS * CHUNK / 2**20:.0f} MiB body "
              f"({BULK_BYTES / 1e6:.1f} MB with its header), {RUNS_FAST} runs\n")
    md.append(table(*bulk) + "\n")
    md.append(f"Reference, `openssl speed -evp <cipher> -bytes 16384` (one core): "
              f"AES-128-GCM {fmt(speed['aes-128-gcm'])} MB/s, "
              f"AES-256-GCM {fmt(speed['aes-256-gcm'])} MB/s.\n")
    md.append(f"### 4. Backend memory ({RUNS} runs)\n")
    md.append(table(*mem) + "\n")
    text = "\n".join(md)

    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write(text)
    readme = os.path.join(HERE, "README.md")
    if os.path.exists(readme):
        with open(readme) as f:
            r = f.read()
        b, e = "<!-- results:begin -->", "<!-- results:end -->"
        if b in r and e in r:
            r = r[:r.index(b) + len(b)] + "\n" + text + "\n" + r[r.index(e):]
            with open(readme, "w") as f:
                f.write(r)
    print(text)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
