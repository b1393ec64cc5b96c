/* webhook/wh_convert.h -- CRD conversion for groupsnapshot.storage.k8s.io.
 *
 * Versions v1beta1, v1beta2 and v1, every pair.  v1 and v1beta2 have the
 * same schema, so between them only apiVersion changes.  v1beta1
 * VolumeGroupSnapshotContent differs in status: it has
 * volumeSnapshotHandlePairList[] {volumeHandle, snapshotHandle} where newer
 * versions have volumeSnapshotInfoList[].  Upstream's annotation scheme
 * keeps a round trip lossless:
 *   down (to v1beta1): the full info list is stored, as compact JSON with
 *     sorted keys, in the annotation WH_ANN_INFO_LIST; the pair list is the
 *     info list reduced to the two handles; the info list is removed.
 *   up (from v1beta1): the annotation, if present, becomes the info list
 *     (it wins over the pair list); otherwise the pair list is renamed.  The
 *     pair list and the annotation are removed (and an annotations map left
 *     empty is removed too).
 * VolumeGroupSnapshot and VolumeGroupSnapshotClass only get apiVersion
 * rewritten.
 */
#ifndef SC_WH_CONVERT_H
#define SC_WH_CONVERT_H

#include <jansson.h>

#include "common/sc_err.h"

#define WH_CONVERT_GROUP "groupsnapshot.storage.k8s.io"
#define WH_ANN_INFO_LIST "groupsnapshot.storage.kubernetes.io/volume-snapshot-info-list"

/* Convert obj (borrowed, not modified) to apiVersion desired.  On success
 * *out is a new reference.  Errors are SC_EINVALID with the message that
 * goes into the ConversionReview Failure status. */
int wh_convert_object(const json_t *obj, const char *desired, json_t **out, struct sc_err *err);

/* Convert every object of the array objects in place (a review's request
 * tree, which is the response's objects then: no copy).  The first failing
 * object fails the whole review (upstream behaviour); objects may then be
 * left half converted, and nothing of it may be answered. */
int wh_convert_all(json_t *objects, const char *desired, struct sc_err *err);

#endif
