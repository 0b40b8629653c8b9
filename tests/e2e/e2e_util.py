"""Shared helpers for the end-to-end tests: free ports, the real `vidserve` binary as a
subprocess, bounded waits, and command runners that log what they do.

Every process started here is stopped in a `finally`/context-manager exit; every wait has
a deadline; everything listens on 127.0.0.1 only.
"""

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

# Tiny model, small clips: the whole e2e suite must stay within a few minutes on 2 cores.
FRAMES, HEIGHT, WIDTH, STEPS = 5, 32, 32, 2


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True, help="CMAKE_BINARY_DIR (holds vidserve, vidserve-cli, python/)")
    p.add_argument("--source-dir", required=True, help="repository root")
    return p.parse_args(argv)


def log(msg):
    print(f"[e2e {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Failure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)
    log(f"ok: {msg}")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, timeout=120, env=None, cwd=None):
    """Runs cmd, returns CompletedProcess (text). Raises Failure on timeout."""
    log("$ " + " ".join(str(c) for c in cmd))
    try:
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                           env=env, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        raise Failure(f"timed out after {timeout}s: {cmd}\nstdout: {e.stdout}\nstderr: {e.stderr}")
    for name, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        if text.strip():
            print(f"  [{name}] " + text.strip().replace("\n", "\n  [" + name + "] "), flush=True)
    log(f"  exit {r.returncode}")
    return r


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode("utf-8", "replace")


def wait_until(what, fn, timeout_s, interval_s=0.5):
    """Polls fn() until it returns a truthy value; raises Failure after timeout_s."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
        except Failure:
            raise
        except Exception as e:  # still starting: connection refused and friends
            last = e
        time.sleep(interval_s)
    raise Failure(f"{what}: not reached within {timeout_s}s (last error: {last})")


@contextlib.contextmanager
def managed_process(cmd, log_path, env=None):
    """Starts cmd with output to log_path; on exit sends SIGTERM, waits, then SIGKILL.
    The log is printed when the block raises."""
    log("starting: " + " ".join(str(c) for c in cmd))
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    ok = False
    try:
        yield proc
        ok = True
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log(f"pid {proc.pid} ignored SIGTERM for 30s; killing")
                proc.kill()
                proc.wait(timeout=10)
        if not ok:
            dump_log(log_path)


def dump_log(path, tail_lines=200):
    try:
        with open(path, "r", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return
    print(f"----- last {min(len(lines), tail_lines)} lines of {path} -----")
    sys.stdout.writelines(lines[-tail_lines:])
    print("-----", flush=True)


class VidserveServer:
    """The real server binary on free loopback ports, tiny preset, CPU."""

    def __init__(self, build_dir, source_dir, workdir, extra_args=()):
        self.binary = os.path.join(build_dir, "vidserve")
        self.cli = os.path.join(build_dir, "vidserve-cli")
        self.config = os.path.join(source_dir, "deploy", "vidserve.yaml")
        self.port = free_port()
        self.metrics_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.metrics_address = f"127.0.0.1:{self.metrics_port}"
        self.log_path = os.path.join(workdir, "vidserve.log")
        self.extra_args = list(extra_args)
        self._cm = None
        self.proc = None

    def __enter__(self):
        if not os.access(self.binary, os.X_OK):
            raise Failure(f"server binary {self.binary} is missing: build the 'vidserve' target")
        cmd = [self.binary, "--listen", self.address, "--metrics_listen", self.metrics_address,
               "--device", "cpu", "--preset", "tiny"]
        if os.path.exists(self.config):
            cmd = [self.binary, "--config", self.config] + cmd[1:]
        cmd += self.extra_args
        env = dict(os.environ, OMP_NUM_THREADS="1")
        self._cm = managed_process(cmd, self.log_path, env=env)
        self.proc = self._cm.__enter__()
        try:
            self.wait_serving(timeout_s=180)
        except BaseException:
            self._cm.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def wait_serving(self, timeout_s):
        def serving():
            if self.proc.poll() is not None:
                raise Failure(f"vidserve exited with {self.proc.returncode} before SERVING")
            r = subprocess.run([self.cli, "--server", self.address, "--timeout_s", "2", "health"],
                               capture_output=True, text=True, timeout=10)
            return r.returncode == 0 and "SERVING" in r.stdout
        t0 = time.monotonic()
        wait_until("vidserve SERVING", serving, timeout_s)
        log(f"vidserve SERVING on {self.address} (metrics {self.metrics_address}) "
            f"after {time.monotonic() - t0:.1f}s")


@contextlib.contextmanager
def temp_workdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main_wrapper(fn):
    """Runs fn(args); exit 0 on success, 1 with the failure message otherwise."""
    args = parse_args()
    t0 = time.monotonic()
    try:
        fn(args)
    except Failure as e:
        log(f"FAILED: {e}")
        sys.exit(1)
    log(f"PASSED in {time.monotonic() - t0:.1f}s")
