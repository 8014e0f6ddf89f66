/*
 * Config values outside the key tables (pf_keys.h): two getters for the
 * loader's own lists (group members) and tools, and secrets that may come
 * from ${file:} and rotate.  Errors are "<path>.<key>: <what is wrong>".
 * Absent optional keys leave *out untouched.
 */
#ifndef PF_CONFIG_H
#define PF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct cJSON;

int pf_cfg_duration(const struct cJSON *obj, const char *path, const char *key,
		    uint64_t *out_ms, char *err, size_t errlen);
/* Array of strings: *out is a malloc'd NULL-terminated vector (free with
 * pf_cfg_strv_free), *n its length. */
int pf_cfg_strv(const struct cJSON *obj, const char *path, const char *key,
		char ***out, size_t *n, char *err, size_t errlen);
void pf_cfg_strv_free(char **v);

/* A secret string that may have come from ${file:PATH}: then the file is
 * remembered and pf_secret_refresh() re-reads it when it changed (mounted
 * secrets rotate by replacing the file).  Owns value and path. */
struct pf_secret {
	char *value;		/* NULL when absent */
	char *path;		/* the ${file:} path, or NULL for a literal */
	dev_t dev;		/* identity of the file when value was read */
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* A secret string: the expanded value from obj, and when raw
 * (the object before expansion, may be NULL) holds exactly
 * "${file:PATH}" for key, the file to watch.  out must be zeroed. */
int pf_cfg_secret(const struct cJSON *obj, const struct cJSON *raw,
		  const char *path, const char *key, bool required,
		  struct pf_secret *out, char *err, size_t errlen);
/* The same for the value v of key path kpath ("checks[1].token"), rawv
 * being that value before expansion (may be NULL). */
int pf_secret_from(const struct cJSON *v, const struct cJSON *rawv,
		   const char *kpath, struct pf_secret *out, char *err,
		   size_t errlen);
/* Re-reads the file when its identity, size or mtime changed (a stat()
 * per call; the read happens only on change, at most 64 KiB).  Returns 1
 * when the value changed, 0 when not (or a literal), -1 with err filled
 * when the file is unreadable (the old value stays). */
int pf_secret_refresh(struct pf_secret *s, char *err, size_t errlen);
void pf_secret_free(struct pf_secret *s);

#endif
