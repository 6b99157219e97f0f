# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""--serve's documents read by real clients (docs/fleet.md): `promtool check
metrics`, a Prometheus server that scrapes /metrics and answers its query API,
and `go tool pprof http://.../debug/pprof/heap`.

The server is .output/tests/serve_fixture (built by `make unit`; in the static
suite, the static one of `make leaktrace-static`): src/serve.c
and src/metrics.c serving a fixed report the way `leaktrace --serve` does; its
values are listed in tests/unit/serve_fixture.c. SIGUSR1 makes it publish the
next generation (outstanding bytes x G).

Debian's prometheus (2.42, with promtool) and golang-go are installed by
scripts/install-deps.sh; without them these tests are skipped. Grafana Alloy
and Parca are not in Debian: their configurations in docs/fleet.md are not
run here.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from harness import REPO, SCALE, Fail, Skip, _Lines, check, check_eq
from test_outputs import go_pprof, pprof_top

# The static suite (tests/run.sh, ./leaktrace-static) reads the static fixture that
# `make leaktrace-static` links: libmicrohttpd.a without gnutls (src/static/notls.c).
STATIC_SUITE = os.environ.get("LEAKTRACE_SUITE_NAME") == "static"
FIXTURE = REPO / (os.environ.get("STATIC_OUTPUT", ".output-static") if STATIC_SUITE
                  else os.environ.get("OUTPUT", ".output")) / "tests" / "serve_fixture"
START_TIMEOUT = 10 * SCALE
PROM_TIMEOUT = 60 * SCALE

# tests/unit/serve_fixture.c
ODD_COMM = 'we"ird\\x\ny\ufffd'     # FIXTURE_ODD_COMM as Prometheus keeps it (\xff is U+FFFD)
DROP_NAMES = ["allocs_untracked", "stack_collisions", "stack_errors", "missed_returns",
              "inflight_full", "sites_full", "ringbuf_lost", "unmatched_returns",
              "threads_untracked", "timers_untracked", "timer_mismatch"]   # drop__name(i), value i


class Fixture:
    """serve_fixture on 127.0.0.1, a free port; killed on the way out."""

    def __init__(self):
        if not (FIXTURE.is_file() and os.access(FIXTURE, os.X_OK)):
            raise Fail(f"{FIXTURE} is not built (make {'leaktrace-static' if STATIC_SUITE else 'unit'} "
                       "builds it)")
        self.proc = subprocess.Popen([str(FIXTURE), "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)
        hit = self.out.wait_for(lambda l: l.startswith("READY "), START_TIMEOUT)
        if not hit:
            self.kill()
            raise Fail(f"serve_fixture did not print READY:\n{self.err.text()}")
        self.port = int(hit[1].split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.gen = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def publish_next(self):
        self.gen += 1
        self.proc.send_signal(signal.SIGUSR1)
        if not self.out.wait_for(lambda l: l == f"PUBLISHED {self.gen}", START_TIMEOUT):
            raise Fail(f"serve_fixture did not publish generation {self.gen}:\n{self.err.text()}")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def fetch(url, timeout=10):
    """(status, headers, body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need(tool, package):
    path = shutil.which(tool)
    if not path:
        raise Skip(f"{tool} not installed (scripts/install-deps.sh installs {package})")
    return path


# ---------------------------------------------------------------- promtool

def test_serve_promtool_checks_metrics():
    """/metrics passes `promtool check metrics` (parser and linter) without a remark."""
    promtool = need("promtool", "prometheus")
    # promtool really checks: a counter without _total and HELP is flagged
    p = subprocess.run([promtool, "check", "metrics"], input=b"# TYPE bad counter\nbad 1\n",
                       capture_output=True, timeout=30)
    check(p.returncode != 0, "promtool check metrics flags a bad exposition")
    with Fixture() as fx:
        status, headers, body = fetch(fx.url + "/metrics")
        check_eq(status, 200, "GET /metrics")
        check_eq(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8", "Content-Type")
        p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
        remarks = (p.stdout + p.stderr).decode(errors="replace").strip()
        check_eq((p.returncode, remarks), (0, ""), "promtool check metrics: exit status and remarks")
        text = body.decode()
        for line in ('leaktrace_outstanding_bytes{pid="42",comm="server"} 4350',
                     'leaktrace_outstanding_bytes{pid="other",comm="other"} 5000',
                     'leaktrace_outstanding_bytes{pid="7",comm="we\\"ird\\\\x\\ny\ufffd"} 100'):
            check(line + "\n" in text, f"/metrics has the line {line!r}")


# ---------------------------------------------------------------- Prometheus

class Prometheus:
    """Debian's prometheus on 127.0.0.1, scraping TARGET every second, state in TMP."""

    def __init__(self, target, tmp):
        binary = need("prometheus", "prometheus")
        self.port = free_port()
        conf = Path(tmp) / "prometheus.yml"
        conf.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                        "  evaluation_interval: 1s\n"
                        "scrape_configs:\n  - job_name: leaktrace\n"
                        f"    static_configs:\n      - targets: ['{target}']\n")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={conf}", f"--storage.tsdb.path={tmp}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            cwd=tmp, start_new_session=True)
        self.err = _Lines(self.proc.stderr)
        self.api = f"http://127.0.0.1:{self.port}/api/v1"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return False

    def get(self, path):
        try:
            status, _, body = fetch(self.api + path, timeout=5)
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            return None
        return json.loads(body) if status == 200 else None

    def query(self, promql):
        """[(labels, value string)] of an instant query; None while Prometheus is not up."""
        r = self.get("/query?" + urllib.parse.urlencode({"query": promql}))
        if not r or r.get("status") != "success":
            return None
        return [(s["metric"], s["value"][1]) for s in r["data"]["result"]]

    def wait_value(self, promql, want, timeout=PROM_TIMEOUT):
        """Wait until PROMQL gives one series with value WANT; returns its labels."""
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Fail(f"prometheus exited with {self.proc.returncode}:\n{self.err.text(last=20)}")
            got = self.query(promql)
            if got and len(got) == 1 and got[0][1] == want:
                return got[0][0]
            time.sleep(0.5)
        targets = self.get("/targets")
        raise Fail(f"{promql}: expected one series of value {want!r} within {timeout:.0f} s, "
                   f"last answer {got!r}\ntargets: {json.dumps(targets)[:1500]}\n"
                   f"prometheus stderr:\n{self.err.text(last=20)}")


def test_serve_prometheus_scrapes_metrics():
    """A Prometheus server scrapes the fixture each second: its query API gives the series with
    the values published, labels escaped as they should be (a comm with " \\ newline and a
    non-UTF-8 byte), and the next publish's values."""
    with Fixture() as fx, tempfile.TemporaryDirectory() as tmp, \
            Prometheus(f"127.0.0.1:{fx.port}", tmp) as prom:
        labels = prom.wait_value('leaktrace_outstanding_bytes{pid="42"}', "4350")
        check_eq({k: labels[k] for k in ("comm", "pid", "job")},
                 {"comm": "server", "pid": "42", "job": "leaktrace"}, "labels of pid 42")
        checks = [
            ('leaktrace_outstanding_bytes{pid="other"}', "5000", {"comm": "other"}),
            ('leaktrace_outstanding_bytes{pid="7"}', "100", {"comm": ODD_COMM}),
            ('leaktrace_outstanding_allocations{pid="42"}', "6", {}),
            ('leaktrace_threads{pid="42",state="live"}', "7", {}),
            ('leaktrace_threads{pid="42",state="exited_unjoined"}', "5", {}),
            ('leaktrace_timers_open{pid="42"}', "29", {}),
            ('leaktrace_growing_sites{pid="42",tracker="memory"}', "1", {}),
            ('leaktrace_growing_sites{pid="42",tracker="timers"}', "0", {}),
            ('leaktrace_drops_total{kind="ringbuf_lost"}', str(DROP_NAMES.index("ringbuf_lost")), {}),
            ("leaktrace_reports_total", "1", {}),
            ("leaktrace_report_duration_seconds", "0.0125", {}),
            ("leaktrace_build_info", "1", {}),
            ('up{job="leaktrace"}', "1", {}),
        ]
        for promql, want, want_labels in checks:
            labels = prom.wait_value(promql, want, timeout=10 * SCALE)
            for k, v in want_labels.items():
                check_eq(labels.get(k), v, f"label {k} of {promql}")
        kinds = sorted(l["kind"] for l, _ in prom.query("leaktrace_drops_total") or [])
        check_eq(kinds, sorted(DROP_NAMES), "every drop kind is a series")
        check_eq(prom.query('leaktrace_timers_open{pid="7"}'), [], "pid 7 has no timers series")
        check_eq(prom.query("leaktrace_fds_open"), [], "no fds series (tracker off)")
        version = prom.query("leaktrace_build_info")[0][0].get("version", "")
        check(version and version[0].isdigit(), f"build_info has the version: {version!r}")

        fx.publish_next()
        prom.wait_value('leaktrace_outstanding_bytes{pid="42"}', "8700", timeout=15 * SCALE)
        prom.wait_value("leaktrace_reports_total", "2", timeout=10 * SCALE)


# ---------------------------------------------------------------- go tool pprof

def test_serve_go_tool_pprof_fetches_heap():
    """`go tool pprof -top URL` fetches /debug/pprof/heap (the gzip'ed profile as the body) and
    /debug/pprof/threads, and sees the next publish."""
    need("go", "golang-go")
    with Fixture() as fx, tempfile.TemporaryDirectory() as tmp:
        flat, out = pprof_top(fx.url + "/debug/pprof/heap", tmp)
        check_eq((flat.get("load_dataset"), flat.get("parse_config")), (4000, 350),
                 "flat bytes of load_dataset and parse_config\n" + out)

        rc, out, err = go_pprof(["-top", fx.url + "/debug/pprof/threads"], tmp)
        check_eq(rc, 0, "go tool pprof -top /debug/pprof/threads\n" + err[-2000:])
        check("Type: threads" in out, "the threads profile\n" + out)
        rows = [l.split() for l in out.splitlines() if l.strip().endswith("start_worker")]
        check(rows and rows[0][0] == "7", "start_worker has 7 threads\n" + out)

        fx.publish_next()
        # with -seconds, pprof asks for ?seconds=N: ignored by the server
        rc, out, err = go_pprof(["-seconds", "1", "-top", "-unit=B", "-sample_index=inuse_space",
                                 fx.url + "/debug/pprof/heap"], tmp)
        check_eq(rc, 0, "go tool pprof -seconds 1\n" + err[-2000:])
        rows = [l.split() for l in out.splitlines() if l.strip().endswith("load_dataset")]
        check(rows and rows[0][0] == "8000B", "load_dataset 8000 B after the next publish\n" + out)
