"""Shared helpers for the end-to-end scripts: start signalbridge processes on 127.0.0.1 and check things."""
import contextlib
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request


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


@contextlib.contextmanager
def simulator(binary, env):
    """A temporary folder and a `signalbridge sim` on a free loopback port that accepts the OKX_* credentials of `env`:
    yields (its base URL, the folder), and stops it afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        sim, base, _ = start(binary, ["sim", "--port", "0"], env=env, announce="OKX simulator listening on")
        try:
            yield base, folder
        finally:
            stop(sim)


def write_bridge_config(folder, sim_base, rules, sources, **extra):
    """Writes `folder`/config.json for `signalbridge serve` (listeners on free loopback ports, `signalbridge sim` at
    `sim_base` as the exchange with the OKX_* credentials from the environment, a journal, `rules` in
    rules/rules.json, `sources`) with the further top-level keys `extra` (risk, logging, ...)."""
    os.makedirs(os.path.join(folder, "rules"), exist_ok=True)
    with open(os.path.join(folder, "rules", "rules.json"), "w") as f:
        json.dump({"rules": rules}, f)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(dict({"listen": {"host": "127.0.0.1", "port": 0}, "admin": {"host": "127.0.0.1", "port": 0},
                        "exchange": {"kind": "okx", "baseURL": sim_base, "demo": True,
                                     "credentials": {"apiKeyEnv": "OKX_API_KEY", "secretKeyEnv": "OKX_SECRET_KEY", "passphraseEnv": "OKX_PASSPHRASE"}},
                        "journal": {"directory": "journal"}, "rules": ["rules"], "sources": sources}, **extra), f)


def start(binary, args, env=None, announce="listening on", cwd=None, timeout=30, also=(), stderr=None):
    """Starts `signalbridge ARGS`, waits for the line containing `announce` (and one containing each of `also`),
    returns (process, base URL of `announce`, lines). The rest of stdout is drained into `lines` meanwhile, so a
    talkative process never blocks on a full pipe; `stderr` (the log) goes to that open file when given."""
    merged = dict(os.environ, **(env or {}))
    proc = subprocess.Popen([binary] + args, stdout=subprocess.PIPE, stderr=stderr or subprocess.DEVNULL, text=True, env=merged, cwd=cwd)
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        base = base_of(lines, announce)
        if base and all(base_of(lines, text) for text in also):
            threading.Thread(target=lambda: lines.extend(line.rstrip("\n") for line in proc.stdout), daemon=True).start()
            return proc, base, lines
    proc.kill()
    raise RuntimeError(f"signalbridge {' '.join(args)} did not announce '{announce}': {lines}")


def base_of(lines, announce):
    """The loopback base URL on the first of `lines` that contains `announce`, or None."""
    for line in lines:
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line) if announce in line else None
        if match:
            return f"http://127.0.0.1:{match.group(1)}"
    return None


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def journal_records(directory):
    """Every complete record of the journal in `directory`, oldest first (a torn last line is left out)."""
    records = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("journal-"):
            with open(os.path.join(directory, name)) as segment:
                for line in segment:
                    if line.endswith("\n"):
                        records.append(json.loads(line))
    return records


def sim_fault(base, fault, method="POST"):
    """Injects `fault` at the simulator (`POST /sim/faults`), or clears every fault (`method="DELETE"`)."""
    request = urllib.request.Request(f"{base}/sim/faults", data=json.dumps(fault).encode() if fault else None, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status


def sim_orders(base):
    """Every order the simulator was ever sent, oldest first."""
    with urllib.request.urlopen(f"{base}/sim/orders", timeout=5) as response:
        return json.load(response)["data"]


def http_status(url, body=None, headers=None, method=None, insecure_tls=False, timeout=15):
    """Sends one request (a POST of `body` when given, else a GET); returns the HTTP status, or None when nothing
    answered. `insecure_tls` accepts any certificate (a test's self-signed one)."""
    request = urllib.request.Request(url, data=body, method=method or ("POST" if body is not None else "GET"), headers=headers or {})
    context = None
    if insecure_tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


def wait_until(condition, timeout=60, interval=0.05):
    """Polls `condition` until it holds or `timeout` seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def replay_unchanged(c, binary, folder, env, name):
    """Checks that `signalbridge journal replay` of the journal in `folder` (config.json, rules/) with the rules that
    wrote it reports every signal replayable and none changed."""
    replay = subprocess.run([binary, "journal", "replay", "--config", "config.json", "--rules", "rules", "--format", "json"],
                            cwd=folder, capture_output=True, text=True, env=dict(os.environ, **env))
    lines = [json.loads(line) for line in replay.stdout.splitlines() if line.strip()]
    summary = lines[-1].get("summary", {}) if lines else {}
    odd = [line for line in lines[:-1] if line.get("changed") or "notReplayable" in line]
    c.check(f"{name}: journal replay with the rules in force changes nothing ({summary.get('signals')} signals)",
            replay.returncode == 0 and summary.get("signals", 0) > 0 and summary.get("changed") == 0
            and summary.get("notReplayable") == 0 and not odd and len(lines) == summary["signals"] + 1,
            (replay.returncode, summary, odd[:2], replay.stderr[-500:]))
