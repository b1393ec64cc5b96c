#!/usr/bin/env bash
# Builds the upstream Go programs the tests run against (control plane and CSI
# peers) from the wrapper modules beside this script, into .cache/bin/.
# Rebuilds only when a wrapper's go.mod/go.sum changed: .cache/bin/<mod>.stamp
# holds the sha256 of the module files the binaries were built from.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${TOOLS_BIN:-$top/.cache/bin}
mkdir -p "$bin"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export PATH=/usr/local/go/bin:$PATH

k8s_ver() { sed -n 's#^\tk8s.io/kubernetes \(v[^ ]*\).*#\1#p' "$here/k8s/go.mod" | head -1; }

build_mod() { # name, then go build arguments
	local mod=$1; shift
	local stamp="$bin/$mod.stamp" want
	want=$(shopt -s nullglob; cat "$here/$mod/go.mod" "$here/$mod/go.sum" "$here/$mod"/*.go.in | sha256sum | cut -d' ' -f1)
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
		echo "tools: $mod up to date ($(sed -n 1p "$here/$mod/go.mod"))"
		return 0
	fi
	echo "tools: building $mod (this takes minutes on a cold cache)"
	local t0=$SECONDS
	(cd "$here/$mod" && "$@")
	echo "$want" > "$stamp"
	echo "tools: built $mod in $((SECONDS - t0))s"
}

kv=$(k8s_ver)
ldf="-s -w -X k8s.io/component-base/version.gitVersion=$kv -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36 -X k8s.io/client-go/pkg/version.gitVersion=$kv -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=36"

k8s_build() {
	go build -trimpath -ldflags "$ldf" -o "$bin/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kubectl
	go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3
}
csi_build() {
	# Our test driver's source is kept as testdriver.go.in and copied into the
	# (ignored) package directory the wrapper module builds it from.
	mkdir -p testdriver
	cp testdriver.go.in testdriver/main.go
	go build -trimpath -ldflags "-s -w" -o "$bin/" \
		github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter \
		github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner
	go build -trimpath -ldflags "-s -w" -o "$bin/csi-testdriver" ./testdriver
}

# helm (v4), for the chart tests; its version string from the pin in go.mod.
helm_ver() { sed -n 's#^\thelm.sh/helm/v4 \(v[^ ]*\).*#\1#p' "$here/helm/go.mod" | head -1; }
helm_build() {
	go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$(helm_ver)" \
		-o "$bin/helm" helm.sh/helm/v4/cmd/helm
}

# Upstream's own control plane programs, for the side-by-side benchmark
# (tests/bench/compare): snapshot-controller and the conversion webhook at
# v8.6.0; the validation webhook was removed after v8.1.x and v8.1.1 is not on
# the module proxy, so it is built from v8.1.0 (a second wrapper module: one
# module cannot require two versions of external-snapshotter).  Installed under
# upstream-* names so they never shadow our binaries.
upstream_build() {
	local m=github.com/kubernetes-csi/external-snapshotter/v8/cmd
	go build -trimpath -ldflags "-s -w" -o "$bin/upstream-snapshot-controller" $m/snapshot-controller
	go build -trimpath -ldflags "-s -w" -o "$bin/upstream-snapshot-conversion-webhook" $m/snapshot-conversion-webhook
}
upstream_vwh_build() {
	go build -trimpath -ldflags "-s -w" -o "$bin/upstream-snapshot-validation-webhook" \
		github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-validation-webhook
}

case "${1:-all}" in
k8s) build_mod k8s k8s_build ;;
csi) build_mod csi csi_build ;;
helm) build_mod helm helm_build ;;
all) build_mod k8s k8s_build; build_mod csi csi_build; build_mod helm helm_build ;;
upstream) build_mod upstream upstream_build; build_mod upstream-vwh upstream_vwh_build ;;
*) echo "usage: $0 [k8s|csi|helm|all|upstream]" >&2; exit 2 ;;
esac
