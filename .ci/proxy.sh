#!/usr/bin/env bash
# The reverse-proxy configurations in deploy/nginx and deploy/caddy, run
# live on loopback in front of a real Rampart with a certificate from a
# throw-away CA made here:
#   - testssl finds no protocol below TLS 1.2, no weak cipher and no finding
#     rated MEDIUM or worse (certificate-trust findings of the test CA aside);
#   - Rampart logs the true client address (the client connects from
#     127.0.0.2, the proxy from 127.0.0.1 = RAMPART_TRUSTED_PROXIES), and a
#     spoofed X-Forwarded-For / X-Forwarded-Proto from the client changes
#     nothing; Rampart's HSTS arrives through the proxy;
#   - bodies over 100 KiB are refused by the proxy; nginx's per-address
#     rate limit answers 429 (stock Caddy 2.6 has none, see its file).
# Then bad variants (TLS 1.0 with CBC; an appended X-Forwarded-For) must be
# caught by the same checks.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}
ci_name=proxy
. .ci/lib.sh

need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v caddy >/dev/null || need+=(caddy)
command -v testssl >/dev/null || need+=(testssl.sh)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -s "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# --- a throw-away CA and a server certificate for 127.0.0.1 ---
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -days 2 \
	-subj "/CN=rampart CI throw-away CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=localhost" \
	-keyout "$tls/privkey.pem" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' >"$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 2 -sha256 \
	-extfile "$tls/ext" -out "$tls/server.pem" 2>/dev/null
cat "$tls/server.pem" "$tls/ca.pem" >"$tls/fullchain.pem"

# --- Rampart, trusting only the proxy's address ---
go build -o "$work/rampart" ./cmd/rampart
mkdir -p "$work/data"
rport=$(free_port)
RAMPART_ENV=test RAMPART_ADDR="127.0.0.1:$rport" RAMPART_ADMIN_ADDR="127.0.0.1:$(free_port)" \
	RAMPART_DATA_DIR="$work/data" RAMPART_DATABASE_URL="sqlite:$work/data/rampart.db" \
	RAMPART_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" RAMPART_TRUSTED_PROXIES=127.0.0.1/32 \
	"$work/rampart" serve >"$work/rampart.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$rport/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$rport/healthz" >/dev/null || fail "rampart did not start: $(tail -5 "$work/rampart.log")"

wait_tls() { # PORT
	for _ in $(seq 1 100); do
		curl -fsS --cacert "$tls/ca.pem" "https://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "nothing answers TLS on 127.0.0.1:$1"
}

# The client connects from 127.0.0.2 and lies in both forwarding headers.
# Rampart must log 127.0.0.2, and send HSTS because the proxy said https.
check_forwarding() { # NAME PORT
	local hdrs rid line hsts
	hdrs=$(curl -sS --interface 127.0.0.2 --cacert "$tls/ca.pem" -D - -o /dev/null \
		-H 'X-Forwarded-For: 203.0.113.9' -H 'X-Forwarded-Proto: http' -H 'Forwarded: for=203.0.113.9' \
		"https://127.0.0.1:$2/healthz")
	grep -q '^HTTP/[0-9.]* 200' <<<"$hdrs" || fail "$1: /healthz through the proxy: $(head -1 <<<"$hdrs")"
	rid=$(sed -n 's/^[Xx]-[Rr]equest-[Ii]d: *\([A-Za-z0-9]*\).*/\1/p' <<<"$hdrs")
	[ -n "$rid" ] || fail "$1: no X-Request-Id from Rampart"
	sleep 0.2
	line=$(grep "\"request_id\":\"$rid\"" "$work/rampart.log" || true)
	grep -q '"client_ip":"127.0.0.2"' <<<"$line" || fail "$1: Rampart logged '$line', want client_ip 127.0.0.2"
	hsts=$(grep -i '^strict-transport-security:' <<<"$hdrs" | tr -d '\r')
	[ "$(wc -l <<<"$hsts")" = 1 ] && grep -q 'max-age=31536000; includeSubDomains$' <<<"$hsts" ||
		fail "$1: want exactly Rampart's HSTS (max-age=31536000), got '$hsts'"
	echo "proxy: $1: Rampart logged client_ip 127.0.0.2 despite a spoofed X-Forwarded-For; Rampart's HSTS arrived"
}

# A body over Rampart's 100 KiB stops at the proxy, with HSTS.
check_body_limit() { # NAME PORT
	local out
	# The proxy may answer and reset before the upload ends (Caddy does),
	# so curl's exit status is not the verdict; the status line is.
	head -c 150000 /dev/zero | tr '\0' 'a' | curl -sS --http1.1 --cacert "$tls/ca.pem" -D "$work/413.hdr" -o /dev/null \
		-H 'Content-Type: application/json' --data-binary @- "https://127.0.0.1:$2/v1/signup" 2>/dev/null || true
	out=$(cat "$work/413.hdr" 2>/dev/null || true)
	rm -f "$work/413.hdr"
	grep -q '^HTTP/[0-9.]* 413' <<<"$out" || fail "$1: 150 kB body: $(head -1 <<<"$out")"
	grep -qi '^strict-transport-security: max-age=63072000' <<<"$out" || fail "$1: the proxy's 413 has no HSTS"
	echo "proxy: $1: 150 kB body refused with 413 (and HSTS) by the proxy"
}

# testssl on the listener; the gate is in Python over its JSON.
testssl_gate() { # NAME PORT [testssl options]
	local name=$1 port=$2 json=$work/testssl-$1-$RANDOM.json opts
	shift 2
	opts=("$@")
	[ ${#opts[@]} -gt 0 ] || opts=(-p -s -S -U -h)
	timeout 300 testssl --quiet --color 0 --warnings batch --ip one --fast --jsonfile "$json" "${opts[@]}" \
		"127.0.0.1:$port" >"$json.log" 2>&1 || true
	[ -s "$json" ] || fail "$name: testssl wrote no JSON: $(tail -5 "$json.log")"
	python3 - "$json" "$name" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))
# The throw-away CA is not trusted by anyone and its certificate has no
# OCSP/CRL URL or CT entries: those findings are about the test CA, not
# about the proxy's configuration.
ignored_prefix = ("cert_", "DNS_CAArecord", "OCSP_stapling", "intermediate_cert")
bad = []
for f in findings:
    fid, sev, val = f.get("id", ""), f.get("severity", ""), f.get("finding", "")
    if fid in ("SSLv2", "SSLv3", "TLS1", "TLS1_1") and "not offered" not in val:
        bad.append(f"{fid}: {val}")
    elif fid.startswith("cipherlist_") and fid not in ("cipherlist_STRONG", "cipherlist_AVERAGE") and "not offered" not in val.lower() and "not offered" not in val:
        bad.append(f"{fid}: {val}")
    elif fid == "cipherlist_AVERAGE" and "not offered" not in val:
        bad.append(f"{fid} (non-AEAD ciphers): {val}")
    elif sev in ("MEDIUM", "HIGH", "CRITICAL"):
        if fid.startswith(ignored_prefix):
            print(f"  {sys.argv[2]}: ignored (test CA): {fid} [{sev}]: {val}")
        else:
            bad.append(f"{fid} [{sev}]: {val}")
for b in bad:
    print(f"  {sys.argv[2]}: {b}")
print(f"proxy: {sys.argv[2]}: testssl: {len(findings)} results, {len(bad)} blocking")
sys.exit(1 if bad else 0)
PY
}

# --- nginx ---
ngx=$work/nginx
mkdir -p "$ngx"
nport=$(free_port)
nport80=$(free_port)
nginx_conf() { # SOURCE_CONF
	sed -e "s|listen 443 ssl http2;.*|listen 127.0.0.1:$nport ssl http2;|" \
		-e "s|listen 80 default_server;.*|listen 127.0.0.1:$nport80 default_server;|" \
		-e '/listen \[::\]/d' -e '/server rampart-2:8080/d' \
		-e "s|server rampart-1:8080;.*|server 127.0.0.1:$rport;|" \
		-e "s|/etc/rampart/tls/|$tls/|" "$1" >"$ngx/rampart.conf"
	cat >"$ngx/nginx.conf" <<EOF
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $ngx/body; proxy_temp_path $ngx/proxy;
	fastcgi_temp_path $ngx/fcgi; uwsgi_temp_path $ngx/uwsgi; scgi_temp_path $ngx/scgi;
	include $ngx/rampart.conf;
}
EOF
	nginx -t -q -p "$ngx" -c "$ngx/nginx.conf" || fail "nginx -t"
}
nginx_start() {
	if [ -s "$ngx/nginx.pid" ]; then kill "$(cat "$ngx/nginx.pid")" && sleep 0.5; fi
	nginx -p "$ngx" -c "$ngx/nginx.conf"
	wait_tls "$nport"
}
nginx_conf deploy/nginx/rampart.conf
nginx_start
check_forwarding nginx "$nport"
check_body_limit nginx "$nport"
# Coarse per-address limit: 100 quick requests from one address, some 429
# from nginx itself (HTML, not Rampart's problem+json).
codes=$(curl -s --interface 127.0.0.3 --cacert "$tls/ca.pem" --parallel --parallel-max 20 -o /dev/null \
	-w '%{http_code} %{content_type}\n' "https://127.0.0.1:$nport/healthz?[1-100]" 2>/dev/null)
limited=$(grep -c '^429 text/html' <<<"$codes" || true)
[ "$limited" -gt 0 ] || fail "nginx: 100 requests from one address, none limited: $(sort <<<"$codes" | uniq -c)"
echo "proxy: nginx: 100 quick requests from one address: $limited answered 429 by the proxy"
set +e
curl -sS --max-time 5 "http://127.0.0.1:$nport80/healthz" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 52 ] || fail "nginx: plain HTTP listener answered (curl rc $rc), want an empty reply"
echo "proxy: nginx: plain HTTP closes the connection without an answer"
testssl_gate nginx "$nport"

# --- the checks catch bad nginx variants ---
expect_fail() { # DESCRIPTION COMMAND...
	local what=$1 why
	shift
	if why=$( ("$@") 2>&1); then
		echo "proxy: SELF-CHECK FAILED: $what was not caught" >&2
		exit 1
	fi
	echo "proxy: caught: $what -- $(grep -v '^proxy: caught' <<<"$why" | head -n 1)"
}
sed -e 's|ssl_protocols TLSv1.2 TLSv1.3;|ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;|' \
	-e 's|ssl_ciphers \(.*\);|ssl_ciphers \1:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0;|' deploy/nginx/rampart.conf >"$work/tls10.conf"
nginx_conf "$work/tls10.conf"
nginx_start
expect_fail "nginx offering TLS 1.0 and CBC" testssl_gate nginx-tls10 "$nport" -p -s
# Without its X-Forwarded-For line nginx passes the client's own header on,
# and without its X-Forwarded-Proto line the client's "http" reaches
# Rampart (which then sends no HSTS). (Appending with
# $proxy_add_x_forwarded_for would be safe: Rampart takes the right-most
# address that is not a trusted proxy.)
sed '/proxy_set_header X-Forwarded-For/d' deploy/nginx/rampart.conf >"$work/noxff.conf"
nginx_conf "$work/noxff.conf"
nginx_start
expect_fail "nginx passing on the client's X-Forwarded-For" check_forwarding nginx-noxff "$nport"
sed '/proxy_set_header X-Forwarded-Proto/d' deploy/nginx/rampart.conf >"$work/noxfp.conf"
nginx_conf "$work/noxfp.conf"
nginx_start
expect_fail "nginx passing on the client's X-Forwarded-Proto" check_forwarding nginx-noxfp "$nport"
kill "$(cat "$ngx/nginx.pid")"
rm -f "$ngx/nginx.pid"

# --- Caddy 2.6 ---
cport=$(free_port)
mkdir -p "$work/caddy"
sed -e "s|^api.example.com {|https://127.0.0.1:$cport {|" -e "s|/etc/rampart/tls/|$tls/|g" \
	-e "s|reverse_proxy 10.0.1.11:8080 10.0.1.12:8080 {|reverse_proxy 127.0.0.1:$rport {|" \
	-e "s|^\tadmin off|\tadmin off\n\tdefault_sni localhost\n\tstorage file_system $work/caddy|" \
	deploy/caddy/Caddyfile >"$work/caddy/Caddyfile"
HOME=$work/caddy XDG_DATA_HOME=$work/caddy XDG_CONFIG_HOME=$work/caddy \
	caddy run --config "$work/caddy/Caddyfile" --adapter caddyfile >"$work/caddy/log" 2>&1 &
pids+=($!)
wait_tls "$cport"
check_forwarding caddy "$cport"
check_body_limit caddy "$cport"
testssl_gate caddy "$cport"
echo "proxy: OK"
