#!/usr/bin/python3
"""kioskd benchmarks: start to ready, idle RSS, and RSS after many citizen sessions.

Runs the release kioskd with the in-process reader simulator (cards placed and removed through
its control FIFO) on a private state and runtime directory, and prints the figures.

Usage: scripts/bench-kioskd.py [--sessions 1000] [--binary .build/release/kioskd]
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def breakdown(pid, top=14):
    """Resident memory by mapping (file or kind), largest first, from /proc/PID/smaps: in all,
    clean (file pages the kernel can drop and read again) and dirty (private, written)."""
    sizes, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                name = (fields[5] if len(fields) > 5 else "[anonymous]") + " " + fields[1]
                sizes.setdefault(name, [0, 0, 0])
            elif fields[0] == "Rss:":
                sizes[name][0] += int(fields[1])
            elif fields[0] in ("Shared_Clean:", "Private_Clean:"):
                sizes[name][1] += int(fields[1])
            elif fields[0] in ("Shared_Dirty:", "Private_Dirty:"):
                sizes[name][2] += int(fields[1])
    print("     RSS    clean    dirty  mapping (permissions)")
    for path, (rss, clean, dirty) in sorted(sizes.items(), key=lambda item: -item[1][0])[:top]:
        print(f"  {rss / 1024:6.1f}  {clean / 1024:6.1f}  {dirty / 1024:6.1f}  {path}")


def status(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock)
    s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: kioskd\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    body = data.split(b"\r\n\r\n", 1)[1]
    if b"chunked" in data.split(b"\r\n\r\n", 1)[0].lower():
        out, rest = b"", body
        while rest:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            out, rest = out + rest[:size], rest[size + 2:]
        body = out
    return json.loads(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build/release/kioskd"))
    ap.add_argument("--breakdown", action="store_true", help="print resident memory by mapping when idle")
    args = ap.parse_args()
    # A kiosk's binary was written to disk long before it runs: flush a fresh build's pages first,
    # or the kernel cannot give back the code pages start-up touched (dirty page cache stays).
    os.sync()
    work = tempfile.mkdtemp(prefix="bench-kioskd-")
    config = os.path.join(work, "config")
    shutil.copytree(os.path.join(ROOT, "kiosk-config"), config)
    kiosk_yaml = os.path.join(config, "kiosk.yaml")
    text = open(kiosk_yaml).read().replace("pollIntervalMilliseconds: 250", "pollIntervalMilliseconds: 100")
    open(kiosk_yaml, "w").write(text)
    state = os.path.join(work, "state")
    os.makedirs(state)
    shutil.copy(os.path.join(ROOT, "scripts/testbeds/demo-document-signing.key"), os.path.join(state, "document-signing.key"))
    run = os.path.join(work, "run")
    fifo = os.path.join(work, "card")
    os.mkfifo(fifo)
    tech = os.path.join(run, "technician.sock")
    # Sessions are followed as the citizen's interface follows them: on the citizen socket.
    citizen = os.path.join(run, "citizen.sock")
    log = open(os.path.join(work, "kioskd.log"), "w")
    starts = []
    proc = None
    for attempt in range(5):
        t0 = time.perf_counter()
        proc = subprocess.Popen([args.binary, "--demo", "--config", config, "--state", state, "--runtime", run,
                                 "--simulator-control", fifo, "--log-level", "warning"], stdout=log, stderr=log)
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(os.path.join(run, "citizen.sock"))
                s.close()
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(tech)
                s.close()
                break
            except OSError:
                time.sleep(0.001)
        starts.append((time.perf_counter() - t0) * 1000)
        if attempt < 4:
            proc.terminate()
            proc.wait()
            shutil.rmtree(run, ignore_errors=True)
    starts.sort()
    print(f"start to ready (both sockets accept): median {starts[2]:.0f} ms, best {starts[0]:.0f} ms, worst {starts[-1]:.0f} ms (5 starts)")
    # Idle: ten seconds after ready, start-up's pages given back (at two seconds) and every idle
    # loop (reader, printers, session timer, relay) run several times.
    time.sleep(10)
    idle = rss_kib(proc.pid)
    print(f"idle RSS: {idle / 1024:.1f} MiB")
    if args.breakdown:
        breakdown(proc.pid)

    def control(line):
        with open(fifo, "w") as f:
            f.write(line + "\n")

    def wait(pred, seconds=10):
        deadline = time.time() + seconds
        while time.time() < deadline:
            st = status(citizen)
            if pred(st):
                return st
            time.sleep(0.02)
        raise SystemExit("kioskd did not reach the expected state")

    # Warm-up sessions, then the measured run.
    t0 = time.perf_counter()
    baseline = None
    for i in range(args.sessions + 20):
        if i == 20:
            baseline = rss_kib(proc.pid)
            t0 = time.perf_counter()
        control("place resident")
        wait(lambda st: st.get("session") is not None)
        control("remove")
        wait(lambda st: st.get("session") is None)
    elapsed = time.perf_counter() - t0
    time.sleep(1)
    after = rss_kib(proc.pid)
    print(f"sessions: {args.sessions} in {elapsed:.1f} s ({args.sessions / elapsed:.1f}/s, reader polled every 100 ms)")
    print(f"RSS after warm-up {baseline / 1024:.1f} MiB, after {args.sessions} sessions {after / 1024:.1f} MiB "
          f"(growth {(after - baseline) / 1024:+.2f} MiB; from start {(after - idle) / 1024:+.2f} MiB)")
    if args.breakdown:
        breakdown(proc.pid)
    proc.terminate()
    proc.wait()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
