#!/usr/bin/env bash
# deploy/k8s checked offline, twice:
#   1. deploy/k8s/policy (go test): the project's own controls, including an
#      exact network allowlist, plus mutation tests showing that removing a
#      control (a writable root, an unlisted egress port, no default deny,
#      ...) is caught.
#   2. trivy config (v0.74.0, Aqua's maintained misconfiguration scanner,
#      its checks embedded in the binary, so no network): the generic
#      Kubernetes and Dockerfile rules (KSV/DS) at MEDIUM and above, on the
#      manifests and on both image files. kubeconform needs schemas from
#      GitHub and kube-linter is not served by the module proxy, so neither
#      can run here.
# The podman kube play run of the Deployment is in .ci/image.sh, which has
# the image.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3}

start=$SECONDS
(cd deploy/k8s/policy && go vet ./... && go test -count=1 ./...)
echo "k8s: policy test ok ($((SECONDS - start)) s)"

# trivy v0.74.0 needs encoding/json/v2 as it was in Go 1.26 (GOEXPERIMENT);
# Go 1.27's differs, so it is built by the machine's Go 1.26 and cached,
# because the build takes minutes.
start=$SECONDS
cache=${RAMPART_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart-ci}
trivy=$cache/trivy-v0.74.0/trivy
if [ ! -x "$trivy" ]; then
	GOTOOLCHAIN=local GOEXPERIMENT=jsonv2 GOBIN="$cache/trivy-v0.74.0" \
		go install github.com/aquasecurity/trivy/cmd/trivy@v0.74.0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scan"
cp deploy/k8s/*.yaml "$work/scan/"
# trivy knows image files by the name Dockerfile.
cp deploy/image/Containerfile "$work/scan/Dockerfile"
cp Dockerfile "$work/scan/Dockerfile.multistage"
"$trivy" config --quiet --skip-check-update --cache-dir "$work/cache" --exit-code 1 \
	--severity MEDIUM,HIGH,CRITICAL --ignorefile .ci/trivyignore "$work/scan"
echo "k8s: trivy config ok ($((SECONDS - start)) s)"

# trivy must catch a removed control: the Deployment with a writable root
# filesystem and privilege escalation allowed.
mkdir -p "$work/bad"
sed -e 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' \
	-e 's/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/' deploy/k8s/deployment.yaml >"$work/bad/deployment.yaml"
if "$trivy" config --quiet --skip-check-update --cache-dir "$work/cache" --exit-code 1 \
	--severity MEDIUM,HIGH,CRITICAL --ignorefile .ci/trivyignore "$work/bad" >"$work/bad.txt" 2>&1; then
	echo "k8s: SELF-CHECK FAILED: trivy passed a writable root and privilege escalation" >&2
	exit 1
fi
echo "k8s: caught by trivy: $(grep -o 'KSV-[0-9]* ([A-Z]*)' "$work/bad.txt" | sort -u | tr '\n' ' ')"
