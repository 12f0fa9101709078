#!/usr/bin/env bash
# deploy/compose.yaml, validated without running it (no registry is
# reachable, so its images cannot be pulled). Debian's podman-compose 1.0.3
# has no `config` command; `--dry-run up` parses the file and prints the
# podman commands it would run, and the checks below read those: the proxy
# alone on the public network, the internal networks marked internal, the
# replicas hardened (read-only, no capabilities, no-new-privileges, uid
# 65532) with secrets as files and none in the environment. A mutated copy
# (PostgreSQL on the public network) must fail the same checks.
#
# --dry-run of 1.0.3 still creates the project's networks and volumes; they
# get a unique project name and are removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v podman-compose >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman-compose >/dev/null
fi

work=$(mktemp -d)
projects=()
cleanup() {
	for p in "${projects[@]}"; do
		for n in public edge backend; do podman network rm -f "${p}_$n" >/dev/null 2>&1 || true; done
		for v in pgdata redisdata; do podman volume rm -f "${p}_$v" >/dev/null 2>&1 || true; done
	done
	rm -rf "$work"
}
trap cleanup EXIT

# check PROJECT COMPOSE_FILE: exits non-zero with the reasons. The caller
# records PROJECT for cleanup (check may run in a subshell).
check() {
	local project=$1
	timeout 120 podman-compose --dry-run -p "$project" -f "$2" up -d >"$work/dry.txt" 2>&1 ||
		{ tail -5 "$work/dry.txt" >&2; return 1; }
	python3 - "$work/dry.txt" "$project" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
p = sys.argv[2]
runs = {}
for line in text.splitlines():
    m = re.match(r"podman run --name=%s_([a-z0-9-]+)_1 (.*)" % re.escape(p), line)
    if m:
        runs[m.group(1)] = m.group(2)
bad = []
want = {"proxy", "rampart-1", "rampart-2", "postgres", "redis"}
if set(runs) != want:
    bad.append(f"services {sorted(runs)}, want {sorted(want)}")
nets = {s: set(re.search(r"--net (\S+)", a).group(1).split(",")) for s, a in runs.items() if "--net " in a}
allowed = {"proxy": {"public", "edge"}, "rampart-1": {"edge", "backend"}, "rampart-2": {"edge", "backend"},
           "postgres": {"backend"}, "redis": {"backend"}}
for s, want_nets in allowed.items():
    got = {n.removeprefix(p + "_") for n in nets.get(s, set())}
    if got != want_nets:
        bad.append(f"{s} on networks {sorted(got)}, want {sorted(want_nets)}")
for n in ("edge", "backend"):
    if not re.search(r"'network', 'create',.*'--internal', '%s_%s'" % (re.escape(p), n), text):
        bad.append(f"network {n} is not internal")
if re.search(r"'network', 'create',.*'--internal', '%s_public'" % re.escape(p), text):
    bad.append("network public is internal: the proxy could not be reached")
for s in ("rampart-1", "rampart-2"):
    a = runs.get(s, "")
    for flag in ("--read-only", "--cap-drop ALL", "--security-opt no-new-privileges:true", "-u 65532:65532", "-m 256m"):
        if flag not in a:
            bad.append(f"{s}: missing {flag}")
    if "--cap-add" in a:
        bad.append(f"{s}: adds capabilities")
    for secret in ("database_url", "redis_url", "master_key"):
        if f":/run/secrets/{secret}:ro" not in a:
            bad.append(f"{s}: secret {secret} is not a read-only file")
    if re.search(r"-e RAMPART_(DATABASE_URL|REDIS_URL|MASTER_KEY)=", a):
        bad.append(f"{s}: a secret in the environment")
for s in ("postgres", "redis", "rampart-1", "rampart-2"):
    if " -p " in runs.get(s, ""):
        bad.append(f"{s}: publishes a port")
for b in bad:
    print("  compose:", b)
sys.exit(1 if bad else 0)
PY
}

start=$SECONDS
projects=(rampartci$$ rampartcibad$$)
check "${projects[0]}" deploy/compose.yaml
echo "compose: deploy/compose.yaml: proxy alone on public; edge and backend internal; replicas hardened, secrets as files ($((SECONDS - start)) s)"

# The same checks on a copy whose PostgreSQL joins the public network.
sed '/^  postgres:/,/^  redis:/s/    networks: \[backend\]/    networks: [backend, public]/' deploy/compose.yaml >"$work/bad.yaml"
cp -r deploy/nginx "$work/"
if why=$(check "${projects[1]}" "$work/bad.yaml" 2>&1); then
	echo "compose: SELF-CHECK FAILED: PostgreSQL on the public network was not caught" >&2
	exit 1
fi
echo "compose: caught: PostgreSQL on the public network --$(head -n 1 <<<"$why")"
echo "compose: OK"
