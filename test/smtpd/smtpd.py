#!/usr/bin/python3
# Test SMTP server for the smtp_mail test suite (aiosmtpd based).
#
# Run with the Debian python (python3-aiosmtpd 1.4.x):
#   /usr/bin/python3 test/smtpd/smtpd.py --dir DIR --pki PKIDIR \
#       --ready-file FILE --listen PORT:KIND[:CERT][:FAULT] [--listen ...]
#
# See test/smtpd/README.md for the listen spec, the fault-injection language
# and the capture layout.  Binds 127.0.0.1 (or ::1 for the *6 kinds) only.

import argparse
import asyncio
import base64
import binascii
import collections
import hashlib
import hmac
import json
import logging
import os
import random
import re
import signal
import socket
import ssl
import struct
import sys
import time

from aiosmtpd.smtp import (SMTP, MISSING, AuthResult, LoginPassword,
                           TLSSetupException)

HOSTNAME = "testsmtp.local"
IDENT = "ESMTP smtp_mail test server"
DATA_SIZE_LIMIT = 64 * 1024 * 1024
AUTH_LINE_LIMIT = 12288          # RFC 4954 s.4
READER_LIMIT = 16384             # StreamReader limit (must be >= the above)

# password accounts (PLAIN, LOGIN, CRAM-MD5)
ACCOUNTS = {"user@example.com": "secret"}
# XOAUTH2 accounts: user -> valid bearer token
OAUTH_ACCOUNTS = {"oauth@example.com": "ya29.good-token"}
XOAUTH2_ERROR = json.dumps(
    {"status": "401", "schemes": "bearer",
     "scope": "https://mail.google.com/"},
    separators=(",", ":"))

CERTS = ("server", "expired", "wrongname", "selfsigned")
KINDS = ("plain", "starttls", "tls", "plain6", "starttls6", "tls6")

FAULT_CMDS = ("greeting", "helo", "ehlo", "mail", "rcpt", "data", "dot",
              "rset", "noop", "vrfy", "help", "quit", "starttls", "auth",
              "any")
FAULT_ACTIONS = ("drop", "reset", "stall", "garbage", "oversize", "toomany",
                 "mixed", "nul", "lfonly", "multiline", "inject")

log = logging.getLogger("smtpd")


# ---------------------------------------------------------------------------
# helpers

_SANITIZE_RE = re.compile(r"[^A-Za-z0-9@._+-]")


def sanitize(name, maxlen=200):
    """File-name-safe form of a HELO name / recipient."""
    s = _SANITIZE_RE.sub("_", name)[:maxlen]
    if s in ("", ".", ".."):
        s = s.replace(".", "_") or "_"
    return s


class FaultSpecError(ValueError):
    pass


def parse_faults(spec):
    """'cmd:action,cmd:action' -> {cmd: action}.  Raises FaultSpecError."""
    faults = {}
    if spec is None or spec.strip() == "":
        return faults
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        cmd, sep, action = item.partition(":")
        cmd = cmd.strip().lower()
        action = action.strip().lower()
        if not sep or cmd not in FAULT_CMDS:
            raise FaultSpecError(f"bad fault command in {item!r}")
        if not (re.fullmatch(r"\d{3}", action) or action in FAULT_ACTIONS):
            raise FaultSpecError(f"bad fault action in {item!r}")
        faults[cmd] = action
    return faults


# Texts for injected NNN replies (enhanced code included for 2xx/4xx/5xx).
FAULT_TEXTS = {
    "421": "4.3.2 {host} Service not available, closing transmission channel",
    "450": "4.2.1 Mailbox unavailable, try again later",
    "451": "4.3.0 Local error in processing",
    "452": "4.3.1 Insufficient system storage",
    "454": "4.7.0 TLS not available due to temporary reason",
    "500": "5.5.2 Syntax error, command unrecognized",
    "501": "5.5.4 Syntax error in parameters or arguments",
    "502": "5.5.1 Command not implemented",
    "503": "5.5.1 Bad sequence of commands",
    "504": "5.5.4 Command parameter not implemented",
    "530": "5.7.0 Authentication required",
    "534": "5.7.9 Authentication mechanism is too weak",
    "535": "5.7.8 Authentication credentials invalid",
    "550": "5.1.1 Requested action not taken: mailbox unavailable",
    "551": "5.1.6 User not local",
    "552": "5.3.4 Message size exceeds fixed maximum message size",
    "553": "5.1.3 Requested action not taken: mailbox name not allowed",
    "554": "5.7.1 Transaction failed",
}


def fault_line(code, cmd):
    text = FAULT_TEXTS.get(code)
    if text is None:
        text = (f"{code[0]}.0.0 Injected failure" if code[0] in "245"
                else "Injected failure")
    return f"{code} {text.format(host=HOSTNAME)} (fault {cmd}:{code})"


_ENH_LINE = re.compile(r"^([245])(\d\d)([ -])(.*)$", re.S)
_ENH_CODE = re.compile(r"^[245]\.\d{1,3}\.\d{1,3}(?: |$)")


_ENH_DEFAULT = {
    "450": "4.2.0", "451": "4.3.0", "452": "4.3.1", "500": "5.5.2",
    "501": "5.5.4", "502": "5.5.1", "503": "5.5.1", "504": "5.5.4",
    "530": "5.7.0", "552": "5.3.4", "553": "5.1.3", "555": "5.5.4",
}


def add_enhanced(line):
    """Insert an RFC 3463 code into a 2xx/4xx/5xx line that lacks one."""
    m = _ENH_LINE.match(line)
    if not m or _ENH_CODE.match(m.group(4)):
        return line
    enh = _ENH_DEFAULT.get(m[1] + m[2], f"{m[1]}.0.0")
    return f"{m[1]}{m[2]}{m[3]}{enh} {m[4]}"


def enc(s):
    return s.encode("utf-8", "surrogateescape")


def render(lines, act):
    """Turn reply lines into wire bytes, applying a reply-mangling fault."""
    code = lines[0][:3] if re.match(r"\d{3}", lines[0]) else "250"
    last_text = lines[-1][4:] if len(lines[-1]) > 4 else ""
    if act is None:
        return b"".join(enc(ln) + b"\r\n" for ln in lines)
    if act == "garbage":
        return b"hello there\r\n"
    if act == "oversize":
        return enc(code + " " + "x" * (10000 - 4)) + b"\r\n"
    if act == "toomany":
        out = [f"{code}-line {i}" for i in range(1, 150)]
        out.append(f"{code} line 150")
        return b"".join(enc(ln) + b"\r\n" for ln in out)
    if act == "mixed":
        other = f"{code[0]}{(int(code[1:]) + 1) % 100:02d}"
        return enc(f"{code}-a\r\n{other} b\r\n")
    if act == "nul":
        first = lines[0] + "\x00nul"
        return b"".join(enc(ln) + b"\r\n" for ln in [first] + lines[1:])
    if act == "lfonly":
        return b"".join(enc(ln) + b"\n" for ln in lines)
    if act == "multiline":
        if len(lines) == 1:
            lines = [f"{code}-first", f"{code}-second", f"{code} {last_text}"]
        return b"".join(enc(ln) + b"\r\n" for ln in lines)
    if act == "inject":
        return (b"".join(enc(ln) + b"\r\n" for ln in lines)
                + b"250 injected\r\n")
    return b"".join(enc(ln) + b"\r\n" for ln in lines)


def atomic_write(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# message store

class Store:
    def __init__(self, base):
        self.base = base
        self.msgs = os.path.join(base, "msgs")
        self.by_rcpt = os.path.join(base, "by-rcpt")
        self.wire = os.path.join(base, "wire")
        for d in (self.msgs, self.by_rcpt, self.wire):
            os.makedirs(d, exist_ok=True)
        n = 0
        for fn in os.listdir(self.msgs):
            m = re.fullmatch(r"(\d+)\.(eml|json)", fn)
            if m:
                n = max(n, int(m.group(1)))
        self.counter = n

    def save(self, content, meta):
        self.counter += 1
        mid = f"{self.counter:06d}"
        meta = dict(meta, id=mid)
        js = (json.dumps(meta, indent=1, ensure_ascii=False) + "\n").encode()
        atomic_write(os.path.join(self.msgs, mid + ".eml"), content)
        atomic_write(os.path.join(self.msgs, mid + ".json"), js)
        if meta.get("rcpt_tos"):
            name = sanitize(meta["rcpt_tos"][0].lower())
            atomic_write(os.path.join(self.by_rcpt, name + ".eml"), content)
            atomic_write(os.path.join(self.by_rcpt, name + ".json"), js)
        return mid


class Handler:
    """aiosmtpd handler: DATA hook and exception reporting; the rest lives
    in TestSMTP."""

    async def handle_DATA(self, server, session, envelope):
        return await server.on_message(session, envelope)

    async def handle_exception(self, error):
        if isinstance(error, TLSSetupException):
            # Client rejected our certificate etc.: expected in tests.
            log.info("STARTTLS handshake failed: %r", error.__cause__)
            return "454 4.7.0 TLS handshake failed"
        log.exception("SMTP session exception")
        return f"500 5.0.0 Error: ({error.__class__.__name__}) {error}"


def authenticator(server, session, envelope, mechanism, auth_data):
    """PLAIN / LOGIN credential check."""
    try:
        login = auth_data.login.decode("utf-8")
        password = auth_data.password.decode("utf-8")
    except (AttributeError, UnicodeDecodeError):
        return AuthResult(success=False, handled=False)
    if ACCOUNTS.get(login) == password:
        server.used_mech = mechanism
        return AuthResult(success=True, auth_data=auth_data)
    log.info("%r AUTH %s failed for %r", session.peer, mechanism, login)
    return AuthResult(success=False, handled=False)


# ---------------------------------------------------------------------------
# the SMTP protocol

# Reply marker returned by on_message when a fault already answered.
_SILENT = object()


class TestSMTP(SMTP):

    def __init__(self, handler, *, listener, store, line_limit, **kw):
        self.listener = listener
        self.store = store
        self.faults = dict(listener["faults"])
        self.conn_faults = None
        self.used_mech = None
        self._greeted = False
        self._refused = None          # greeting NNN -> only QUIT accepted
        self._muted = False           # drop/stall: never write again
        self._xform = None            # pending reply-mangling action
        self._wire_name = None
        self._wire_buf = bytearray()
        self._wire_file = None
        # Per-instance limits (aiosmtpd keeps these in a shared class dict).
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit)
        # Big StreamReader limit so long AUTH lines pass; DATA lines are
        # still checked against line_length_limit by aiosmtpd.
        self.line_length_limit = READER_LIMIT
        super().__init__(handler, **kw)
        self.line_length_limit = line_limit
        self.command_size_limits["MAIL"] = 512 + 26 + 10 + 100
        self.command_size_limits["RCPT"] = 512 + 100
        self.command_size_limits["AUTH"] = AUTH_LINE_LIMIT

    # -- wire log -----------------------------------------------------------
    def data_received(self, data):
        try:
            if self._wire_file is not None:
                self._wire_file.write(data)
                self._wire_file.flush()
            elif len(self._wire_buf) < 1 << 20:
                self._wire_buf += data
        except Exception:
            log.exception("wire log write failed")
        super().data_received(data)

    def _wire_open(self, helo_arg):
        if self._wire_name is not None:
            return
        self._wire_name = sanitize(helo_arg)
        try:
            path = os.path.join(self.store.wire, self._wire_name + ".bin")
            self._wire_file = open(path, "ab")
            self._wire_file.write(bytes(self._wire_buf))
            self._wire_file.flush()
        except Exception:
            log.exception("cannot open wire log")
        self._wire_buf = bytearray()

    def connection_lost(self, error):
        try:
            if self._wire_file is not None:
                self._wire_file.close()
                self._wire_file = None
        except Exception:
            pass
        super().connection_lost(error)

    # -- output ---------------------------------------------------------------
    async def push(self, status):
        if status is _SILENT:
            return
        if isinstance(status, bytes):
            status = status.decode("utf-8", "surrogateescape")
        if not self._greeted:
            # The first push of a connection is aiosmtpd's greeting.
            self._greeted = True
            if await self._pre("greeting"):
                return
            await self._emit(status.split("\r\n"), enhanced=False)
            return
        await self._emit(status.split("\r\n"))

    async def _emit(self, lines, enhanced=True):
        if self._muted or self.transport is None:
            return
        act = self._xform
        if act != "lfonly":
            self._xform = None
        if enhanced:
            lines = [add_enhanced(ln) for ln in lines]
        data = render(lines, act)
        log.debug("%r << %r", self.session.peer, data[:200])
        self._writer.write(data)
        await self._writer.drain()

    async def _write_raw(self, data):
        if self._muted or self.transport is None:
            return
        self._writer.write(data)
        await self._writer.drain()

    # -- fault machinery ------------------------------------------------------
    def _fault_for(self, cmd):
        act = self.faults.get(cmd)
        if act is None:
            act = self.faults.get("any")
        return act

    def _close(self, rst=False):
        self._muted = True
        t = self.transport
        if t is None:
            return
        if rst:
            try:
                raw = self._original_transport or t
                sock = raw.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                raw.abort()
                return
            except Exception:
                log.exception("reset failed, closing instead")
        t.close()

    async def _stall(self):
        """Never answer again; read and discard input until the peer goes."""
        self._muted = True
        while True:
            data = await self._reader.read(65536)
            if not data:
                break

    async def _apply(self, cmd, act):
        """Run a fault action for cmd.  True if the command is finished."""
        log.info("%r fault %s:%s", self.session.peer, cmd, act)
        if re.fullmatch(r"\d{3}", act):
            await self._write_raw(enc(fault_line(act, cmd)) + b"\r\n")
            if act == "421":
                self._close()
            return True
        if act == "drop":
            self._close()
            return True
        if act == "reset":
            self._close(rst=True)
            return True
        if act == "stall":
            await self._stall()
            return True
        self._xform = act             # mangle the next reply
        return False

    async def _pre(self, cmd):
        """Called first by every command.  True if the command is done."""
        if self._xform == "lfonly":
            self._xform = None
        if self._muted:
            return True
        if self._refused is not None and cmd not in ("quit", "greeting"):
            await self._emit([f"503 5.5.1 No SMTP service here "
                              f"(greeting was {self._refused})"])
            return True
        act = self._fault_for(cmd)
        if act is None:
            return False
        done = await self._apply(cmd, act)
        if cmd == "greeting" and done and re.fullmatch(r"\d{3}", act) \
                and act != "421":
            self._refused = act
        return done

    async def _helo_common(self, arg):
        """Wire log naming and per-connection faults.  False: 501 sent."""
        self._wire_open(arg)
        token = arg.split()[0] if arg.split() else arg
        if token.lower().startswith("fault="):
            try:
                conn = parse_faults(token[6:])
            except FaultSpecError as e:
                if not self._muted and self._refused is None:
                    await self._emit([f"501 5.5.4 Invalid fault spec: {e}"])
                    return False
                return True
            if self.conn_faults != conn:
                self.conn_faults = conn
                self.faults = dict(self.listener["faults"])
                self.faults.update(conn)
                log.info("%r connection faults %r", self.session.peer, conn)
        return True

    # -- commands ---------------------------------------------------------------
    async def smtp_HELO(self, hostname):
        if not hostname:
            await self._emit(["501 Syntax: HELO hostname"])
            return
        if not await self._helo_common(hostname):
            return
        if await self._pre("helo"):
            return
        self._set_rset_state()
        self.session.extended_smtp = False
        self.session.host_name = hostname
        await self._emit([f"250 {self.hostname}"], enhanced=False)

    async def smtp_EHLO(self, hostname):
        if not hostname:
            await self._emit(["501 Syntax: EHLO hostname"])
            return
        if not await self._helo_common(hostname):
            return
        if await self._pre("ehlo"):
            return
        self._set_rset_state()
        self.session.extended_smtp = True
        self.session.host_name = hostname
        caps = [self.hostname, "PIPELINING", f"SIZE {self.data_size_limit}",
                "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES"]
        if self.tls_context and not self._tls_protocol:
            caps.append("STARTTLS")
        caps.append("AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2")
        caps.append("HELP")
        lines = [f"250-{c}" for c in caps[:-1]] + [f"250 {caps[-1]}"]
        await self._emit(lines, enhanced=False)

    async def smtp_HELP(self, arg):
        if await self._pre("help"):
            return
        await self._emit([
            f"214-{self.hostname} smtp_mail test server; commands:",
            "214 HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP "
            "STARTTLS AUTH",
        ])

    async def smtp_MAIL(self, arg):
        if await self._pre("mail"):
            return
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        if await self._pre("rcpt"):
            return
        await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg):
        if await self._pre("data"):
            return
        await super().smtp_DATA(arg)

    async def smtp_RSET(self, arg):
        if await self._pre("rset"):
            return
        await super().smtp_RSET(arg)

    async def smtp_NOOP(self, arg):
        if await self._pre("noop"):
            return
        await super().smtp_NOOP(arg)

    async def smtp_VRFY(self, arg):
        if await self._pre("vrfy"):
            return
        await super().smtp_VRFY(arg)

    async def smtp_EXPN(self, arg):
        if await self._pre("expn"):
            return
        await super().smtp_EXPN(arg)

    async def smtp_QUIT(self, arg):
        if await self._pre("quit"):
            return
        await super().smtp_QUIT(arg)

    async def smtp_STARTTLS(self, arg):
        if await self._pre("starttls"):
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg):
        if await self._pre("auth"):
            return
        if arg:
            mech, sep, rest = arg.partition(" ")
            arg = mech.upper() + sep + rest
        self.used_mech = None
        await super().smtp_AUTH(arg)

    # -- extra AUTH mechanisms ------------------------------------------------
    async def auth_CRAM__MD5(self, _, args):
        if len(args) > 1:
            await self.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return AuthResult(success=False, handled=True)
        challenge = (f"<{random.randrange(1 << 30)}.{int(time.time())}"
                     f"@{self.hostname}>").encode()
        resp = await self.challenge_auth(challenge)
        if resp is MISSING:
            return AuthResult(success=False, handled=True)
        try:
            user, digest = resp.decode("utf-8").rsplit(" ", 1)
        except (ValueError, UnicodeDecodeError):
            await self.push("501 5.5.2 Malformed CRAM-MD5 response")
            return AuthResult(success=False, handled=True)
        pw = ACCOUNTS.get(user)
        if pw is not None:
            want = hmac.new(pw.encode(), challenge, hashlib.md5).hexdigest()
            if hmac.compare_digest(want, digest.lower()):
                self.used_mech = "CRAM-MD5"
                return AuthResult(success=True, auth_data=LoginPassword(
                    user.encode(), b""))
        log.info("%r AUTH CRAM-MD5 failed for %r", self.session.peer, user)
        return AuthResult(success=False, handled=False)

    async def auth_XOAUTH2(self, _, args):
        if len(args) == 1:
            blob = await self.challenge_auth(b"")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                await self.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        user = token = None
        for part in blob.split(b"\x01"):
            if part.startswith(b"user="):
                user = part[5:].decode("utf-8", "replace")
            elif part.lower().startswith(b"auth=bearer "):
                token = part[12:].decode("utf-8", "replace").strip()
        if user is not None and token is not None \
                and OAUTH_ACCOUNTS.get(user) == token:
            self.used_mech = "XOAUTH2"
            return AuthResult(success=True, auth_data=LoginPassword(
                user.encode(), b""))
        log.info("%r AUTH XOAUTH2 failed for %r", self.session.peer, user)
        # Gmail behaviour: JSON error as a 334 challenge, then 535.
        await self.push("334 " + base64.b64encode(
            XOAUTH2_ERROR.encode()).decode())
        await self._reader.readline()
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not "
                                  "accepted")

    # -- message capture ------------------------------------------------------
    def _tls_info(self):
        t = self.transport
        so = t.get_extra_info("ssl_object") if t is not None else None
        if so is None:
            return {"tls": False}
        info = {"tls": True, "tls_version": so.version(),
                "tls_cipher": (so.cipher() or [None])[0],
                "tls_session_reused": bool(so.session_reused),
                "client_cert": None}
        try:
            pc = so.getpeercert()
            if pc:
                for rdn in pc.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            info["client_cert"] = v
        except Exception:
            pass
        return info

    async def on_message(self, session, envelope):
        if self._xform == "lfonly":
            self._xform = None
        act = self._fault_for("dot")
        if act is not None and await self._apply("dot", act):
            # NNN already sent / dropped / stalled: message not stored.
            return _SILENT
        user = None
        if session.authenticated and session.auth_data is not None:
            login = getattr(session.auth_data, "login", None)
            if isinstance(login, bytes):
                login = login.decode("utf-8", "replace")
            user = login
        content = envelope.original_content or b""
        peer = session.peer
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "rcpt_options": list(envelope.rcpt_options),
            "helo": session.host_name,
            "esmtp": bool(session.extended_smtp),
            "auth": user,
            "auth_mechanism": self.used_mech if user else None,
            "size": len(content),
            "smtputf8": bool(envelope.smtp_utf8),
            "port": self.listener["port"],
            "kind": self.listener["kind"],
            "peer": list(peer[:2]) if peer else None,
            "wire": (self._wire_name + ".bin") if self._wire_name else None,
            "time": time.time(),
        }
        meta.update(self._tls_info())
        mid = self.store.save(content, meta)
        log.info("%r stored message %s from %r to %r (%d bytes)", peer, mid,
                 envelope.mail_from, envelope.rcpt_tos, len(content))
        return f"250 2.0.0 OK queued as {mid}"


# ---------------------------------------------------------------------------
# listeners / main

def parse_listen(spec):
    parts = spec.split(":")
    if len(parts) < 2:
        raise ValueError(f"listen spec {spec!r}: need PORT:KIND")
    try:
        port = int(parts[0])
    except ValueError:
        raise ValueError(f"listen spec {spec!r}: bad port")
    kind = parts[1].lower()
    if kind not in KINDS:
        raise ValueError(f"listen spec {spec!r}: kind must be one of "
                         f"{', '.join(KINDS)}")
    rest = parts[2:]
    cert = "server"
    if rest and (rest[0] == "" or rest[0] in CERTS):
        cert = rest[0] or "server"
        rest = rest[1:]
    fault_spec = ":".join(rest)
    try:
        faults = parse_faults(fault_spec)
    except FaultSpecError as e:
        raise ValueError(f"listen spec {spec!r}: {e}")
    ipv6 = kind.endswith("6")
    return {"spec": spec, "port": port, "kind": kind.rstrip("6"),
            "host": "::1" if ipv6 else "127.0.0.1", "cert": cert,
            "faults": faults}


def make_tls_context(pki, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    chain = os.path.join(pki, f"{cert}-chain.pem")
    if not os.path.exists(chain):
        chain = os.path.join(pki, f"{cert}.crt")
    ctx.load_cert_chain(chain, os.path.join(pki, f"{cert}.key"))
    # Ask for (but do not require) a client certificate from our CA.
    cafiles = [os.path.join(pki, f) for f in ("root-ca.crt", "inter-ca.crt")]
    if all(os.path.exists(f) for f in cafiles):
        for f in cafiles:
            ctx.load_verify_locations(f)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


class _QuietDeprecation(logging.Filter):
    def filter(self, record):
        return "login_data is deprecated" not in record.getMessage()


async def amain(args):
    loop = asyncio.get_running_loop()
    store = Store(args.dir)
    handler = Handler()
    servers = []
    for L in args.listeners:
        tls_ctx = None
        if L["kind"] in ("starttls", "tls"):
            tls_ctx = make_tls_context(args.pki, L["cert"])

        def factory(L=L, tls_ctx=tls_ctx):
            return TestSMTP(
                handler, listener=L, store=store, line_limit=args.line_limit,
                hostname=HOSTNAME, ident=IDENT,
                data_size_limit=DATA_SIZE_LIMIT, enable_SMTPUTF8=True,
                decode_data=False,
                tls_context=tls_ctx if L["kind"] == "starttls" else None,
                require_starttls=False, timeout=args.timeout,
                auth_require_tls=False, authenticator=authenticator,
                loop=loop)

        srv = await loop.create_server(
            factory, host=L["host"], port=L["port"], reuse_address=True,
            ssl=tls_ctx if L["kind"] == "tls" else None)
        servers.append(srv)
        log.info("listening on [%s]:%d kind=%s cert=%s faults=%r",
                 L["host"], L["port"], L["kind"], L["cert"], L["faults"])

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("ready\n")
    os.replace(tmp, args.ready_file)
    log.info("ready (pid %d)", os.getpid())

    await stop.wait()
    log.info("shutting down")
    for srv in servers:
        srv.close()
    try:
        os.unlink(args.ready_file)
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description="smtp_mail test SMTP server")
    ap.add_argument("--dir", required=True,
                    help="output directory (smtpd.log, msgs/, by-rcpt/, wire/)")
    ap.add_argument("--pki", required=True, help="directory from make-pki.sh")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--listen", action="append", required=True,
                    metavar="PORT:KIND[:CERT][:FAULT]")
    ap.add_argument("--timeout", type=float, default=300,
                    help="idle timeout per connection, seconds (300)")
    ap.add_argument("--line-limit", type=int, default=1001,
                    help="max DATA line length incl. CRLF (1001 = RFC 5321 "
                         "998+CRLF+dot)")
    ap.add_argument("--debug", action="store_true")
    args = ap.parse_args()
    try:
        args.listeners = [parse_listen(s) for s in args.listen]
    except ValueError as e:
        ap.error(str(e))

    os.makedirs(args.dir, exist_ok=True)
    try:
        os.unlink(args.ready_file)
    except OSError:
        pass
    logging.basicConfig(
        filename=os.path.join(args.dir, "smtpd.log"),
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    logging.getLogger("mail.log").addFilter(_QuietDeprecation())
    try:
        asyncio.run(amain(args))
    except OSError as e:
        log.error("startup failed: %s", e)
        print(f"smtpd.py: {e}", file=sys.stderr)
        sys.exit(1)
    log.info("exit")


if __name__ == "__main__":
    main()
