/*
 * The http kind's expect_status sets (http_status.c).  Internal to the
 * http kind.
 */
#ifndef PF_CHECKS_HTTP_STATUS_H
#define PF_CHECKS_HTTP_STATUS_H

#include <stdbool.h>

#include "pf_keys.h"

struct cJSON;

/* expect_status: up to 16 inclusive ranges.  Accepts 204, "204", "2xx",
 * "200-299", or an array of those. */
#define PF_HTTP_MAX_RANGES 16
struct pf_http_status_set {
	unsigned n;
	unsigned lo[PF_HTTP_MAX_RANGES], hi[PF_HTTP_MAX_RANGES];
};
int pf_http_status_parse(const struct cJSON *v, struct pf_http_status_set *out,
			char *err, size_t errlen);
bool pf_http_status_match(const struct pf_http_status_set *s, long code);
/* "200-299", "204, 301" ... for messages and describe(). */
const char *pf_http_status_format(const struct pf_http_status_set *s,
				 char *out, size_t len);

/* expect_status as a config key type (pf_keys.h). */
extern const struct pf_key_custom pf_http_status_key;

#endif
