#!/usr/bin/env bash
# The release image, built by deploy/image/Containerfile and checked by
# running it: it serves, refuses production without secrets, runs as uid
# 65532 with no capabilities and no-new-privileges, writes only to its data
# volume, holds exactly the expected files, and the binary inside has no
# reachable known vulnerability (govulncheck -mode=binary, offline DB). A
# CycloneDX SBOM of that binary is written to $ARTEFACTS/image-sbom.cdx.json.
# Then the same checks run against deliberately bad variants (an image
# without USER, a process running as root, an extra file, a container that
# keeps its capabilities and a writable root) and must fail: the checks
# catch what they claim to. Last, deploy/k8s/deployment.yaml is run with
# podman kube play against the local PostgreSQL and Redis.
#
# env: GOVULNCHECK, GOVULNDB (built by .ci/run), ARTEFACTS (default .ci/out)
# Runs as root (podman). Only loopback listeners; the containers use the
# host network because the sandbox has no other.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
ci_name=image
. .ci/lib.sh
: "${GOVULNCHECK:?set GOVULNCHECK (see .ci/run)}" "${GOVULNDB:?set GOVULNDB (see .ci/run)}"
ARTEFACTS=${ARTEFACTS:-.ci/out}
mkdir -p "$ARTEFACTS"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi
# The sandbox refuses crun and the default limits.
podman() { command podman --runtime runc "$@"; }
LIMITS=(--ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network host)
# The hardened run flags, as a deployment must use them.
HARDENED=(--read-only --read-only-tmpfs=false --cap-drop=ALL --security-opt=no-new-privileges)

tag=localhost/rampart:ci-$$
work=$(mktemp -d)
containers=() images=("$tag") volumes=() kube_db="" kube_play_file=""
cleanup() {
	command podman pod rm -f rampart-pod-0 >/dev/null 2>&1 || true
	[ -z "$kube_play_file" ] || command podman kube down "$kube_play_file" >/dev/null 2>&1 || true
	[ -z "$kube_db" ] || psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $kube_db" >/dev/null 2>&1 || true
	for c in "${containers[@]}"; do podman rm -v -f -t 2 "$c" >/dev/null 2>&1 || true; done
	for v in "${volumes[@]}"; do podman volume rm -f "$v" >/dev/null 2>&1 || true; done
	for i in "${images[@]}"; do podman image unmount "$i" >/dev/null 2>&1 || true; podman rmi -f "$i" >/dev/null 2>&1 || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# --- build: the binary outside the container, then the image around it ---
ctx=$work/ctx
mkdir -p "$ctx/data"
CGO_ENABLED=0 go build -trimpath -o "$ctx/rampart" ./cmd/rampart
cp deploy/image/passwd deploy/image/group "$ctx/"
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
build() { # build TAG CONTAINERFILE
	podman build -q --format docker -f "$2" -t "$1" "$ctx" >/dev/null
}
build "$tag" deploy/image/Containerfile

# --- checks, each a function so the bad variants below can run them too ---

# The image holds exactly these files, with these owners and modes.
expected_files='drwxr-xr-x 65532:65532 ./data
drwxr-xr-x 0:0 ./etc
-rw-r--r-- 0:0 ./etc/group
-rw-r--r-- 0:0 ./etc/passwd
drwxr-xr-x 0:0 ./etc/ssl
drwxr-xr-x 0:0 ./etc/ssl/certs
-rw-r--r-- 0:0 ./etc/ssl/certs/ca-certificates.crt
-rwxr-xr-x 0:0 ./rampart'
check_files() { # IMAGE
	local m got
	m=$(podman image mount "$1")
	got=$(cd "$m" && find . -mindepth 1 -printf '%M %U:%G %p\n' | sort -k3)
	podman image unmount "$1" >/dev/null
	if [ "$got" != "$expected_files" ]; then
		diff <(echo "$expected_files") <(echo "$got") >&2 || true
		fail "$1: files differ from the expected set"
	fi
}

# The image's configured user is the non-root one.
check_image_user() { # IMAGE
	local u
	u=$(podman image inspect -f '{{.Config.User}}' "$1")
	[ "$u" = "65532:65532" ] || fail "$1: image user is '$u', want 65532:65532"
}

# The running process, as the kernel sees it: uid/gid 65532, no
# capabilities (not even in the bounding set), no-new-privileges, seccomp.
check_process() { # CONTAINER
	local pid st
	pid=$(podman inspect -f '{{.State.Pid}}' "$1")
	[ "$pid" -gt 0 ] || fail "$1: not running"
	st=$(cat "/proc/$pid/status")
	grep -Eq '^Uid:\s+65532\s+65532\s+65532\s+65532$' <<<"$st" || fail "$1: $(grep ^Uid: <<<"$st")"
	grep -Eq '^Gid:\s+65532\s+65532\s+65532\s+65532$' <<<"$st" || fail "$1: $(grep ^Gid: <<<"$st")"
	for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -Eq "^$cap:\s+0+$" <<<"$st" || fail "$1: $(grep "^$cap:" <<<"$st")"
	done
	grep -Eq '^NoNewPrivs:\s+1$' <<<"$st" || fail "$1: no-new-privileges is off"
	grep -Eq '^Seccomp:\s+2$' <<<"$st" || fail "$1: no seccomp filter"
}

# Nothing written outside the volume: the root filesystem is read-only,
# and podman diff shows only what the engine itself sets up (/etc/hosts,
# /etc/resolv.conf and friends under /etc, and mount points).
check_writes() { # CONTAINER
	local ro changes
	ro=$(podman inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$1")
	[ "$ro" = true ] || fail "$1: root filesystem is writable"
	changes=$(podman diff "$1" | grep -Ev '^C /etc$|^A /etc/(hosts|hostname|resolv\.conf)$|^A /run(/secrets(/[a-z]+)?)?$|^A /(dev|proc|sys)$' || true)
	[ -z "$changes" ] || fail "$1: wrote outside the volume: $changes"
}

# wait_ready waits for /readyz, not /healthz: a starting server is alive
# (healthz 200) before it serves, and traffic sent then gets 503.
wait_ready() { # PORT CONTAINER
	for _ in $(seq 1 50); do
		if curl -fsS --max-time 2 "http://127.0.0.1:$1/readyz" >/dev/null 2>&1; then return 0; fi
		[ "$(podman inspect -f '{{.State.Running}}' "$2")" = true ] || break
		sleep 0.2
	done
	podman logs "$2" >&2 || true
	fail "$2: /readyz never answered 200 on 127.0.0.1:$1"
}

# --- the good image ---
check_files "$tag"
check_image_user "$tag"
echo "image: files and user as expected"

# Production without secrets: refuses to start, names what is missing.
set +e
refusal=$(podman run --rm "${LIMITS[@]}" "${HARDENED[@]}" "$tag" 2>&1)
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "production without secrets started (rc 0)"
grep -q 'RAMPART_MASTER_KEY: missing' <<<"$refusal" || fail "refusal does not name the master key: $refusal"
echo "image: production without secrets refused (rc $rc)"

# Production with secrets as files and SQLite on the volume.
secrets=$work/secrets
mkdir -p "$secrets"
head -c 32 /dev/urandom | base64 >"$secrets/master_key"
chown -R 65532:65532 "$secrets"
chmod 0400 "$secrets/master_key"
chmod 0500 "$secrets"
vol=rampart-ci-data-$$
podman volume create "$vol" >/dev/null
volumes+=("$vol")
port=$(free_port)
admin=$(free_port)
# Production signup defaults to verify, which needs SMTP; this image has
# none, so it signs up openly (the production rule signup_mail).
ctr=$(podman run -d "${LIMITS[@]}" "${HARDENED[@]}" \
	-v "$vol:/data" -v "$secrets:/run/secrets:ro" \
	-e RAMPART_ADDR="127.0.0.1:$port" -e RAMPART_ADMIN_ADDR="127.0.0.1:$admin" \
	-e RAMPART_MASTER_KEY_FILE=/run/secrets/master_key \
	-e RAMPART_DATABASE_URL=sqlite:/data/rampart.db -e RAMPART_AUTO_MIGRATE=true \
	-e RAMPART_SIGNUP=open \
	"$tag" 2>/dev/null)
containers+=("$ctr")
wait_ready "$port" "$ctr"
# Traffic that writes: a signup stores a tenant and a user.
code=$(curl -sS -o "$work/signup.json" -w '%{http_code}' --max-time 20 -H 'Content-Type: application/json' \
	-d '{"email":"ci@example.com","password":"correct horse battery staple","displayName":"CI","organization":"ci"}' \
	"http://127.0.0.1:$port/v1/signup")
case $code in 2??) ;; *) fail "signup through the container: HTTP $code: $(cat "$work/signup.json")" ;; esac
echo "image: signup through the container: HTTP $code"
podman healthcheck run "$ctr" >/dev/null 2>&1 || fail "HEALTHCHECK (rampart healthcheck) failed"
check_process "$ctr"
check_writes "$ctr"
m=$(podman volume mount "$vol")
[ -s "$m/rampart.db" ] || fail "no database in the data volume"
podman volume unmount "$vol" >/dev/null
podman stop -t 20 "$ctr" >/dev/null 2>&1
[ "$(podman inspect -f '{{.State.ExitCode}}' "$ctr")" = 0 ] || fail "did not stop cleanly on SIGTERM"
echo "image: served on 127.0.0.1:$port as uid 65532, no capabilities, read-only root, data only in the volume, clean stop"

# --- what is inside: the binary as shipped ---
m=$(podman image mount "$tag")
cp "$m/rampart" "$work/rampart-image"
podman image unmount "$tag" >/dev/null
GOVULNCHECK="$GOVULNCHECK" GOVULNDB="$GOVULNDB" bash ../shared/tools/govulncheck-gate.sh --strict -mode=binary "$work/rampart-image"
go run github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0 bin -json \
	-output "$ARTEFACTS/image-sbom.cdx.json" "$work/rampart-image" 2>/dev/null
echo "image: SBOM $ARTEFACTS/image-sbom.cdx.json ($(grep -c '"bom-ref"' "$ARTEFACTS/image-sbom.cdx.json") components)"

# --- the checks catch bad variants ---
expect_fail() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	local why
	if why=$( ("$@") 2>&1); then
		echo "image: SELF-CHECK FAILED: $what was not caught" >&2
		exit 1
	fi
	echo "image: caught: $what -- $(tail -n 1 <<<"$why")"
}
root=localhost/rampart:ci-root-$$
images+=("$root")
sed '/^USER /d' deploy/image/Containerfile >"$work/Containerfile.root"
build "$root" "$work/Containerfile.root"
expect_fail "an image without USER (runs as root)" check_image_user "$root"
rctr=$(podman run -d "${LIMITS[@]}" "${HARDENED[@]}" --tmpfs /data \
	-e RAMPART_ENV=test -e RAMPART_ADDR="127.0.0.1:$port" -e RAMPART_ADMIN_ADDR="127.0.0.1:$admin" \
	-e RAMPART_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" "$root" 2>/dev/null)
containers+=("$rctr")
wait_ready "$port" "$rctr"
expect_fail "a process running as root" check_process "$rctr"
podman rm -v -f -t 2 "$rctr" >/dev/null 2>&1

extra=localhost/rampart:ci-extra-$$
images+=("$extra")
printf 'COPY passwd /bin/sh\n' | cat deploy/image/Containerfile - >"$work/Containerfile.extra"
build "$extra" "$work/Containerfile.extra"
expect_fail "an unexpected file (/bin/sh)" check_files "$extra"

# The good image run without the hardening flags: capabilities and a
# writable root must be caught.
lax=$(podman run -d "${LIMITS[@]}" -v "$vol:/data" -v "$secrets:/run/secrets:ro" \
	-e RAMPART_ADDR="127.0.0.1:$port" -e RAMPART_ADMIN_ADDR="127.0.0.1:$admin" \
	-e RAMPART_MASTER_KEY_FILE=/run/secrets/master_key -e RAMPART_DATABASE_URL=sqlite:/data/rampart.db \
	-e RAMPART_SIGNUP=open \
	"$tag" 2>/dev/null)
containers+=("$lax")
wait_ready "$port" "$lax"
expect_fail "a container keeping its capabilities" check_process "$lax"
expect_fail "a writable root filesystem" check_writes "$lax"
podman rm -v -f -t 2 "$lax" >/dev/null 2>&1

# --- deploy/k8s/deployment.yaml run by podman kube play ---
# What it proves: the Deployment's pod spec (non-root, read-only root, no
# capabilities, no-new-privileges, seccomp, the memory limit, probes' paths,
# secrets read from files) starts the real image against PostgreSQL and
# Redis and serves /readyz. What the sandbox forces us to change in a copy:
# host networking (no pod network here, so the listen port is a free
# loopback port and containerPort is dropped), one replica (two would
# share the host's port), and the Secret volume becomes a hostPath of
# files: podman 4.3 writes a kube Secret's data still base64-encoded and
# ignores defaultMode. NetworkPolicies are not enforced by podman; the
# policy test in deploy/k8s/policy checks them.
kube_play() {
	local kport kadmin db kdir play ctr
	kport=$(free_port)
	kadmin=$(free_port)
	db=rampart_kubeplay_$$
	kube_db=$db
	kdir=$work/kube
	mkdir -p "$kdir/secrets"
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" >/dev/null
	printf 'postgres://postgres@127.0.0.1:5432/%s?sslmode=disable' "$db" >"$kdir/secrets/database_url"
	printf 'redis://127.0.0.1:6379/0' >"$kdir/secrets/redis_url"
	head -c 32 /dev/urandom | base64 >"$kdir/secrets/master_key"
	chown -R 0:65532 "$kdir/secrets"
	chmod 0440 "$kdir/secrets"/*
	chmod 0550 "$kdir/secrets"
	printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n' >"$kdir/containers.conf"
	play=$kdir/deployment.yaml
	kube_play_file=$play
	python3 - deploy/k8s/deployment.yaml "$play" "$kport" "$kadmin" "$kdir/secrets" "$$" <<'PY'
import re, sys
src, dst, port, admin, secrets, pid = sys.argv[1:]
s = open(src).read()
def sub(old, new, s, count=1):
    if old not in s:
        sys.exit(f"kube play copy: {old!r} not in the manifest")
    return s.replace(old, new, count)
s = sub("replicas: 2", "replicas: 1", s)
s = sub('value: ":8080"', f'value: "127.0.0.1:{port}"', s)
s = sub('value: "127.0.0.1:9090"', f'value: "127.0.0.1:{admin}"', s)
s = sub("port: http\n", f"port: {port}\n", s, 3)
s, n = re.subn(r"          ports:\n            - name: http\n              containerPort: 8080\n              protocol: TCP\n", "", s)
s = sub("            - name: RAMPART_ENV\n", "            - name: RAMPART_AUTO_MIGRATE\n              value: \"true\"\n"
        f"            - name: RAMPART_REDIS_PREFIX\n              value: \"rampart-kubeplay-{pid}:\"\n"
        "            - name: RAMPART_ENV\n", s)
s, n2 = re.subn(r"          secret:\n            secretName: rampart-secrets\n(            .*\n)*",
                f"          hostPath:\n            path: {secrets}\n            type: Directory\n", s)
if n != 1 or n2 != 1:
    sys.exit("kube play copy: the ports or secret volume block changed shape")
open(dst, "w").write(s)
PY
	podman tag "$tag" registry.example.com/rampart:v1.0.0
	images+=(registry.example.com/rampart:v1.0.0)
	CONTAINERS_CONF=$kdir/containers.conf command podman kube play --network host "$play" >"$kdir/play.log" 2>&1 ||
		fail "podman kube play: $(grep -v systemd "$kdir/play.log" | tail -3)"
	ctr=rampart-pod-0-rampart
	for _ in $(seq 1 50); do
		curl -fsS --max-time 2 "http://127.0.0.1:$kport/readyz" >/dev/null 2>&1 && break
		sleep 0.2
	done
	curl -fsS --max-time 2 "http://127.0.0.1:$kport/readyz" >/dev/null || fail "kube play: /readyz: $(podman logs "$ctr" 2>&1 | tail -3)"
	check_process "$ctr"
	check_writes "$ctr"
	[ "$(podman inspect -f '{{.HostConfig.Memory}}' "$ctr")" = $((256 << 20)) ] || fail "kube play: the 256Mi memory limit is not applied"
	# kube down leaves the image's anonymous /data volume behind.
	local vols
	vols=$(podman inspect -f '{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}' "$ctr")
	command podman kube down "$play" >/dev/null 2>&1 || true
	[ -z "$vols" ] || podman volume rm -f "$vols" >/dev/null 2>&1 || true
	psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" >/dev/null
	echo "image: kube play of deploy/k8s/deployment.yaml: /readyz 200 on PostgreSQL + Redis, uid 65532, no capabilities, read-only root"
}
kube_play
echo "image: OK"
