/* common/limits.h -- every size cap in one table.  Each buffer, body and list
 * in the project is bounded by one of these names; tests that feed huge input
 * point at them. */
#ifndef SC_LIMITS_H
#define SC_LIMITS_H

#define LIM_KUBECONFIG_FILE   (1u << 20)  /* a kubeconfig file */
#define LIM_CERT_FILE         (1u << 20)  /* a PEM certificate or key file */
#define LIM_TOKEN_FILE        (64u << 10) /* a bearer token file */
#define LIM_API_BODY          (16u << 20) /* one API response body (a list page) */
#define LIM_REQUEST_BODY      (4u << 20)  /* one request body we send */
#define LIM_WATCH_LINE        (4u << 20)  /* one watch event line */
#define LIM_LIST_PAGE         500         /* objects per LIST page (limit=) */
#define LIM_LIST_ITEM         (4u << 20)  /* one object of a LIST page, parsed on its own */
#define LIM_LIST_SKELETON     (64u << 10) /* a LIST page without its items (metadata, continue) */
#define LIM_LIST_PAGE_BYTES   (64u << 20) /* bytes streamed for one LIST page (never held whole) */
#define LIM_ADMISSION_BODY    (3u << 20)  /* one AdmissionReview/ConversionReview body */
#define LIM_REVIEW_RESPONSE   (6u << 20)  /* one review response (converted objects grow) */
#define LIM_EVENT_MESSAGE     1024        /* one Event message (API server caps at 1 KiB) */
#define LIM_LOG_LINE          4096        /* one log line */
#define LIM_KEY               512         /* "namespace/name" work-queue key */
#define LIM_METRICS_BODY      (1u << 20)  /* one /metrics response */
#define LIM_HTTP_REQUEST_HEAD 8192        /* request line + headers on the metrics port */
#define LIM_HTTP_CONNS        64          /* open connections on the metrics port */

#endif
