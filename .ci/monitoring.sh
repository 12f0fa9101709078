#!/usr/bin/env bash
# The operator's monitoring in deploy/ (issue 13):
#   1. promtool check rules + test rules on deploy/prometheus: every alert
#      fires on a synthetic series above its threshold and stays quiet below.
#   2. The tests can fail: with any one rule removed, or with a threshold
#      loosened until the "below" series crosses it, `promtool test rules`
#      must fail.
#   3. The Go tests that start a real server and check that every metric the
#      rules and deploy/grafana/rampart.json name is on its /metrics, and
#      that rampart_ready / rampart_redis_degraded follow the database and
#      Redis (they need the PostgreSQL and Redis the other tests use).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}

if ! command -v promtool >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
promtool --version 2>&1 | head -1

rules=deploy/prometheus/alerts.yml
tests=deploy/prometheus/alerts_test.yml
promtool check rules "$rules"
promtool test rules "$tests"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$tests" "$work/alerts_test.yml" # its rule_files names alerts.yml next to it
must_fail() { # WHAT: the mutated $work/alerts.yml must fail the unit tests
	if promtool test rules "$work/alerts_test.yml" >"$work/out" 2>&1; then
		echo "monitoring: the unit tests still pass with $1" >&2
		exit 1
	fi
}

# Each rule removed in turn: its firing case must notice.
mapfile -t alerts < <(sed -n 's/^ *- alert: *//p' "$rules")
[ "${#alerts[@]}" -gt 0 ] || { echo "monitoring: no rules read from $rules" >&2; exit 1; }
for alert in "${alerts[@]}"; do
	awk -v drop="$alert" '
		/^ *- alert:/ { skip = ($3 == drop) }
		/^ *- name:/  { skip = 0 }
		!skip' "$rules" >"$work/alerts.yml"
	grep -q "alert: $alert\$" "$work/alerts.yml" && { echo "monitoring: could not remove $alert" >&2; exit 1; }
	must_fail "$alert removed"
done

# Thresholds loosened just past the "below" series of each test: its quiet
# case must notice.
loosen() { # SED-EXPRESSION WHAT
	sed "$1" "$rules" >"$work/alerts.yml"
	cmp -s "$rules" "$work/alerts.yml" && { echo "monitoring: '$1' changed nothing in $rules" >&2; exit 1; }
	must_fail "$2"
}
loosen 's/^\( *\)> 0\.05$/\1> 0.03/' "the 5xx ratio threshold at 3%"
loosen '/code="401"/s/> 1$/> 0.8/' "the 401 threshold at 0.8/s"
loosen '/code="403"/s/> 0\.5$/> 0.4/' "the 403 threshold at 0.4/s"
loosen '/code="429"/s/> 1$/> 0.8/' "the 429 threshold at 0.8/s"
loosen 's/>= on (job, instance) go_sched_gomaxprocs_threads/>= on (job, instance) (go_sched_gomaxprocs_threads - 1)/' \
	"saturation at one slot below GOMAXPROCS"
loosen '/alert: RampartNotReady/,/for:/s/for: 2m/for: 0m/' "RampartNotReady without its 2 minutes"
loosen '/alert: RampartRedisDegraded/,/for:/s/for: 2m/for: 0m/' "RampartRedisDegraded without its 2 minutes"
loosen '/alert: RampartDown/,/for:/s/for: 2m/for: 0m/' "RampartDown without its 2 minutes"
loosen '/alert: RampartPasswordHashesQueued/,/for:/s/for: 5m/for: 1m/' "RampartPasswordHashesQueued after 1 minute"
loosen 's/increase(rampart_alerts_total\[5m\])/increase(rampart_alerts_total[30m])/' "detector alerts held for 30 minutes"
loosen '/rampart_mail_outbox_backlog/s/> 20$/> 14/' "the outbox backlog threshold at 14"
loosen '/alert: RampartMailOutboxBacklog/,/for:/s/for: 15m/for: 5m/' "RampartMailOutboxBacklog after 5 minutes"
loosen 's/increase(rampart_mail_failed_total\[15m\])/increase(rampart_mail_failed_total[30m])/' "given-up mail held for 30 minutes"
echo "monitoring: ${#alerts[@]} rules, each one's removal and each loosened threshold caught"

go test -count=1 -run '^(TestDeployedMonitoringNamesOnlyExportedMetrics|TestUnexportedCatchesMisspeltNames|TestReadinessAndRedisGauges)$' ./cmd/rampart
