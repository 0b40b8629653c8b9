#!/usr/bin/env bash
# e2e: static checks of deploy/prometheus with promtool: the scrape config, the rules, and
# the rules' unit tests (alerts_test.yml). Also checks the Grafana dashboard is valid JSON.
set -euo pipefail
src="${1:?usage: promtool_test.sh SOURCE_DIR}"
cd "$src/deploy/prometheus"
command -v promtool >/dev/null || { echo "promtool missing (apt: prometheus)"; exit 1; }
promtool check config prometheus.yml
promtool check rules alerts.yml
promtool test rules alerts_test.yml
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"], "no panels"; print("dashboard:", len(d["panels"]), "panels")' \
  "$src/deploy/grafana/vidserve-dashboard.json"
# deploy/k8s/prometheusrule.yaml must carry exactly the rules of alerts.yml.
/usr/bin/python3 - "$src" <<'PY'
import sys, yaml
src = sys.argv[1]
rules = yaml.safe_load(open(f"{src}/deploy/prometheus/alerts.yml"))
crd = yaml.safe_load(open(f"{src}/deploy/k8s/prometheusrule.yaml"))
assert crd["spec"] == rules, "deploy/k8s/prometheusrule.yaml is out of date with deploy/prometheus/alerts.yml"
print("prometheusrule.yaml matches alerts.yml")
PY
