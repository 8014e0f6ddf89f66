/*
 * Internals of the configuration loader shared by config.c (document and
 * groups), config_check.c (one check) and profile.c (built-in profile).
 * Not for use outside these files.
 */
#ifndef PF_DAEMON_CONFIG_PRIV_H
#define PF_DAEMON_CONFIG_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct cJSON;

#define PF_NAME_MAX 128	/* longest check or group name */

/* What a load works with: borrowed for the duration of one load. */
struct pf_load {
	const char *source;			/* file path or "environment" */
	const struct check_ops *const *kinds;	/* NULL: the registry */
	/* top-level run_min_spacing, read before the checks */
	bool run_spacing_set;
	uint64_t run_spacing_ms;
	/* every ${file:} content of the document (secrets, wherever used) */
	char **file_values;
	size_t n_file_values;
};

/* config_secrets.c: collects the expanded values of exp whose raw form
 * (the same tree before expansion) used ${file:}; -1 out of memory. */
int pf_config_file_values(const struct cJSON *raw, const struct cJSON *exp,
			  char ***v, size_t *n);
void pf_config_file_values_free(char **v, size_t n);
/* The check's secrets: its key table's and the document's file values;
 * masks its hint overrides.  -1 when out of memory. */
int pf_check_secrets_build(struct pf_check_cfg *c, const struct pf_load *ld);
void pf_check_secrets_free(struct pf_check_cfg *c);

/* Validates and loads a parsed document.  Takes ownership of doc (always
 * freed).  With `expand`, ${...} is expanded in every string first; the
 * built-in profile passes false because its values are literal. */
int pf_config_load_json(struct cJSON *doc, bool expand,
			const struct pf_load *ld, struct pf_config **out,
			char *err, size_t errlen);

/* True when s is a valid check or group name: [a-z0-9_.-]+, at most
 * PF_NAME_MAX bytes. */
bool pf_config_valid_name(const char *s);

/* Builds checks[index] from its object with `defaults` applied; raw is
 * the object as written, before ${...} expansion (NULL: not expanded).
 * On error returns -1 and *out holds nothing to release. */
int pf_check_build(const struct cJSON *obj, const struct cJSON *raw, int index,
		   const struct cJSON *defaults, const struct pf_load *ld,
		   struct pf_check_cfg *out, char *err, size_t errlen);

/* Releases what one check owns (not the struct itself). */
void pf_check_cfg_release(struct pf_check_cfg *c);

/* Verifies check names are unique, every depends_on names another
 * existing check, and the dependencies form no cycle (config_deps.c). */
int pf_config_deps_and_names(struct pf_config *cfg, char *err,
			     size_t errlen);

/* One check's effective configuration, secrets redacted. */
struct cJSON *pf_check_describe(const struct pf_check_cfg *c);

#endif
