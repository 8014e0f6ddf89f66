/*
 * Typed getters a check kind uses in parse().  Every error is written as
 * "<path>.<key>: <what is wrong>" so the user sees the JSON path, e.g.
 * `checks[2].timeout: "5x" is not a duration`.  Absent optional keys leave
 * *out untouched.  Strings are returned malloc'd; the caller owns them.
 */
#ifndef PF_CONFIG_H
#define PF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

int pf_cfg_str(const struct cJSON *obj, const char *path, const char *key,
	       bool required, char **out, char *err, size_t errlen);
int pf_cfg_duration(const struct cJSON *obj, const char *path, const char *key,
		    uint64_t *out_ms, char *err, size_t errlen);
int pf_cfg_int(const struct cJSON *obj, const char *path, const char *key,
	       long min, long max, long *out, char *err, size_t errlen);
int pf_cfg_bool(const struct cJSON *obj, const char *path, const char *key,
		bool *out, char *err, size_t errlen);
/* Array of strings: *out is a malloc'd NULL-terminated vector (free with
 * pf_cfg_strv_free), *n its length. */
int pf_cfg_strv(const struct cJSON *obj, const char *path, const char *key,
		char ***out, size_t *n, char *err, size_t errlen);
void pf_cfg_strv_free(char **v);
/* Object whose values are all strings (headers, hints): returns a borrowed
 * pointer into obj in *out, or NULL when absent. */
int pf_cfg_strmap(const struct cJSON *obj, const char *path, const char *key,
		  const struct cJSON **out, char *err, size_t errlen);

#endif
