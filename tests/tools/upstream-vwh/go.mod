module snapctl.invalid/tools/upstream-vwh

go 1.26.8

require github.com/kubernetes-csi/external-snapshotter/v8 v8.1.0 // indirect
