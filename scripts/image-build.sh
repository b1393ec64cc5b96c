#!/usr/bin/env bash
# image-build.sh [OUT] -- `make image`: the two OCI images, with no registry
# pull, from bin/ and Debian packages.
#
# For each of snapshot-controller and snapshot-webhook:
#   1. scripts/image-rootfs.sh assembles the runtime root filesystem
#      (libraries of the binary's ldd closure, CA bundle, passwd/group);
#   2. two layers: everything but the binary, then the binary (a rebuild of
#      the program alone changes only the small second layer);
#      tar archives sorted by name, mtime SOURCE_DATE_EPOCH, numeric owners;
#   3. umoci builds an OCI image layout from them, with the runtime config
#      (user 65532:65532, entrypoint, the controller's state volume) and the
#      OCI annotations as labels and manifest annotations;
#   4. the layout is packed into OUT/NAME-VERSION.oci.tar (load it with
#      `podman load -i`, or `skopeo copy oci-archive:FILE docker://REG/NAME:TAG`).
# Prints the compressed and uncompressed size of each image.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=$(mkdir -p "${1:-$top/build/images}" && cd "${1:-$top/build/images}" && pwd)
version=$(cat VERSION)
for t in umoci dpkg-deb apt-get strip; do
	command -v "$t" >/dev/null || { echo "image-build: $t is missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
export DEB_CACHE=${DEB_CACHE:-$out/debs}
mkdir -p "$out"

# tar_layer DIR OUT: a reproducible layer archive of DIR's contents.
tar_layer() {
	tar -C "$1" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner --format=pax \
		--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -cf "$2" .
}

build_one() { # NAME DESCRIPTION
	local name=$1 desc=$2 work lay ref
	work=$out/$name.work
	rm -rf "$work"
	mkdir -p "$work"
	BUNDLED=${BUNDLED-$(make -s --no-print-directory print-bundled)} \
		scripts/image-rootfs.sh "${BIN:-bin}/$name" "$name" "$work/rootfs"
	chown -R 0:0 "$work/rootfs"
	chown 65532:65532 "$work/rootfs/var/lib/snapshot-controller" "$work/rootfs/home/nonroot"
	# Layer 2 is the binary alone; layer 1 the rest.
	mkdir -p "$work/bin/usr/bin"
	mv "$work/rootfs/usr/bin/$name" "$work/bin/usr/bin/$name"
	tar_layer "$work/rootfs" "$work/base.tar"
	tar_layer "$work/bin" "$work/bin.tar"

	lay="$work/oci"
	ref="$lay:$version"
	umoci init --layout "$lay"
	umoci new --image "$ref"
	umoci raw add-layer --image "$ref" --history.created="$created" \
		--history.created_by="scripts/image-rootfs.sh (Debian 12 libraries, CA bundle, passwd)" "$work/base.tar"
	umoci raw add-layer --image "$ref" --history.created="$created" \
		--history.created_by="/usr/bin/$name $version" "$work/bin.tar"
	local labels=(
		"org.opencontainers.image.title=$name"
		"org.opencontainers.image.description=$desc"
		"org.opencontainers.image.version=$version"
		"org.opencontainers.image.revision=$revision"
		"org.opencontainers.image.created=$created"
		"org.opencontainers.image.base.name=scratch"
		"org.opencontainers.image.ref.name=$version"
	)
	local args=(--created="$created" --author="snapshot-controller in C" --architecture=amd64 --os=linux
		--no-history --config.user=65532:65532 --config.workingdir=/ --config.entrypoint="/usr/bin/$name"
		--config.env=PATH=/usr/bin)
	[ "$name" = snapshot-controller ] && args+=(--config.volume=/var/lib/snapshot-controller)
	[ "$name" = snapshot-webhook ] && args+=(--config.exposedports=8443/tcp)
	local l
	for l in "${labels[@]}"; do args+=(--config.label="$l" --manifest.annotation="$l"); done
	umoci config --image "$ref" "${args[@]}"
	umoci gc --layout "$lay"

	rm -f "$out/$name-$version.oci.tar"
	tar -C "$lay" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		-cf "$out/$name-$version.oci.tar" .
	local comp uncomp
	comp=$(python3 - "$lay" "$version" <<'PY'
import json, sys
lay, ver = sys.argv[1], sys.argv[2]
idx = json.load(open(lay + "/index.json"))
m = [d for d in idx["manifests"] if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ver][0]
man = json.load(open(lay + "/blobs/sha256/" + m["digest"].split(":")[1]))
print(sum(l["size"] for l in man["layers"]) + man["config"]["size"] + m["size"])
PY
)
	uncomp=$(($(stat -c %s "$work/base.tar") + $(stat -c %s "$work/bin.tar")))
	rm -rf "$work/rootfs" "$work/bin" "$work/base.tar" "$work/bin.tar"
	rm -rf "$out/$name.oci"
	mv "$lay" "$out/$name.oci"
	rm -rf "$work"
	printf 'image: %s:%s compressed %d bytes (%.1f MiB), uncompressed %d bytes (%.1f MiB) -> %s\n' \
		"$name" "$version" "$comp" "$(awk -v b="$comp" 'BEGIN {print b / 1048576}')" "$uncomp" "$(awk -v b="$uncomp" 'BEGIN {print b / 1048576}')" \
		"$out/$name-$version.oci.tar"
}

build_one snapshot-controller "Volume snapshot controller (a C drop-in for kubernetes-csi/external-snapshotter's)"
build_one snapshot-webhook "Admission and CRD conversion webhook for the volume snapshot APIs"
