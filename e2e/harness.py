"""Shared helpers for the end-to-end scripts: start signalbridge processes on 127.0.0.1 and check things."""
import os
import re
import subprocess
import sys
import time


class Checks:
    """Counts named checks; a failed one is reported and the run goes on, so one report shows every failure."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def start(binary, args, env=None, announce="listening on", cwd=None, timeout=30):
    """Starts `signalbridge ARGS`, waits for the line containing `announce`, returns (process, base URL, lines)."""
    merged = dict(os.environ, **(env or {}))
    proc = subprocess.Popen([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=merged, cwd=cwd)
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if announce in line:
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match:
                return proc, f"http://127.0.0.1:{match.group(1)}", lines
    proc.kill()
    raise RuntimeError(f"signalbridge {' '.join(args)} did not announce '{announce}': {lines}")


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
