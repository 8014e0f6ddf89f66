/*
 * The configuration: one JSON file (comments allowed, ${VAR}, ${VAR:-def}
 * and ${file:/path} expanded in strings) or the built-in profile built from
 * the services' environment.  SPEC §5.
 *
 * A struct pf_config owns everything below it; pf_config_free() releases it.
 * Loading never half-succeeds: on error *out is untouched, err holds one
 * message naming file:line:column (syntax) or the JSON path (meaning), and
 * nothing is leaked.
 */
#ifndef PF_DAEMON_CONFIG_H
#define PF_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#include "pf_check.h"
#include "pf_keys.h"

struct cJSON;

#define PF_DEFAULT_LISTEN "0.0.0.0:8089"
#define PF_DEFAULT_INTERVAL_MS 10000
#define PF_DEFAULT_TIMEOUT_MS 5000
/* An on-demand check's result counts this long (SPEC §3 max_age). */
#define PF_DEFAULT_MAX_AGE_MS 3600000
/* POST /run starts a check at most once per this (SPEC §6). */
#define PF_DEFAULT_RUN_SPACING_MS 10000
#define PF_DEFAULT_RUN_SPACING_ON_DEMAND_MS 60000
/* Bytes of a check's config fingerprint (SHA-256). */
#define PF_FINGERPRINT_LEN 32

/* One entry of "checks" (after "defaults" were applied). */
struct pf_check_cfg {
	char *name;			/* unique, [a-z0-9_.-]+ */
	const struct check_ops *ops;	/* from the registry; not owned */
	void *kind_cfg;			/* owned; released with ops->free_cfg */
	/* 0 for an on-demand check (interval "off"): no timer runs it; POST
	 * /run and `preflightd check` do. */
	uint64_t interval_ms;
	uint64_t timeout_ms;
	bool on_demand;			/* interval_ms == 0 */
	uint64_t max_age_ms;		/* on demand: how long a result counts */
	uint64_t run_spacing_ms;	/* POST /run: at most one start per this */
	unsigned failure_threshold;	/* >= 1 */
	unsigned success_threshold;	/* >= 1 */
	bool critical;
	struct cJSON *hints;		/* owned: reason name -> text; NULL if none */
	char **depends_on;		/* owned, NULL-terminated; names of other checks */
	size_t n_depends_on;
	/* owned: depends_on resolved to indices of cfg->checks at load */
	size_t *dep_idx;
	/* owned: every secret of the check (config_secrets.c), longest
	 * first; masked in whatever is shown of it */
	char **secrets;
	size_t n_secrets;
	/* owned: those of them that came from ${file:} (describe masks only
	 * these: the key table masks its own secret keys) */
	char **file_secrets;
	size_t n_file_secrets;
	/* SHA-256 of the canonical JSON of the check's effective (expanded)
	 * config: two checks with equal fingerprints are "unchanged" across a
	 * reload.  Made from secrets: never printed. */
	unsigned char fingerprint[PF_FINGERPRINT_LEN];
};

struct pf_group_cfg {
	char *name;
	char **checks;			/* owned, NULL-terminated */
	size_t n_checks;
	size_t *idx;			/* owned: checks resolved to indices at load */
};

struct pf_config {
	char *source;			/* the file path, or "environment" */
	char *listen;			/* "host:port" */
	/* POST /run from a non-loopback peer needs `Authorization: Bearer`
	 * equal to this (run_token, or PREFLIGHT_RUN_TOKEN[_FILE]); NULL:
	 * such peers are refused.  A secret: never printed. */
	char *run_token;
	bool run_spacing_set;		/* run_min_spacing was configured */
	uint64_t run_spacing_ms;	/* its value (each check has its own copy) */
	struct pf_check_cfg *checks;	/* owned array */
	size_t n_checks;
	struct pf_group_cfg *groups;	/* owned array */
	/* owned: struct pf_notify_cfg entries (config_notify.h) */
	struct pf_objv notify;
	char *public_url;		/* owned, or NULL */
	size_t n_groups;
	/* owned: what the loader decided that the operator should know
	 * ("queue check left out: ..."), for `preflightd config` and the log */
	char **notes;
	size_t n_notes;
};

/* Reads, expands and validates a config file. */
int pf_config_load_file(const char *path, struct pf_config **out,
			char *err, size_t errlen);
/* Same from text in memory; `source` names it in errors (tests use it). */
int pf_config_load_string(const char *text, const char *source,
			  struct pf_config **out, char *err, size_t errlen);
/* Test seam: like pf_config_load_string, but kinds are looked up in the
 * NULL-terminated `kinds` instead of the registry (NULL: the registry), so
 * unit tests can exercise the common fields with a test-only kind. */
int pf_config_load_string_ops(const char *text, const char *source,
			      const struct check_ops *const *kinds,
			      struct pf_config **out, char *err, size_t errlen);
/* The built-in profile from the environment (SPEC §5). */
int pf_config_from_env(struct pf_config **out, char *err, size_t errlen);
void pf_config_free(struct pf_config *cfg);

/* Appends a note (copied); -1 when out of memory. */
int pf_config_add_note(struct pf_config *cfg, const char *text);

/* Masks the check's secrets in s (cap bytes, 0: unknown) or in every
 * string of j (NULL is ignored). */
void pf_check_mask(const struct pf_check_cfg *c, char *s, size_t cap);
void pf_check_mask_json(const struct pf_check_cfg *c, struct cJSON *j);
/* Masks only its ${file:} contents in every string of j. */
void pf_check_mask_file_values(const struct pf_check_cfg *c, struct cJSON *j);

/* The check's target, secrets masked ("" and false when it has none). */
bool pf_check_target(const struct pf_check_cfg *c, char *buf, size_t len);

/* The reference of every config key, in markdown (config_doc.c). */
void pf_config_reference(FILE *f);
/* The JSON Schema of the configuration; NULL when out of memory. */
struct cJSON *pf_config_schema(void);

/* Effective configuration for `preflightd config`, secrets redacted. */
struct cJSON *pf_config_describe(const struct pf_config *cfg);

/* Index of a check/group by name, or -1. */
int pf_config_find_check(const struct pf_config *cfg, const char *name);
int pf_config_find_group(const struct pf_config *cfg, const char *name);

#endif
