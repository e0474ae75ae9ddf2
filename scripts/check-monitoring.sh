#!/usr/bin/env bash
# Checks the monitoring files of Config/monitoring/ (make check-monitoring, part of make test):
# - the alert rules load (promtool check rules) and behave as their unit tests say
#   (promtool test rules alert-rules.test.yml);
# - the Grafana dashboard is valid JSON, every panel has a query, and every query is valid PromQL
#   (each is loaded by promtool as a recording rule, Grafana's $__rate_interval read as 5m).
# That the metric names exist on a running gateway is checked by
# Tests/EndToEndTests/MonitoringArtefactsTests.swift.
set -euo pipefail
cd "$(dirname "$0")/../Config/monitoring"

promtool check rules alert-rules.yml
promtool test rules alert-rules.test.yml

dashboard=grafana-dashboard.json
jq empty "$dashboard"
empty=$(jq -r '[.panels[] | select(.type != "row") | select((.targets // []) | length == 0) | .title] | join(", ")' "$dashboard")
if [ -n "$empty" ]; then
    echo "$dashboard: panels without a query: $empty" >&2
    exit 1
fi
queries=$(mktemp --suffix=.yml)
trap 'rm -f "$queries"' EXIT
jq '{groups: [{name: "grafana-dashboard", rules: ([.panels[].targets[]?.expr] | to_entries
      | map({record: "dashboard:query_\(.key)", expr: (.value | gsub("\\$__rate_interval"; "5m"))}))}]}' "$dashboard" > "$queries"
echo "Checking the queries of $dashboard"
promtool check rules "$queries" | sed "s|$queries|$dashboard|"
