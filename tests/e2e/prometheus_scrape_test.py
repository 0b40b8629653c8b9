#!/usr/bin/env python3
"""e2e: a real Prometheus (/usr/bin/prometheus) scrapes the real server.

Starts vidserve and Prometheus on free loopback ports (TSDB in a temp dir), with a
generated scrape config that also loads deploy/prometheus/alerts.yml, makes a few calls,
and waits (bounded) until vidserve_requests_total is queryable through the HTTP API. Then
every query of deploy/grafana/vidserve-dashboard.json and every rule must evaluate without
error against the live data.
"""

import json
import os
import shutil
import urllib.parse

from e2e_util import (FRAMES, HEIGHT, STEPS, WIDTH, Failure, VidserveServer, check,
                      free_port, http_get, log, main_wrapper, managed_process, run,
                      temp_workdir, wait_until)


def query(prom, expr):
    url = f"http://{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, body = http_get(url)
    return json.loads(body)


def dashboard_exprs(path):
    with open(path) as f:
        dash = json.load(f)
    for panel in dash["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target["expr"]


def test(args):
    prometheus = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not os.access(prometheus, os.X_OK):
        raise Failure("prometheus is not installed (deploy/install-deps.sh installs it)")
    cli = os.path.join(args.build_dir, "vidserve-cli")
    alerts = os.path.join(args.source_dir, "deploy", "prometheus", "alerts.yml")
    with temp_workdir("vidserve-e2e-prom-") as work, \
            VidserveServer(args.build_dir, args.source_dir, work) as server:
        # The server's own endpoints first.
        status, body = http_get(f"http://{server.metrics_address}/healthz")
        check(status == 200, "/healthz answers 200")
        r = run([cli, "--server", server.address, "info"])
        check(r.returncode == 0, "one GetModelInfo call")
        r = run([cli, "--server", server.address, "--quiet", "generate", "--prompt", "metrics",
                 "--frames", FRAMES, "--height", HEIGHT, "--width", WIDTH, "--steps", STEPS,
                 "--out", os.path.join(work, "m.y4m")], timeout=300)
        check(r.returncode == 0, "one Generate call")
        status, body = http_get(f"http://{server.metrics_address}/metrics")
        check(status == 200 and "vidserve_requests_total{" in body, "/metrics has vidserve_requests_total")
        check('vidserve_request_duration_seconds_bucket{' in body, "/metrics has the latency histogram")

        prom = f"127.0.0.1:{free_port()}"
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {alerts}
scrape_configs:
  - job_name: vidserve
    scrape_interval: 1s
    static_configs:
      - targets: ["{server.metrics_address}"]
""")
        cmd = [prometheus, f"--config.file={config}", f"--storage.tsdb.path={work}/tsdb",
               f"--web.listen-address={prom}", "--log.level=warn"]
        with managed_process(cmd, os.path.join(work, "prometheus.log")) as proc:
            def ready():
                if proc.poll() is not None:
                    raise Failure(f"prometheus exited with {proc.returncode}")
                return http_get(f"http://{prom}/-/ready")[0] == 200
            wait_until("prometheus ready", ready, 60)

            def series():
                res = query(prom, "vidserve_requests_total")
                return res["data"]["result"] if res.get("status") == "success" else None
            result = wait_until("vidserve_requests_total in Prometheus", series, 60)
            methods = {s["metric"].get("method") for s in result}
            check({"generate", "get_model_info"} <= methods,
                  f"Prometheus has vidserve_requests_total for {sorted(methods)}")
            up = query(prom, 'up{job="vidserve"}')["data"]["result"]
            check(up and up[0]["value"][1] == "1", "up{job=vidserve} == 1")

            # Rates need two samples inside the window: wait for a few scrapes.
            wait_until("two scrapes", lambda: query(prom, "count_over_time(up[1m])")["data"]["result"]
                       and float(query(prom, "count_over_time(up[1m])")["data"]["result"][0]["value"][1]) >= 3, 30)
            for title, expr in dashboard_exprs(os.path.join(args.source_dir, "deploy", "grafana",
                                                            "vidserve-dashboard.json")):
                concrete = expr.replace("$__rate_interval", "1m").replace('"$instance"', '".*"')
                res = query(prom, concrete)
                if res.get("status") != "success":
                    raise Failure(f"dashboard panel '{title}': {concrete}: {res}")
            log("ok: every dashboard query evaluates")
            rate = query(prom, 'sum by (method) (rate(vidserve_requests_total{method="generate"}[1m]))')
            check(rate["data"]["result"], "a rate over the scraped counter has data")

            status, body = http_get(f"http://{prom}/api/v1/rules")
            groups = {g["name"]: g for g in json.loads(body)["data"]["groups"]}
            check({"vidserve-recording", "vidserve-alerts"} <= set(groups), "alerts.yml loaded")
            bad = [r["name"] for g in groups.values() for r in g["rules"] if r.get("health") == "err"]
            check(not bad, f"no rule fails to evaluate on live data ({bad})")


if __name__ == "__main__":
    main_wrapper(test)
