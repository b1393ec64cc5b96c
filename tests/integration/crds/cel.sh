#!/usr/bin/env bash
# tests/integration/crds/cel.sh -- the crds/ CRDs against a REAL kube-apiserver.
#
# For every CEL rule (x-kubernetes-validations) in crds/: one object accepted and
# one rejected on create (creation rules), or one update rejected and one allowed
# (transition rules), asserting the API server's field path and message.  Also:
# served/storage versions, deprecation, short names, printer columns, schema
# facts (enums, required fields, int-or-string, minimum), the v1beta1 group
# versions' smaller rule sets, and objects shaped like upstream's documented
# examples.
#
# Needs KUBECONFIG and TOOLS_BIN (eval "$(tests/cluster/up)").  Applies crds/
# itself (idempotent; CRDS_DIR overrides), works in its own namespace, names cluster-scoped objects
# uniquely, labels them, and deletes everything it made on exit.
set -uo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
. "$top/tests/lib/it.sh"
it_setup crds.cel
NS=cel-$RUN
P=cel-$RUN # prefix of cluster-scoped names
LABEL="sc-test=$P"
CHECKS=$(mktemp)
t_start=$SECONDS

cleanup() {
	for r in volumesnapshotcontents volumesnapshotclasses volumegroupsnapshotcontents volumegroupsnapshotclasses; do
		"$K" delete "$r" -l "$LABEL" --wait=false --ignore-not-found >/dev/null 2>&1
	done
	"$K" delete namespace "$NS" --wait=false --ignore-not-found >/dev/null 2>&1
	rm -f "$CHECKS"
}
trap cleanup EXIT

# CRDS_DIR (default crds/) lets the same checks run against another CRD set, e.g.
# upstream's, to show the two behave the same.
"$K" apply -k "${CRDS_DIR:-$top/crds}" >/dev/null || { echo "cannot apply ${CRDS_DIR:-crds/}" >&2; exit 1; }
"$K" wait --for=condition=Established --timeout=60s \
	crd/volumesnapshots.snapshot.storage.k8s.io crd/volumesnapshotcontents.snapshot.storage.k8s.io \
	crd/volumesnapshotclasses.snapshot.storage.k8s.io crd/volumegroupsnapshots.groupsnapshot.storage.k8s.io \
	crd/volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io \
	crd/volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io >/dev/null || exit 1
"$K" create namespace "$NS" >/dev/null || exit 1
# A freshly applied CRD can take a moment before its REST endpoint serves.
t_wait 30 "$K" get -n "$NS" volumesnapshots.v1.snapshot.storage.k8s.io,volumegroupsnapshots.v1beta2.groupsnapshot.storage.k8s.io >/dev/null || exit 1

# ---- helpers ------------------------------------------------------------------
count() { echo x >>"$CHECKS"; }

# ok CMD...: CMD must succeed.
ok() {
	local out
	count
	out=$("$@" 2>&1) || { t_fail "expected success of: $*"$'\n'"      got: $out"; return 1; }
}
# rej FIELD MESSAGE CMD...: CMD must fail, and the API server's answer must name
# FIELD ("<field>: Invalid value") and carry MESSAGE.
rej() {
	local field=$1 msg=$2 out
	shift 2
	count
	if out=$("$@" 2>&1); then
		t_fail "expected rejection ($msg) of: $*"
		return 1
	fi
	t_contains "$out" "$field: " "rejection of $*" || return 1
	t_contains "$out" "$msg" "rejection of $*"
}
# rej_any MESSAGE CMD...: like rej, without a field path (schema errors).
rej_any() {
	local msg=$1 out
	shift
	count
	if out=$("$@" 2>&1); then
		t_fail "expected rejection ($msg) of: $*"
		return 1
	fi
	t_contains "$out" "$msg" "rejection of $*"
}
create() { "$K" create -f - <<<"$1"; }
meta() { # name [namespaced]
	if [ "${2:-}" = ns ]; then
		printf '"metadata":{"name":"%s","namespace":"%s"}' "$1" "$NS"
	else
		printf '"metadata":{"name":"%s","labels":{"sc-test":"%s"}}' "$1" "$P"
	fi
}
# Object builders.  Group kinds take the API version first.
vs() { printf '{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot",%s,"spec":%s}' "$(meta "$1" ns)" "$2"; }
vsc() { printf '{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotContent",%s,"spec":%s}' "$(meta "$P-$1")" "$2"; }
vsclass() { printf '{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshotClass",%s%s}' "$(meta "$P-$1")" "$2"; }
vgs() { printf '{"apiVersion":"groupsnapshot.storage.k8s.io/%s","kind":"VolumeGroupSnapshot",%s,"spec":%s}' "$1" "$(meta "$2" ns)" "$3"; }
vgsc() { printf '{"apiVersion":"groupsnapshot.storage.k8s.io/%s","kind":"VolumeGroupSnapshotContent",%s,"spec":%s}' "$1" "$(meta "$P-$2")" "$3"; }
vgsclass() { printf '{"apiVersion":"groupsnapshot.storage.k8s.io/%s","kind":"VolumeGroupSnapshotClass",%s%s}' "$1" "$(meta "$P-$2")" "$3"; }
# Patch helpers: pin the resource version explicitly (resource.version.group).
jp() { # resource name json-patch [extra kubectl args]
	local r=$1 n=$2 p=$3
	shift 3
	"$K" -n "$NS" patch "$r" "$n" --type=json -p "$p" "$@"
}
mp() { # resource name merge-patch [extra kubectl args]
	local r=$1 n=$2 p=$3
	shift 3
	"$K" -n "$NS" patch "$r" "$n" --type=merge -p "$p" "$@"
}
VS=volumesnapshots.v1.snapshot.storage.k8s.io
VSC=volumesnapshotcontents.v1.snapshot.storage.k8s.io
VSCLASS=volumesnapshotclasses.v1.snapshot.storage.k8s.io
vgs_r() { echo "volumegroupsnapshots.$1.groupsnapshot.storage.k8s.io"; }
vgsc_r() { echo "volumegroupsnapshotcontents.$1.groupsnapshot.storage.k8s.io"; }
vgsclass_r() { echo "volumegroupsnapshotclasses.$1.groupsnapshot.storage.k8s.io"; }
REF='{"name":"snap","namespace":"ns1"}'
GREF='{"name":"gsnap","namespace":"ns1"}'

# ---- versions, names, columns ----------------------------------------------------
crd_versions() { # crd -> "v1:served/storage ..." in spec order
	"$K" get crd "$1" -o jsonpath='{range .spec.versions[*]}{.name}:{.served}/{.storage}{" "}{end}'
}
test_versions() {
	t_eq "$(crd_versions volumesnapshots.snapshot.storage.k8s.io)" "v1:true/true v1beta1:false/false " VS || return 1
	t_eq "$(crd_versions volumesnapshotcontents.snapshot.storage.k8s.io)" "v1:true/true v1beta1:false/false " VSC || return 1
	t_eq "$(crd_versions volumesnapshotclasses.snapshot.storage.k8s.io)" "v1:true/true v1beta1:false/false " VSClass || return 1
	local g
	for g in volumegroupsnapshots volumegroupsnapshotcontents volumegroupsnapshotclasses; do
		t_eq "$(crd_versions $g.groupsnapshot.storage.k8s.io)" \
			"v1:true/false v1beta1:true/false v1beta2:true/true " "$g" || return 1
	done
	# No conversion stanza in crds/: strategy None, so no webhook is needed.
	local c
	for c in $("$K" get crd -o name | grep 'snapshot.storage.k8s.io$'); do
		t_eq "$("$K" get "$c" -o jsonpath='{.spec.conversion.strategy}')" None "$c conversion" || return 1
	done
	# Status subresource on VS, VSC, VGS, VGSC; none on the classes.
	t_eq "$("$K" get crd volumesnapshots.snapshot.storage.k8s.io -o jsonpath='{.spec.versions[0].subresources.status}')" "{}" || return 1
	t_eq "$("$K" get crd volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io -o jsonpath='{.spec.versions[2].subresources.status}')" "{}" || return 1
	t_eq "$("$K" get crd volumesnapshotclasses.snapshot.storage.k8s.io -o jsonpath='{.spec.versions[0].subresources.status}')" "" "VSClass status subresource" || return 1
	# Scope.
	t_eq "$("$K" get crd -o jsonpath='{range .items[?(@.spec.group=="snapshot.storage.k8s.io")]}{.spec.names.kind}={.spec.scope} {end}')" \
		"VolumeSnapshotClass=Cluster VolumeSnapshotContent=Cluster VolumeSnapshot=Namespaced " scope
}
test_storage_and_readback() {
	# An object written at v1 is stored at v1beta2 (the storage version) and reads
	# back identically at every served group version.
	ok create "$(vgsclass v1 rb ',"driver":"d.example.com","deletionPolicy":"Retain","parameters":{"a":"b"}')" || return 1
	local v out
	for v in v1 v1beta1 v1beta2; do
		out=$("$K" get "$(vgsclass_r $v)" "$P-rb" -o jsonpath='{.apiVersion} {.driver} {.deletionPolicy} {.parameters.a}' 2>/dev/null) || return 1
		t_eq "$out" "groupsnapshot.storage.k8s.io/$v d.example.com Retain b" "read at $v" || return 1
	done
	t_eq "$("$K" get crd volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io -o jsonpath='{.status.storedVersions}')" '["v1beta2"]' storedVersions
}
test_deprecation() {
	local out c
	for c in volumesnapshots volumesnapshotcontents volumesnapshotclasses; do
		out=$("$K" get crd $c.snapshot.storage.k8s.io -o jsonpath='{.spec.versions[1].deprecated} {.spec.versions[1].deprecationWarning}')
		case $c in
		volumesnapshots) k=VolumeSnapshot ;; volumesnapshotcontents) k=VolumeSnapshotContent ;; *) k=VolumeSnapshotClass ;;
		esac
		t_eq "$out" "true snapshot.storage.k8s.io/v1beta1 $k is deprecated; use snapshot.storage.k8s.io/v1 $k" "$c" || return 1
	done
	# The group v1beta1 versions are served and deprecated with the default warning.
	for c in volumegroupsnapshots volumegroupsnapshotcontents volumegroupsnapshotclasses; do
		out=$("$K" get -n "$NS" "$c.v1beta1.groupsnapshot.storage.k8s.io" 2>&1 >/dev/null)
		t_contains "$out" "groupsnapshot.storage.k8s.io/v1beta1" "$c warning" || return 1
		t_contains "$out" "deprecated" "$c warning" || return 1
		out=$("$K" get -n "$NS" "$c.v1beta2.groupsnapshot.storage.k8s.io" 2>&1 >/dev/null)
		case $out in *deprecated*) t_fail "$c v1beta2 warns: $out"; return 1 ;; esac
	done
}
test_short_names() {
	local n
	for n in vs vsc vscs vsclass vsclasses vgs vgsc vgscs vgsclass vgsclasses; do
		ok "$K" get -n "$NS" "$n" || return 1
	done
	t_eq "$("$K" get crd volumesnapshots.snapshot.storage.k8s.io -o jsonpath='{.spec.names.shortNames}')" '["vs"]' || return 1
	t_eq "$("$K" get crd -o jsonpath='{range .items[?(@.spec.group=="snapshot.storage.k8s.io")]}{.spec.names.categories}{end}{range .items[?(@.spec.group=="groupsnapshot.storage.k8s.io")]}{.spec.names.categories}{end}')" "" "categories"
}
cols() { # crd version-index -> "Name:type ..."
	"$K" get crd "$1" -o jsonpath="{range .spec.versions[$2].additionalPrinterColumns[*]}{.name}:{.type}:{.jsonPath} {end}"
}
test_printer_columns() {
	local i
	local vs_c="ReadyToUse:boolean:.status.readyToUse SourcePVC:string:.spec.source.persistentVolumeClaimName SourceSnapshotContent:string:.spec.source.volumeSnapshotContentName RestoreSize:string:.status.restoreSize SnapshotClass:string:.spec.volumeSnapshotClassName SnapshotContent:string:.status.boundVolumeSnapshotContentName CreationTime:date:.status.creationTime Age:date:.metadata.creationTimestamp "
	local vsc_c="ReadyToUse:boolean:.status.readyToUse RestoreSize:integer:.status.restoreSize DeletionPolicy:string:.spec.deletionPolicy Driver:string:.spec.driver VolumeSnapshotClass:string:.spec.volumeSnapshotClassName VolumeSnapshot:string:.spec.volumeSnapshotRef.name VolumeSnapshotNamespace:string:.spec.volumeSnapshotRef.namespace Age:date:.metadata.creationTimestamp "
	local cls_c="Driver:string:.driver DeletionPolicy:string:.deletionPolicy Age:date:.metadata.creationTimestamp "
	local vgs_c="ReadyToUse:boolean:.status.readyToUse VolumeGroupSnapshotClass:string:.spec.volumeGroupSnapshotClassName VolumeGroupSnapshotContent:string:.status.boundVolumeGroupSnapshotContentName CreationTime:date:.status.creationTime Age:date:.metadata.creationTimestamp "
	local vgsc_c="ReadyToUse:boolean:.status.readyToUse DeletionPolicy:string:.spec.deletionPolicy Driver:string:.spec.driver VolumeGroupSnapshotClass:string:.spec.volumeGroupSnapshotClassName VolumeGroupSnapshotNamespace:string:.spec.volumeGroupSnapshotRef.namespace VolumeGroupSnapshot:string:.spec.volumeGroupSnapshotRef.name Age:date:.metadata.creationTimestamp "
	for i in 0 1; do
		t_eq "$(cols volumesnapshots.snapshot.storage.k8s.io $i)" "$vs_c" "VS columns" || return 1
		t_eq "$(cols volumesnapshotcontents.snapshot.storage.k8s.io $i)" "$vsc_c" "VSC columns" || return 1
		t_eq "$(cols volumesnapshotclasses.snapshot.storage.k8s.io $i)" "$cls_c" "VSClass columns" || return 1
	done
	for i in 0 1 2; do
		t_eq "$(cols volumegroupsnapshots.groupsnapshot.storage.k8s.io $i)" "$vgs_c" "VGS columns" || return 1
		t_eq "$(cols volumegroupsnapshotcontents.groupsnapshot.storage.k8s.io $i)" "$vgsc_c" "VGSC columns" || return 1
		t_eq "$(cols volumegroupsnapshotclasses.groupsnapshot.storage.k8s.io $i)" "$cls_c" "VGSClass columns" || return 1
	done
	# The server really prints them.
	ok create "$(vs cols '{"source":{"persistentVolumeClaimName":"pvc-cols"},"volumeSnapshotClassName":"gold"}')" || return 1
	local out
	out=$("$K" get -n "$NS" vs cols --no-headers -o wide) || return 1
	t_contains "$out" "pvc-cols" || return 1
	t_contains "$out" "gold"
}

# ---- VolumeSnapshot (6 rules) --------------------------------------------------------
test_vs_exactly_one_source() {
	local m="exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set"
	ok create "$(vs eo-pvc '{"source":{"persistentVolumeClaimName":"pvc1"}}')" || return 1
	ok create "$(vs eo-vsc '{"source":{"volumeSnapshotContentName":"content1"}}')" || return 1
	# "Set" means present: an empty string counts (group member snapshots use it).
	ok create "$(vs eo-empty '{"source":{"persistentVolumeClaimName":""}}')" || return 1
	rej spec.source "$m" create "$(vs eo-both '{"source":{"persistentVolumeClaimName":"pvc1","volumeSnapshotContentName":"c"}}')" || return 1
	rej spec.source "$m" create "$(vs eo-none '{"source":{}}')" || return 1
	rej spec.source "$m" create "$(vs eo-both2 '{"source":{"persistentVolumeClaimName":"","volumeSnapshotContentName":"c"}}')" || return 1
	# Required fields (schema): spec and spec.source.
	rej_any 'spec.source: Required value' create "$(vs eo-nosrc '{}')" || return 1
	rej_any 'spec: Required value' create '{"apiVersion":"snapshot.storage.k8s.io/v1","kind":"VolumeSnapshot","metadata":{"name":"nospec","namespace":"'"$NS"'"}}'
}
test_vs_class_not_empty() {
	local m="volumeSnapshotClassName must not be the empty string when set"
	rej spec.volumeSnapshotClassName "$m" create "$(vs cl-empty '{"source":{"persistentVolumeClaimName":"p"},"volumeSnapshotClassName":""}')" || return 1
	ok create "$(vs cl-gold '{"source":{"persistentVolumeClaimName":"p"},"volumeSnapshotClassName":"gold"}')" || return 1
	ok create "$(vs cl-none '{"source":{"persistentVolumeClaimName":"p"}}')" || return 1
	# Mutable: the controller sets the default class on an existing snapshot.
	ok mp $VS cl-none '{"spec":{"volumeSnapshotClassName":"silver"}}' || return 1
	ok mp $VS cl-gold '{"spec":{"volumeSnapshotClassName":"bronze"}}' || return 1
	rej spec.volumeSnapshotClassName "$m" mp $VS cl-gold '{"spec":{"volumeSnapshotClassName":""}}'
}
test_vs_pvc_name_required_once_set() {
	ok create "$(vs rq-pvc '{"source":{"persistentVolumeClaimName":"pvc1"}}')" || return 1
	rej spec.source "persistentVolumeClaimName is required once set" \
		jp $VS rq-pvc '[{"op":"remove","path":"/spec/source/persistentVolumeClaimName"},{"op":"add","path":"/spec/source/volumeSnapshotContentName","value":"c1"}]' || return 1
	ok mp $VS rq-pvc '{"metadata":{"annotations":{"a":"b"}}}'
}
test_vs_content_name_required_once_set() {
	ok create "$(vs rq-vsc '{"source":{"volumeSnapshotContentName":"c1"}}')" || return 1
	rej spec.source "volumeSnapshotContentName is required once set" \
		jp $VS rq-vsc '[{"op":"remove","path":"/spec/source/volumeSnapshotContentName"},{"op":"add","path":"/spec/source/persistentVolumeClaimName","value":"p1"}]' || return 1
	ok mp $VS rq-vsc '{"metadata":{"annotations":{"a":"b"}}}'
}
test_vs_pvc_name_immutable() {
	ok create "$(vs im-pvc '{"source":{"persistentVolumeClaimName":"pvc1"}}')" || return 1
	rej spec.source.persistentVolumeClaimName "persistentVolumeClaimName is immutable" \
		mp $VS im-pvc '{"spec":{"source":{"persistentVolumeClaimName":"pvc2"}}}' || return 1
	ok jp $VS im-pvc '[{"op":"replace","path":"/spec/source/persistentVolumeClaimName","value":"pvc1"},{"op":"add","path":"/metadata/labels","value":{"x":"y"}}]'
}
test_vs_content_name_immutable() {
	ok create "$(vs im-vsc '{"source":{"volumeSnapshotContentName":"c1"}}')" || return 1
	rej spec.source.volumeSnapshotContentName "volumeSnapshotContentName is immutable" \
		mp $VS im-vsc '{"spec":{"source":{"volumeSnapshotContentName":"c2"}}}' || return 1
	ok mp $VS im-vsc '{"metadata":{"labels":{"x":"y"}}}'
}
test_vs_status_schema() {
	ok create "$(vs st '{"source":{"persistentVolumeClaimName":"p"}}')" || return 1
	# restoreSize is a quantity string (int-or-string).
	ok mp $VS st '{"status":{"restoreSize":"1Gi","readyToUse":true,"boundVolumeSnapshotContentName":"snapcontent-x","creationTime":"2026-01-02T03:04:05Z","volumeGroupSnapshotName":"g"}}' --subresource=status || return 1
	t_eq "$("$K" get -n "$NS" vs st -o jsonpath='{.status.restoreSize} {.status.volumeGroupSnapshotName}')" "1Gi g" || return 1
	rej status.restoreSize "should match" mp $VS st '{"status":{"restoreSize":"lots"}}' --subresource=status || return 1
	rej_any 'status.creationTime' mp $VS st '{"status":{"creationTime":"yesterday"}}' --subresource=status || return 1
	# The status subresource ignores spec changes; the main resource ignores status.
	ok mp $VS st '{"status":{"readyToUse":false}}' || return 1
	t_eq "$("$K" get -n "$NS" vs st -o jsonpath='{.status.readyToUse}')" "true" "status through main resource"
}

# ---- VolumeSnapshotContent (8 rules) -------------------------------------------------
vsc_spec() { # source-json [extra fields]
	printf '{"deletionPolicy":"Delete","driver":"d.example.com","source":%s,"volumeSnapshotRef":%s%s}' "$1" "$REF" "${2:-}"
}
test_vsc_exactly_one_source() {
	local m="exactly one of volumeHandle and snapshotHandle must be set"
	ok create "$(vsc eo-vh "$(vsc_spec '{"volumeHandle":"vol-1"}')")" || return 1
	ok create "$(vsc eo-sh "$(vsc_spec '{"snapshotHandle":"snap-1"}')")" || return 1
	rej spec.source "$m" create "$(vsc eo-both "$(vsc_spec '{"volumeHandle":"vol-1","snapshotHandle":"snap-1"}')")" || return 1
	rej spec.source "$m" create "$(vsc eo-none "$(vsc_spec '{}')")"
}
test_vsc_ref_name_and_namespace() {
	local m="both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set"
	rej spec.volumeSnapshotRef "$m" create "$(vsc rf-name '{"deletionPolicy":"Delete","driver":"d","source":{"volumeHandle":"v"},"volumeSnapshotRef":{"name":"snap"}}')" || return 1
	rej spec.volumeSnapshotRef "$m" create "$(vsc rf-ns '{"deletionPolicy":"Delete","driver":"d","source":{"volumeHandle":"v"},"volumeSnapshotRef":{"namespace":"ns1"}}')" || return 1
	ok create "$(vsc rf-ok '{"deletionPolicy":"Delete","driver":"d","source":{"volumeHandle":"v"},"volumeSnapshotRef":{"name":"snap","namespace":"ns1","uid":"u-1","kind":"VolumeSnapshot","apiVersion":"snapshot.storage.k8s.io/v1"}}')" || return 1
	# Required spec fields (schema).
	local f
	for f in deletionPolicy driver source volumeSnapshotRef; do
		rej_any "spec.$f: Required value" create "$(vsc "rq-$f" "$(vsc_spec '{"volumeHandle":"v"}' | jq -c "del(.$f)")")" || return 1
	done
}
test_vsc_volume_handle_required_once_set() {
	ok create "$(vsc rq-vh "$(vsc_spec '{"volumeHandle":"vol-1"}')")" || return 1
	rej spec.source "volumeHandle is required once set" \
		jp $VSC "$P-rq-vh" '[{"op":"remove","path":"/spec/source/volumeHandle"},{"op":"add","path":"/spec/source/snapshotHandle","value":"s"}]' || return 1
	ok mp $VSC "$P-rq-vh" '{"metadata":{"annotations":{"a":"b"}}}'
}
test_vsc_snapshot_handle_required_once_set() {
	ok create "$(vsc rq-sh "$(vsc_spec '{"snapshotHandle":"snap-1"}')")" || return 1
	rej spec.source "snapshotHandle is required once set" \
		jp $VSC "$P-rq-sh" '[{"op":"remove","path":"/spec/source/snapshotHandle"},{"op":"add","path":"/spec/source/volumeHandle","value":"v"}]' || return 1
	ok mp $VSC "$P-rq-sh" '{"metadata":{"annotations":{"a":"b"}}}'
}
test_vsc_volume_handle_immutable() {
	ok create "$(vsc im-vh "$(vsc_spec '{"volumeHandle":"vol-1"}')")" || return 1
	rej spec.source.volumeHandle "volumeHandle is immutable" mp $VSC "$P-im-vh" '{"spec":{"source":{"volumeHandle":"vol-2"}}}' || return 1
	ok mp $VSC "$P-im-vh" '{"spec":{"source":{"volumeHandle":"vol-1"}},"metadata":{"labels":{"x":"y"}}}'
}
test_vsc_snapshot_handle_immutable() {
	ok create "$(vsc im-sh "$(vsc_spec '{"snapshotHandle":"snap-1"}')")" || return 1
	rej spec.source.snapshotHandle "snapshotHandle is immutable" mp $VSC "$P-im-sh" '{"spec":{"source":{"snapshotHandle":"snap-2"}}}' || return 1
	ok mp $VSC "$P-im-sh" '{"metadata":{"labels":{"x":"y"}}}'
}
test_vsc_source_volume_mode() {
	ok create "$(vsc vm "$(vsc_spec '{"volumeHandle":"vol-1"}')")" || return 1
	# May be added after creation (absent -> set) ...
	ok mp $VSC "$P-vm" '{"spec":{"sourceVolumeMode":"Filesystem"}}' || return 1
	# ... but then never changed ...
	rej spec.sourceVolumeMode "sourceVolumeMode is immutable" mp $VSC "$P-vm" '{"spec":{"sourceVolumeMode":"Block"}}' || return 1
	# ... nor removed.
	rej spec "sourceVolumeMode is required once set" jp $VSC "$P-vm" '[{"op":"remove","path":"/spec/sourceVolumeMode"}]' || return 1
	ok mp $VSC "$P-vm" '{"spec":{"sourceVolumeMode":"Filesystem"},"metadata":{"annotations":{"a":"b"}}}' || return 1
	ok create "$(vsc vm-block "$(vsc_spec '{"volumeHandle":"vol-1"}' ',"sourceVolumeMode":"Block"')")"
}
test_vsc_mutable_fields() {
	# deletionPolicy, driver, class and the whole ref (uid too) carry no rule.
	ok create "$(vsc mu "$(vsc_spec '{"volumeHandle":"vol-1"}' ',"volumeSnapshotClassName":"gold"')")" || return 1
	ok mp $VSC "$P-mu" '{"spec":{"deletionPolicy":"Retain","driver":"other.example.com","volumeSnapshotClassName":"silver"}}' || return 1
	ok mp $VSC "$P-mu" '{"spec":{"volumeSnapshotRef":{"name":"snap2","namespace":"ns2","uid":"u-1"}}}' || return 1
	ok mp $VSC "$P-mu" '{"spec":{"volumeSnapshotRef":{"name":"snap2","namespace":"ns2","uid":"u-2"}}}' || return 1
	rej_any 'Unsupported value: "Forever"' mp $VSC "$P-mu" '{"spec":{"deletionPolicy":"Forever"}}' || return 1
	# Dropping the namespace from the ref breaks the both-set rule on update too.
	rej spec.volumeSnapshotRef "both spec.volumeSnapshotRef.name and spec.volumeSnapshotRef.namespace must be set" \
		mp $VSC "$P-mu" '{"spec":{"volumeSnapshotRef":{"namespace":null}}}'
}
test_vsc_status_schema() {
	ok create "$(vsc st "$(vsc_spec '{"volumeHandle":"vol-1"}')")" || return 1
	ok mp $VSC "$P-st" '{"status":{"restoreSize":1073741824,"creationTime":1700000000123456789,"readyToUse":true,"snapshotHandle":"s1","volumeGroupSnapshotHandle":"g1","error":{"message":"m","time":"2026-01-02T03:04:05Z"}}}' --subresource=status || return 1
	t_eq "$("$K" get vsc "$P-st" -o jsonpath='{.status.restoreSize} {.status.creationTime}')" "1073741824 1700000000123456789" || return 1
	rej status.restoreSize "should be greater than or equal to 0" mp $VSC "$P-st" '{"status":{"restoreSize":-1}}' --subresource=status
}
test_vsclass_schema() {
	ok create "$(vsclass a ',"driver":"d.example.com","deletionPolicy":"Delete","parameters":{"k":"v"}')" || return 1
	rej_any 'driver: Required value' create "$(vsclass b ',"deletionPolicy":"Delete"')" || return 1
	rej_any 'deletionPolicy: Required value' create "$(vsclass c ',"driver":"d"')" || return 1
	rej_any 'Unsupported value: "Keep"' create "$(vsclass d ',"driver":"d","deletionPolicy":"Keep"')" || return 1
	# No CEL on VolumeSnapshotClass: everything is mutable.
	ok mp $VSCLASS "$P-a" '{"driver":"e.example.com","deletionPolicy":"Retain","parameters":{"k":"w"}}'
}

# ---- VolumeGroupSnapshot (7 rules at v1/v1beta2, 6 at v1beta1) -------------------------
SEL='{"selector":{"matchLabels":{"app":"db"}}}'
test_vgs_exactly_one_source() { # version
	local v=$1 m="exactly one of selector and volumeGroupSnapshotContentName must be set"
	ok create "$(vgs "$v" eo-sel-$v "{\"source\":$SEL}")" || return 1
	ok create "$(vgs "$v" eo-vgsc-$v '{"source":{"volumeGroupSnapshotContentName":"gc"}}')" || return 1
	ok create "$(vgs "$v" eo-expr-$v '{"source":{"selector":{"matchExpressions":[{"key":"app","operator":"In","values":["a","b"]}]}}}')" || return 1
	rej spec.source "$m" create "$(vgs "$v" eo-both-$v '{"source":{"selector":{"matchLabels":{"a":"b"}},"volumeGroupSnapshotContentName":"gc"}}')" || return 1
	rej spec.source "$m" create "$(vgs "$v" eo-none-$v '{"source":{}}')" || return 1
	rej_any 'spec.source: Required value' create "$(vgs "$v" eo-nosrc-$v '{}')"
}
test_vgs_class_not_empty() {
	local v=$1 m="volumeGroupSnapshotClassName must not be the empty string when set"
	rej spec.volumeGroupSnapshotClassName "$m" create "$(vgs "$v" cl-empty-$v "{\"source\":$SEL,\"volumeGroupSnapshotClassName\":\"\"}")" || return 1
	ok create "$(vgs "$v" cl-gold-$v "{\"source\":$SEL,\"volumeGroupSnapshotClassName\":\"gold\"}")" || return 1
	ok mp "$(vgs_r "$v")" cl-gold-$v '{"spec":{"volumeGroupSnapshotClassName":"silver"}}' || return 1
	rej spec.volumeGroupSnapshotClassName "$m" mp "$(vgs_r "$v")" cl-gold-$v '{"spec":{"volumeGroupSnapshotClassName":""}}'
}
test_vgs_selector_required_once_set() {
	local v=$1
	ok create "$(vgs "$v" rq-sel-$v "{\"source\":$SEL}")" || return 1
	rej spec.source "selector is required once set" \
		jp "$(vgs_r "$v")" rq-sel-$v '[{"op":"remove","path":"/spec/source/selector"},{"op":"add","path":"/spec/source/volumeGroupSnapshotContentName","value":"gc"}]' || return 1
	ok mp "$(vgs_r "$v")" rq-sel-$v '{"metadata":{"annotations":{"a":"b"}}}'
}
test_vgs_content_name_required_once_set() {
	local v=$1
	ok create "$(vgs "$v" rq-c-$v '{"source":{"volumeGroupSnapshotContentName":"gc"}}')" || return 1
	rej spec.source "volumeGroupSnapshotContentName is required once set" \
		jp "$(vgs_r "$v")" rq-c-$v "[{\"op\":\"remove\",\"path\":\"/spec/source/volumeGroupSnapshotContentName\"},{\"op\":\"add\",\"path\":\"/spec/source/selector\",\"value\":{\"matchLabels\":{\"a\":\"b\"}}}]" || return 1
	ok mp "$(vgs_r "$v")" rq-c-$v '{"metadata":{"annotations":{"a":"b"}}}'
}
test_vgs_selector_immutable() {
	local v=$1
	ok create "$(vgs "$v" im-sel-$v "{\"source\":$SEL}")" || return 1
	rej spec.source.selector "selector is immutable" mp "$(vgs_r "$v")" im-sel-$v '{"spec":{"source":{"selector":{"matchLabels":{"app":"web"}}}}}' || return 1
	ok mp "$(vgs_r "$v")" im-sel-$v "{\"spec\":{\"source\":$SEL},\"metadata\":{\"labels\":{\"x\":\"y\"}}}"
}
test_vgs_content_name_immutable() {
	local v=$1
	ok create "$(vgs "$v" im-c-$v '{"source":{"volumeGroupSnapshotContentName":"gc"}}')" || return 1
	rej spec.source.volumeGroupSnapshotContentName "volumeGroupSnapshotContentName is immutable" \
		mp "$(vgs_r "$v")" im-c-$v '{"spec":{"source":{"volumeGroupSnapshotContentName":"gc2"}}}' || return 1
	ok mp "$(vgs_r "$v")" im-c-$v '{"metadata":{"labels":{"x":"y"}}}'
}
test_vgs_status_bound_immutable() {
	local v=$1 r
	r=$(vgs_r "$v")
	ok create "$(vgs "$v" bnd-$v "{\"source\":$SEL}")" || return 1
	ok mp "$r" bnd-$v '{"status":{"readyToUse":false}}' --subresource=status || return 1
	ok mp "$r" bnd-$v '{"status":{"boundVolumeGroupSnapshotContentName":"groupsnapcontent-1","creationTime":"2026-01-02T03:04:05Z"}}' --subresource=status || return 1
	ok mp "$r" bnd-$v '{"status":{"readyToUse":true}}' --subresource=status || return 1
	if [ "$v" = v1beta1 ]; then
		# v1beta1 has no rule on status: the change goes through at that version.
		ok mp "$r" bnd-$v '{"status":{"boundVolumeGroupSnapshotContentName":"groupsnapcontent-2"}}' --subresource=status
	else
		rej status.boundVolumeGroupSnapshotContentName "boundVolumeGroupSnapshotContentName is immutable once set" \
			mp "$r" bnd-$v '{"status":{"boundVolumeGroupSnapshotContentName":"groupsnapcontent-2"}}' --subresource=status
	fi
}

# ---- VolumeGroupSnapshotClass (3 rules at v1/v1beta2, none at v1beta1) ------------------
test_vgsclass_immutable() {
	local v=$1 r
	r=$(vgsclass_r "$v")
	ok create "$(vgsclass "$v" im-$v ',"driver":"d.example.com","deletionPolicy":"Delete","parameters":{"k":"v"}')" || return 1
	ok create "$(vgsclass "$v" np-$v ',"driver":"d.example.com","deletionPolicy":"Delete"')" || return 1
	rej_any 'Unsupported value: "Keep"' create "$(vgsclass "$v" bad-$v ',"driver":"d","deletionPolicy":"Keep"')" || return 1
	rej_any 'driver: Required value' create "$(vgsclass "$v" nod-$v ',"deletionPolicy":"Delete"')" || return 1
	ok mp "$r" "$P-im-$v" '{"metadata":{"annotations":{"groupsnapshot.storage.kubernetes.io/is-default-class":"true"}}}' || return 1
	# Adding parameters to a class that had none is allowed ("once set").
	ok mp "$r" "$P-np-$v" '{"parameters":{"k":"v"}}' || return 1
	if [ "$v" = v1beta1 ]; then
		ok mp "$r" "$P-im-$v" '{"driver":"e.example.com","deletionPolicy":"Retain","parameters":{"k":"w"}}'
		return
	fi
	rej driver "driver is immutable once set" mp "$r" "$P-im-$v" '{"driver":"e.example.com"}' || return 1
	rej parameters "parameters are immutable once set" mp "$r" "$P-im-$v" '{"parameters":{"k":"w"}}' || return 1
	rej deletionPolicy "deletionPolicy is immutable once set" mp "$r" "$P-im-$v" '{"deletionPolicy":"Retain"}'
}

# ---- VolumeGroupSnapshotContent (11 rules at v1/v1beta2, 6 at v1beta1) -------------------
vgsc_spec() { # source-json [extra]
	printf '{"deletionPolicy":"Delete","driver":"d.example.com","source":%s,"volumeGroupSnapshotRef":%s%s}' "$1" "$GREF" "${2:-}"
}
VH='{"volumeHandles":["vol-1","vol-2"]}'
GH='{"groupSnapshotHandles":{"volumeGroupSnapshotHandle":"g-1","volumeSnapshotHandles":["s-1","s-2"]}}'
test_vgsc_exactly_one_source() {
	local v=$1 m="exactly one of volumeHandles and groupSnapshotHandles must be set"
	ok create "$(vgsc "$v" eo-vh-$v "$(vgsc_spec "$VH")")" || return 1
	ok create "$(vgsc "$v" eo-gh-$v "$(vgsc_spec "$GH")")" || return 1
	rej spec.source "$m" create "$(vgsc "$v" eo-both-$v "$(vgsc_spec '{"volumeHandles":["v"],"groupSnapshotHandles":{"volumeGroupSnapshotHandle":"g","volumeSnapshotHandles":["s"]}}')")" || return 1
	rej spec.source "$m" create "$(vgsc "$v" eo-none-$v "$(vgsc_spec '{}')")" || return 1
	rej_any 'volumeSnapshotHandles: Required value' create "$(vgsc "$v" eo-half-$v "$(vgsc_spec '{"groupSnapshotHandles":{"volumeGroupSnapshotHandle":"g"}}')")"
}
test_vgsc_ref_name_and_namespace() {
	local v=$1 m="both volumeGroupSnapshotRef.name and volumeGroupSnapshotRef.namespace must be set"
	rej spec.volumeGroupSnapshotRef "$m" create "$(vgsc "$v" rf-n-$v "{\"deletionPolicy\":\"Delete\",\"driver\":\"d\",\"source\":$VH,\"volumeGroupSnapshotRef\":{\"name\":\"g\"}}")" || return 1
	rej spec.volumeGroupSnapshotRef "$m" create "$(vgsc "$v" rf-ns-$v "{\"deletionPolicy\":\"Delete\",\"driver\":\"d\",\"source\":$VH,\"volumeGroupSnapshotRef\":{\"namespace\":\"ns1\"}}")" || return 1
	ok create "$(vgsc "$v" rf-ok-$v "$(vgsc_spec "$VH")")"
}
# Two contents at version $1: $P-$2-vh-$1 by volume handles and
# $P-$2-gh-$1 by group snapshot handles.
vh_and_gh() {
	ok create "$(vgsc "$1" "$2-vh-$1" "$(vgsc_spec "$VH")")" || return 1
	ok create "$(vgsc "$1" "$2-gh-$1" "$(vgsc_spec "$GH")")"
}
test_vgsc_handles_required_once_set() {
	local v=$1 r
	r=$(vgsc_r "$v")
	vh_and_gh "$v" rq || return 1
	rej spec.source "volumeHandles is required once set" \
		jp "$r" "$P-rq-vh-$v" '[{"op":"remove","path":"/spec/source/volumeHandles"},{"op":"add","path":"/spec/source/groupSnapshotHandles","value":{"volumeGroupSnapshotHandle":"g","volumeSnapshotHandles":["s"]}}]' || return 1
	rej spec.source "groupSnapshotHandles is required once set" \
		jp "$r" "$P-rq-gh-$v" '[{"op":"remove","path":"/spec/source/groupSnapshotHandles"},{"op":"add","path":"/spec/source/volumeHandles","value":["v"]}]' || return 1
	ok mp "$r" "$P-rq-vh-$v" '{"metadata":{"annotations":{"a":"b"}}}' || return 1
	ok mp "$r" "$P-rq-gh-$v" '{"metadata":{"annotations":{"a":"b"}}}'
}
test_vgsc_handles_immutable() {
	local v=$1 r
	r=$(vgsc_r "$v")
	vh_and_gh "$v" im || return 1
	rej spec.source.volumeHandles "volumeHandles is immutable" mp "$r" "$P-im-vh-$v" '{"spec":{"source":{"volumeHandles":["vol-2","vol-1"]}}}' || return 1
	rej spec.source.groupSnapshotHandles "groupSnapshotHandles is immutable" \
		mp "$r" "$P-im-gh-$v" '{"spec":{"source":{"groupSnapshotHandles":{"volumeSnapshotHandles":["s-1"]}}}}' || return 1
	ok mp "$r" "$P-im-vh-$v" "{\"spec\":{\"source\":$VH},\"metadata\":{\"labels\":{\"x\":\"y\"}}}" || return 1
	ok mp "$r" "$P-im-gh-$v" "{\"spec\":{\"source\":$GH},\"metadata\":{\"labels\":{\"x\":\"y\"}}}"
}
test_vgsc_driver_class_ref_immutable() {
	local v=$1 r
	r=$(vgsc_r "$v")
	ok create "$(vgsc "$v" fx-$v "$(vgsc_spec "$VH")")" || return 1
	ok create "$(vgsc "$v" fc-$v "$(vgsc_spec "$VH" ',"volumeGroupSnapshotClassName":"gold"')")" || return 1
	# deletionPolicy is mutable at every version; the class may be set once.
	ok mp "$r" "$P-fx-$v" '{"spec":{"deletionPolicy":"Retain"}}' || return 1
	ok mp "$r" "$P-fx-$v" '{"spec":{"volumeGroupSnapshotClassName":"gold"}}' || return 1
	# The uid may be set from empty.
	ok mp "$r" "$P-fx-$v" '{"spec":{"volumeGroupSnapshotRef":{"name":"gsnap","namespace":"ns1","uid":"u-1"}}}' || return 1
	if [ "$v" = v1beta1 ]; then
		# v1beta1 carries none of these rules.
		ok mp "$r" "$P-fx-$v" '{"spec":{"driver":"e.example.com","volumeGroupSnapshotClassName":"silver"}}' || return 1
		ok mp "$r" "$P-fx-$v" '{"spec":{"volumeGroupSnapshotRef":{"name":"other","namespace":"ns2","uid":"u-2"}}}'
		return
	fi
	rej spec.driver "driver is immutable once set" mp "$r" "$P-fx-$v" '{"spec":{"driver":"e.example.com"}}' || return 1
	rej spec.volumeGroupSnapshotClassName "volumeGroupSnapshotClassName is immutable once set" \
		mp "$r" "$P-fc-$v" '{"spec":{"volumeGroupSnapshotClassName":"silver"}}' || return 1
	local m="volumeGroupSnapshotRef.name and volumeGroupSnapshotRef.namespace are immutable"
	rej spec.volumeGroupSnapshotRef "$m" mp "$r" "$P-fx-$v" '{"spec":{"volumeGroupSnapshotRef":{"name":"other","namespace":"ns1","uid":"u-1"}}}' || return 1
	rej spec.volumeGroupSnapshotRef "$m" mp "$r" "$P-fx-$v" '{"spec":{"volumeGroupSnapshotRef":{"name":"gsnap","namespace":"ns2","uid":"u-1"}}}' || return 1
	m="volumeGroupSnapshotRef.uid is immutable once set"
	rej spec.volumeGroupSnapshotRef "$m" mp "$r" "$P-fx-$v" '{"spec":{"volumeGroupSnapshotRef":{"name":"gsnap","namespace":"ns1","uid":"u-2"}}}' || return 1
	rej spec.volumeGroupSnapshotRef "$m" jp "$r" "$P-fx-$v" '[{"op":"remove","path":"/spec/volumeGroupSnapshotRef/uid"}]' || return 1
	ok mp "$r" "$P-fx-$v" '{"spec":{"volumeGroupSnapshotRef":{"name":"gsnap","namespace":"ns1","uid":"u-1","kind":"VolumeGroupSnapshot"}}}'
}
test_vgsc_status() {
	local v=$1 r
	r=$(vgsc_r "$v")
	ok create "$(vgsc "$v" st-$v "$(vgsc_spec "$VH")")" || return 1
	ok mp "$r" "$P-st-$v" '{"status":{"readyToUse":false,"creationTime":"2026-01-02T03:04:05Z"}}' --subresource=status || return 1
	ok mp "$r" "$P-st-$v" '{"status":{"volumeGroupSnapshotHandle":"g-1"}}' --subresource=status || return 1
	if [ "$v" = v1beta1 ]; then
		ok mp "$r" "$P-st-$v" '{"status":{"volumeSnapshotHandlePairList":[{"volumeHandle":"vol-1","snapshotHandle":"s-1"}]}}' --subresource=status || return 1
		rej_any 'snapshotHandle: Required value' mp "$r" "$P-st-$v" '{"status":{"volumeSnapshotHandlePairList":[{"volumeHandle":"vol-1"}]}}' --subresource=status || return 1
		ok mp "$r" "$P-st-$v" '{"status":{"volumeGroupSnapshotHandle":"g-2"}}' --subresource=status
		return
	fi
	ok mp "$r" "$P-st-$v" '{"status":{"readyToUse":true,"volumeSnapshotInfoList":[{"volumeHandle":"vol-1","snapshotHandle":"s-1","creationTime":1700000000000000000,"readyToUse":true,"restoreSize":1024},{"snapshotHandle":"s-2"}]}}' --subresource=status || return 1
	t_eq "$("$K" get "$r" "$P-st-$v" -o jsonpath='{.status.volumeSnapshotInfoList[0].restoreSize} {.status.volumeSnapshotInfoList[1].snapshotHandle}')" "1024 s-2" || return 1
	rej status.volumeGroupSnapshotHandle "volumeGroupSnapshotHandle is immutable once set" \
		mp "$r" "$P-st-$v" '{"status":{"volumeGroupSnapshotHandle":"g-2"}}' --subresource=status
}
# The group snapshot by label selector of the docs, at group version $1, named $2.
docs_group_snapshot() {
	cat <<E
apiVersion: groupsnapshot.storage.k8s.io/$1
kind: VolumeGroupSnapshot
metadata:
  name: $2
  namespace: $NS
spec:
  volumeGroupSnapshotClassName: $P-csi-hostpath-groupsnapclass
  source:
    selector:
      matchLabels:
        group: myGroup
E
}


# ---- upstream's documented examples ---------------------------------------------------
test_upstream_examples() {
	# VolumeSnapshotClass as in the hostpath example, marked default.
	ok create "$(cat <<E
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: $P-csi-hostpath-snapclass
  labels: {sc-test: $P}
  annotations:
    snapshot.storage.kubernetes.io/is-default-class: "true"
driver: hostpath.csi.k8s.io
deletionPolicy: Delete
parameters:
  csi.storage.k8s.io/snapshotter-secret-name: snap-secret
  csi.storage.k8s.io/snapshotter-secret-namespace: default
E
)" || return 1
	# Dynamic snapshot of a PVC.
	ok create "$(cat <<E
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: new-snapshot-demo
  namespace: $NS
spec:
  volumeSnapshotClassName: $P-csi-hostpath-snapclass
  source:
    persistentVolumeClaimName: hpvc
E
)" || return 1
	# Restore: a PVC whose dataSource is the snapshot.
	ok create "$(cat <<E
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: hpvc-restore
  namespace: $NS
spec:
  storageClassName: csi-hostpath-sc
  dataSource:
    name: new-snapshot-demo
    kind: VolumeSnapshot
    apiGroup: snapshot.storage.k8s.io
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
E
)" || return 1
	t_eq "$("$K" get -n "$NS" pvc hpvc-restore -o jsonpath='{.spec.dataSource.kind}')" VolumeSnapshot "restore PVC dataSource" || return 1
	# Pre-provisioned: content with a snapshotHandle and the snapshot bound to it.
	ok create "$(cat <<E
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotContent
metadata:
  name: $P-static-content
  labels: {sc-test: $P}
spec:
  deletionPolicy: Retain
  driver: hostpath.csi.k8s.io
  source:
    snapshotHandle: 7bdd0de3-aaeb-11e8-9aae-0242ac110002
  sourceVolumeMode: Filesystem
  volumeSnapshotRef:
    name: static-snapshot
    namespace: $NS
E
)" || return 1
	ok create "$(cat <<E
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: static-snapshot
  namespace: $NS
spec:
  source:
    volumeSnapshotContentName: $P-static-content
E
)" || return 1
	# Group snapshot class and a group snapshot by label selector (v1, as the docs show now).
	ok create "$(cat <<E
apiVersion: groupsnapshot.storage.k8s.io/v1
kind: VolumeGroupSnapshotClass
metadata:
  name: $P-csi-hostpath-groupsnapclass
  labels: {sc-test: $P}
driver: hostpath.csi.k8s.io
deletionPolicy: Delete
E
)" || return 1
	ok create "$(docs_group_snapshot v1 new-group-snapshot-demo)" || return 1
	# The same shapes at the older group version the docs used (v1beta1).
	ok create "$(docs_group_snapshot v1beta1 old-group-snapshot-demo)"
}

t_run versions test_versions
t_run storage_version_readback test_storage_and_readback
t_run deprecation test_deprecation
t_run short_names test_short_names
t_run printer_columns test_printer_columns
t_run vs.exactly_one_source test_vs_exactly_one_source
t_run vs.class_not_empty test_vs_class_not_empty
t_run vs.pvc_name_required_once_set test_vs_pvc_name_required_once_set
t_run vs.content_name_required_once_set test_vs_content_name_required_once_set
t_run vs.pvc_name_immutable test_vs_pvc_name_immutable
t_run vs.content_name_immutable test_vs_content_name_immutable
t_run vs.status_schema test_vs_status_schema
t_run vsc.exactly_one_source test_vsc_exactly_one_source
t_run vsc.ref_name_and_namespace test_vsc_ref_name_and_namespace
t_run vsc.volume_handle_required_once_set test_vsc_volume_handle_required_once_set
t_run vsc.snapshot_handle_required_once_set test_vsc_snapshot_handle_required_once_set
t_run vsc.volume_handle_immutable test_vsc_volume_handle_immutable
t_run vsc.snapshot_handle_immutable test_vsc_snapshot_handle_immutable
t_run vsc.source_volume_mode test_vsc_source_volume_mode
t_run vsc.mutable_fields test_vsc_mutable_fields
t_run vsc.status_schema test_vsc_status_schema
t_run vsclass.schema test_vsclass_schema
for v in v1 v1beta2 v1beta1; do
	t_run "vgs.$v.exactly_one_source" test_vgs_exactly_one_source "$v"
	t_run "vgs.$v.class_not_empty" test_vgs_class_not_empty "$v"
	t_run "vgs.$v.selector_required_once_set" test_vgs_selector_required_once_set "$v"
	t_run "vgs.$v.content_name_required_once_set" test_vgs_content_name_required_once_set "$v"
	t_run "vgs.$v.selector_immutable" test_vgs_selector_immutable "$v"
	t_run "vgs.$v.content_name_immutable" test_vgs_content_name_immutable "$v"
	t_run "vgs.$v.status_bound" test_vgs_status_bound_immutable "$v"
	t_run "vgsclass.$v.immutable" test_vgsclass_immutable "$v"
	t_run "vgsc.$v.exactly_one_source" test_vgsc_exactly_one_source "$v"
	t_run "vgsc.$v.ref_name_and_namespace" test_vgsc_ref_name_and_namespace "$v"
	t_run "vgsc.$v.handles_required_once_set" test_vgsc_handles_required_once_set "$v"
	t_run "vgsc.$v.handles_immutable" test_vgsc_handles_immutable "$v"
	t_run "vgsc.$v.driver_class_ref" test_vgsc_driver_class_ref_immutable "$v"
	t_run "vgsc.$v.status" test_vgsc_status "$v"
done
t_run upstream_examples test_upstream_examples
echo "crds.cel: $(wc -l <"$CHECKS") API-server checks in $((SECONDS - t_start))s"
t_done
