/*
 * The key tables of the configuration document itself (config_keys.c):
 * the top level, "defaults" and the keys every check has beside its
 * kind's (SPEC §3, §5).  config.c and config_check.c parse with them; the
 * reference and the JSON Schema are generated from them.
 */
#ifndef PF_DAEMON_CONFIG_KEYS_H
#define PF_DAEMON_CONFIG_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "pf_keys.h"

struct cJSON;

/* interval: a duration or "off". */
struct pf_interval {
	uint64_t ms;
	bool set;		/* present */
	bool off;		/* "off": on demand */
};

/* What "defaults" may set, and every check too.  Absent durations and
 * thresholds stay 0: the kind's default applies. */
struct pf_check_defaults {
	struct pf_interval interval;
	uint64_t timeout_ms;
	uint64_t max_age_ms;
	long failure_threshold;
	long success_threshold;
	bool critical;
	struct cJSON *hints;	/* owned: reason name -> text, or NULL */
};

/* The keys of a check that are not its kind's. */
struct pf_check_common {
	char *name;
	char *kind;
	struct pf_strv depends_on;
	struct pf_check_defaults d;
};

/* The top level; "checks" and "groups" are loaded by config.c from the
 * document (their table entries validate the shape and document them). */
struct pf_top_cfg {
	char *listen;		/* "host:port" */
	char *run_token;	/* a secret, or NULL */
	uint64_t run_spacing_ms;
	bool run_spacing_set;
	struct pf_check_defaults *defaults;	/* validated; NULL when absent */
	struct pf_objv notify;		/* struct pf_notify_cfg, moved to pf_config */
	char *public_url;		/* the status page's address, or NULL */
};

extern const struct pf_keys pf_top_keys;
extern const struct pf_keys pf_defaults_keys;
extern const struct pf_keys pf_common_keys;

#endif
