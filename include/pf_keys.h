/*
 * Configuration key tables (keys.c): every config object -- the top level,
 * "defaults", a check's common fields, each kind's keys and every object
 * nested in them -- declares its keys once, in a table of name, type,
 * default, secret or not and a doc line.  The table drives parsing (typed,
 * into a struct at the key's offset), the unknown and duplicate key checks
 * at every depth, `preflightd config` (describe, secrets masked), the
 * secrets the daemon masks in every output, the reference docs and the
 * JSON Schema.  PgBouncer's CfKey and nginx's ngx_command_t are the
 * models.
 *
 * Errors are "PATH.KEY: what is wrong" (`checks[2].timeout: "5x" is not a
 * duration`); the caller prefixes the source.
 */
#ifndef PF_KEYS_H
#define PF_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cJSON;
struct pf_keys;

enum pf_key_type {
	PF_KEY_STRING,		/* char *, owned */
	/* struct pf_secret *, owned: never shown; a ${file:} value is re-read
	 * when the file changes (behind a pointer, so that a probe holding
	 * the const config can refresh it in place) */
	PF_KEY_SECRET,
	PF_KEY_URL,		/* char *, owned; shown through pf_mask_url */
	PF_KEY_ENUM,		/* char *, owned: one of .choices */
	PF_KEY_BOOL,		/* bool */
	PF_KEY_DURATION,	/* uint64_t milliseconds, "5s" or seconds */
	PF_KEY_INT,		/* long, in [.min, .max] */
	PF_KEY_STRINGS,		/* struct pf_strv: an array of strings */
	PF_KEY_MAP,		/* struct cJSON *, owned copy: an object of strings */
	PF_KEY_JSON,		/* struct cJSON *, owned copy: an object */
	PF_KEY_OBJECT,		/* void *, owned: a struct of .sub (.sub->size bytes) */
	PF_KEY_OBJECTS,		/* struct pf_objv: an array of .sub structs */
	PF_KEY_CUSTOM,		/* .custom says how */
	/* the keys of .sub, at this level of the JSON object, into the
	 * struct of .sub embedded at .offset (keys kinds share: headers,
	 * max_body and ca_file of every HTTP request) */
	PF_KEY_INLINE
};

/* An array of strings: v is NULL-terminated, n its length. */
struct pf_strv {
	char **v;
	size_t n;
};

/* An array of nested structs, n of .sub->size bytes each at v. */
struct pf_objv {
	void *v;
	size_t n;
};

/* A type of its own (expect_status, a map of lists, "off" or a duration). */
struct pf_key_custom {
	/* v is the JSON value (present), field the struct member; -1 with
	 * err as "PATH: what is wrong" (path names the key). */
	int (*parse)(const struct cJSON *v, const char *path, void *field,
		     char *err, size_t errlen);
	void (*free)(void *field);
	/* The effective value for `preflightd config`; NULL to leave it out. */
	struct cJSON *(*describe)(const void *field);
	const char *type_doc;	/* the reference's type column: "status set" */
	const char *schema;	/* JSON Schema of the value, as JSON text */
};

struct pf_key {
	const char *name;		/* NULL ends a table */
	enum pf_key_type type;
	size_t offset;			/* of the member in the table's struct */
	bool required;
	/* default as it would be written in the config (JSON text:
	 * "\"GET\"", "1000", "\"1s\""); NULL: none (absent stays zero) */
	const char *def;
	long min, max;			/* INT bounds */
	const char *const *choices;	/* ENUM values, NULL-terminated */
	const struct pf_keys *sub;	/* OBJECT, OBJECTS */
	/* STRING, URL: refuses a value (-1, why filled: "is not a UUID") */
	int (*valid)(const char *value, char *why, size_t len);
	const struct pf_key_custom *custom;
	/* STRING: a secret shown as "***"; MAP (headers): every value but
	 * those of the short allow-list of pf_mask_header_is_public is */
	bool secret;
	bool hidden;			/* parsed but left out of describe */
	const char *doc;		/* one line for the reference */
};

struct pf_keys {
	const char *name;		/* "tcp", "postgres.assertions[]" */
	const struct pf_key *keys;
	size_t size;			/* bytes of the struct (OBJECT, OBJECTS) */
	/* After the keys: cross-field rules and derived state (json is the
	 * object parsed, to tell an absent key from its zero).  -1 with err
	 * as "PATH...: what is wrong" (pf_keys_fail). */
	int (*check)(void *obj, const struct cJSON *json, const char *path,
		     char *err, size_t errlen);
	void (*free)(void *obj);	/* what check derived; may be NULL */
	/* The key whose value is the check's target in /status and the
	 * report (a URL shown masked); NULL: none. */
	const char *target;
	/* Adds derived facts to describe's object; may be NULL. */
	void (*describe)(const void *obj, struct cJSON *out);
	const char *doc;		/* a paragraph for the reference */
};

/* Parses obj against one table into out (zeroed by the caller).  Refuses
 * a non-object, duplicate keys (at every depth: nested objects too) and
 * keys of neither this table nor also (a second table whose keys obj may
 * hold as well, e.g. a check's common keys beside its kind's; NULL).  On
 * error everything parsed so far is freed and out is zeroed again. */
int pf_keys_parse(const struct pf_keys *t, const struct pf_keys *also,
		  const struct cJSON *obj, const struct cJSON *raw,
		  const char *path, void *out, char *err, size_t errlen);

/* For check hooks: err = "PATH.KEY: message" ("PATH: message" when key
 * is NULL); returns -1. */
int pf_keys_fail(char *err, size_t errlen, const char *path, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Frees what pf_keys_parse put into obj (not obj itself). */
void pf_keys_free(const struct pf_keys *t, void *obj);

/* pf_keys_parse into a new zeroed struct of t->size bytes; NULL with err
 * filled on error.  pf_keys_delete frees it and what it holds. */
void *pf_keys_new(const struct pf_keys *t, const struct pf_keys *also,
		  const struct cJSON *obj, const struct cJSON *raw,
		  const char *path, char *err, size_t errlen);
void pf_keys_delete(const struct pf_keys *t, void *obj);

/* The effective values (defaults included), secrets as "***", URLs
 * masked; NULL when out of memory. */
struct cJSON *pf_keys_describe(const struct pf_keys *t, const void *obj);

/* The value of t->target in obj, a URL masked; false (buf "") when the
 * table names no target or the value is absent. */
bool pf_keys_target(const struct pf_keys *t, const void *obj, char *buf,
		    size_t len);

/* Calls fn with the value of every URL key in obj (nested ones too). */
void pf_keys_urls(const struct pf_keys *t, const void *obj,
		  void (*fn)(void *arg, const char *url), void *arg);

/* Calls fn for every configured secret value in obj: SECRET keys,
 * secret STRING keys, the password of URL keys, secret MAP values. */
void pf_keys_secrets(const struct pf_keys *t, const void *obj,
		     void (*fn)(void *arg, const char *secret), void *arg);

/* True when obj holds the same key twice, at any depth; *where gets the
 * key's JSON path (prefixed by path). */
bool pf_keys_duplicate(const struct cJSON *obj, const char *path, char *where,
		       size_t len);

/* The reference: one markdown table per key table, nested ones after
 * their parent, headed "### title". */
void pf_keys_reference(FILE *f, const char *title, const struct pf_keys *t);

/* The JSON Schema (draft 2020-12) of an object of table t; NULL when out
 * of memory.  also: a second table whose keys the object may hold. */
struct cJSON *pf_keys_schema(const struct pf_keys *t, const struct pf_keys *also);

#endif
