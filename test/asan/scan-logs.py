#!/usr/bin/python3
"""Read the sanitizer logs of one check-asan run and decide.

usage: scan-logs.py LOGDIR [MODULE_NAME]

Every report is one of:
  error  - AddressSanitizer or UndefinedBehaviorSanitizer error (any process);
  leak   - one LeakSanitizer leak record (a "Direct/Indirect leak of" block);
  vg     - one valgrind error record (valgrind mode).
A record is "ours" when one of its frames is in the smtp_mail module (its
file name, or a source file of src/).  Exit status 1 if there is any
sanitizer error, or any leak / valgrind record of ours; 0 otherwise.
Prints each record of ours in full and a one-line tally of the rest.
"""
import collections
import os
import re
import sys

logdir = sys.argv[1]
module = sys.argv[2] if len(sys.argv) > 2 else "smtp_mail.so"
SRC = ("acl.c", "acl_match.c", "auth.c", "conn.c", "diagnostics.c", "module.c",
       "proto.c", "sasl.c", "tls.c", "transport.c", "utl_smtp.c", "wallet.c")
src_re = re.compile(r"/src/(%s):\d+" % "|".join(re.escape(s) for s in SRC))
frame_re = re.compile(r"^\s*#\d+ ")
vg_frame_re = re.compile(r"^==\d+==\s+(at|by) 0x")


def ours(lines):
    for l in lines:
        if (frame_re.match(l) or vg_frame_re.match(l)) and \
                (module in l or src_re.search(l)):
            return True
    return False


def first_frames(lines, n=3):
    out = []
    for l in lines:
        if frame_re.match(l) or vg_frame_re.match(l):
            m = re.search(r" in (\S+)", l) or re.search(r": (\S+) \(", l)
            mod = re.search(r"\((?:in )?(\S+?)(?:\+0x\w+)?\)", l)
            if m:
                out.append(m.group(1))
            else:
                out.append("?@" + os.path.basename(mod.group(1)) if mod else "?")
            if len(out) == n:
                break
    return re.sub(r" \(BuildId: \w+\)", "", " < ".join(out)) if out else "?"


errors, our_leaks, our_vg = [], [], []
noise = collections.Counter()
files = sorted(os.listdir(logdir)) if os.path.isdir(logdir) else []
for name in files:
    path = os.path.join(logdir, name)
    with open(path, errors="replace") as f:
        text = f.read().splitlines()
    if name.startswith("vg."):
        # valgrind: records are separated by lines that are just "==PID== ".
        rec = []
        for l in text + ["==0== "]:
            if re.match(r"^==\d+==\s*$", l):
                if rec and any(vg_frame_re.match(x) for x in rec):
                    head = rec[0]
                    if "definitely lost" in head or "indirectly lost" in head \
                            or "possibly lost" in head or not "lost in loss record" in head:
                        if ours(rec):
                            our_vg.append((name, rec))
                        else:
                            noise["valgrind: " + first_frames(rec)] += 1
                rec = []
            elif re.match(r"^==\d+== (HEAP|LEAK|ERROR) SUMMARY|^==\d+== (Memcheck|Copyright|Using|Command|Parent|  )", l) and not vg_frame_re.match(l):
                rec = []
            else:
                rec.append(l)
        continue
    i = 0
    while i < len(text):
        l = text[i]
        if "ERROR: AddressSanitizer" in l or "runtime error:" in l:
            j = i + 1
            while j < len(text) and not text[j].startswith("SUMMARY:"):
                j += 1
            errors.append((name, text[i:j + 1]))
            i = j + 1
            continue
        if re.match(r"^(Direct|Indirect) leak of", l):
            j = i + 1
            while j < len(text) and text[j].strip() != "":
                j += 1
            rec = text[i:j]
            if ours(rec):
                our_leaks.append((name, rec))
            else:
                noise["leak: " + first_frames(rec, 4)] += 1
            i = j
            continue
        i += 1

def our_frame(rec):
    """The first frame of the record in smtp_mail: 'function file:line'."""
    for l in rec:
        if (frame_re.match(l) or vg_frame_re.match(l)) and \
                (module in l or src_re.search(l)):
            m = re.search(r" in (\S+) \S*/src/(\S+?)(:\d+)?(:\d+)?(\s|$)", l)
            if m:
                return "%s %s%s" % (m.group(1), m.group(2), m.group(3) or "")
            m = re.search(r"(?:in|by 0x\w+: |at 0x\w+: )(\S+).*\((\S+\.c:\d+)\)", l)
            return "%s %s" % (m.group(1), m.group(2)) if m else l.strip()[:80]
    return "?"


def shorten(rec):
    """The record without the PostgreSQL frames below the executor."""
    out, skipping = [], False
    for l in rec:
        if frame_re.match(l) or vg_frame_re.match(l):
            if skipping:
                continue
            out.append(re.sub(r" \(BuildId: \w+\)", "", l))
            if re.search(r"\b(standard_ExecutorRun|PortalRun|PostgresMain|exec_stmt\w*)\b", l):
                out.append("    ...")
                skipping = True
        else:
            skipping = False
            out.append(l)
    return out


print("sanitizer logs: %d files in %s" % (len(files), logdir))
# Each distinct place is shown once in full; repeats are counted.
for kind, items in (("SANITIZER ERROR", errors), ("LEAK FROM smtp_mail", our_leaks),
                    ("VALGRIND ERROR IN smtp_mail", our_vg)):
    groups = collections.OrderedDict()
    for name, rec in items:
        indirect = "Indirect leak" in rec[0] or "indirectly lost" in rec[0]
        key = ("Indirect" if indirect else "", our_frame(rec))
        groups.setdefault(key, []).append((name, rec))
    for (lk, where), recs in groups.items():
        name, rec = recs[0]
        if lk.startswith("Indirect"):
            # Memory reachable only from a direct leak: its cause is there.
            print("---- %s (indirect) at %s: %d record(s)" % (kind, where, len(recs)))
            continue
        print("\n---- %s at %s: %d record(s), first in %s ----" % (kind, where, len(recs), name))
        print("\n".join(shorten(rec)))
print("\nsanitizer errors: %d; leak records with smtp_mail frames: %d; "
      "valgrind records with smtp_mail frames: %d"
      % (len(errors), len(our_leaks), len(our_vg)))
if noise:
    print("records without smtp_mail frames (PostgreSQL/library noise, not failures):")
    for k, v in noise.most_common(15):
        print("  %4d  %s" % (v, k))
sys.exit(1 if errors or our_leaks or our_vg else 0)
