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
              "threads_untracked", "timers_untracked", "timer_mismatch", "fds_untracked",
              "fd_mismatch", "mmaps_untracked", "sampler_set_full"]   # drop__name(i), value i


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
        prom.wait_value('leaktrace_timers_open{pid="7"}', "0", timeout=10 * SCALE)
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
        check(rows and rows[0][0] == "12", "start_worker has 12 threads (7 live)\n" + out)

        fx.publish_next()
        # with -seconds, pprof asks for ?seconds=N: ignored by the server
        rc, out, err = go_pprof(["-seconds", "1", "-top", "-unit=B", "-sample_index=inuse_space",
                                 fx.url + "/debug/pprof/heap"], tmp)
        check_eq(rc, 0, "go tool pprof -seconds 1\n" + err[-2000:])
        rows = [l.split() for l in out.splitlines() if l.strip().endswith("load_dataset")]
        check(rows and rows[0][0] == "8000B", "load_dataset 8000 B after the next publish\n" + out)


# ---------------------------------------------------------------- leaktrace --serve itself

class Served:
    """leaktrace --serve on a free loopback port tracing leaker, released;
    the leaker has made all its leaks (its bytes stay constant)."""

    def __init__(self, extra=(), interval=1):
        from harness import Target, Tracer
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.target = Target("leaker")
        self.lt = Tracer(["-p", self.target.pid, "--serve", f"127.0.0.1:{self.port}", *extra,
                          interval])
        self.lt.wait_ready()
        self.target.release()	# waits for its DONE: every leak is made

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.lt.kill()
        self.target.__exit__(*exc)
        return False

    def wait_report(self, number=2, timeout=20 * SCALE):
        """The JSON of report NUMBER (or a later one) from /report.json."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _, body = fetch(self.url + "/report.json", timeout=5)
            if status == 200:
                rep = json.loads(body)
                if rep.get("report", 0) >= number:
                    return rep
            time.sleep(0.2)
        raise Fail(f"no report {number} served within {timeout:.0f} s\n{self.lt.diag()}")


def test_leaktrace_serve_pprof_names_the_leak():
    """`go tool pprof -top URL` on leaktrace's own /debug/pprof/heap names leak_malloc
    with its exact bytes; --serve alone prints no report on stdout."""
    need("go", "golang-go")
    with Served() as sv, tempfile.TemporaryDirectory() as tmp:
        sv.wait_report(2)
        flat, out = pprof_top(sv.url + "/debug/pprof/heap", tmp)
        check_eq(flat.get("leak_malloc"), 3 * 1001, "flat bytes of leak_malloc\n" + out)
        check_eq(sv.lt.out.lines, [], "stdout with --serve alone")


def test_leaktrace_serve_prometheus():
    """Debian's prometheus scrapes leaktrace's /metrics; its query API gives
    leaktrace_outstanding_bytes for the target's pid equal to the report's bytes;
    promtool accepts /metrics; POST is 405 and an unknown path 404."""
    promtool = need("promtool", "prometheus")
    with Served() as sv, tempfile.TemporaryDirectory() as tmp:
        rep = sv.wait_report(2)
        want = rep["memory"]["outstanding_bytes"]
        status, _, body = fetch(sv.url + "/metrics")
        check_eq(status, 200, "GET /metrics")
        p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=30)
        check_eq((p.returncode, (p.stdout + p.stderr).decode(errors="replace").strip()), (0, ""),
                 "promtool check metrics on leaktrace's /metrics")
        req = urllib.request.Request(sv.url + "/metrics", data=b"x", method="POST")
        try:
            urllib.request.urlopen(req, timeout=5)
            code = 200
        except urllib.error.HTTPError as e:
            code = e.code
        check_eq(code, 405, "POST /metrics")
        check_eq(fetch(sv.url + "/no/such/path")[0], 404, "GET of an unknown path")
        with Prometheus(f"127.0.0.1:{sv.port}", tmp) as prom:
            pid = sv.target.pid
            labels = prom.wait_value(f'leaktrace_outstanding_bytes{{pid="{pid}"}}', str(want))
            check_eq(labels.get("comm"), "leaker", "comm label")
            rep = sv.wait_report(0)
            check_eq(rep["memory"]["outstanding_bytes"], want, "the report's bytes stayed put")


def test_leaktrace_serve_clients_never_delay_reports():
    """200 clients downloading at once and one that connects and never reads do not
    delay a report by more than 100 ms: reports every 0.5 s stay on schedule."""
    import threading
    with Served(extra=["--format", "json"], interval=0.5) as sv:
        sv.wait_report(1)
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                try:
                    fetch(sv.url + "/debug/pprof/heap", timeout=5)
                    fetch(sv.url + "/metrics", timeout=5)
                except Exception:
                    pass
        stuck = socket.create_connection(("127.0.0.1", sv.port))
        stuck.sendall(b"GET /report.json HTTP/1.1\r\nHost: x\r\n\r\n")     # and never reads
        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(200)]
        for t in threads:
            t.start()
        n0 = len(sv.lt.out.lines)
        time.sleep(4 * SCALE)
        stop.set()
        for t in threads:
            t.join(10)
        stuck.close()
        reps = [json.loads(l) for l in sv.lt.out.lines[n0:] if l.startswith("{")]
        check(len(reps) >= 5, f"reports while the clients ran: {len(reps)}")
        late = [(r["report"], round(r["elapsed_s"] - (reps[0]["elapsed_s"] + 0.5 * i), 3))
                for i, r in enumerate(reps)]
        worst = max(abs(d) for _, d in late)
        check(worst <= 0.1 * SCALE, f"a report was off its schedule by {worst:.3f} s: {late}")


def test_leaktrace_serve_port_in_use():
    """A port in use: one line, exit 1, before anything is attached (no ready line)."""
    from harness import Target
    from test_errors import check_error
    with socket.socket() as busy, Target("continuous") as t:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        line = check_error(["-p", t.pid, "--serve", f"127.0.0.1:{port}"], 1)
        check("address already in use" in line and not line.startswith("leaktrace: ready"), f"the line: {line}")
        check(t.alive(), "the target died")
