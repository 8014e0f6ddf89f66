/*
 * The built-in profile (SPEC §5): the checks and groups preflightd creates
 * from the services' own environment when no config file is given.  The
 * tables and columns it requires are documented in docs/profile.md.
 */
#ifndef PF_DAEMON_PROFILE_H
#define PF_DAEMON_PROFILE_H

#include <stddef.h>

struct cJSON;

/* Which database check requires a table. */
enum pf_profile_db {
	PF_PROFILE_CHAT,
	PF_PROFILE_RAG_CHUNKING,
	PF_PROFILE_RAG_EMBEDDING
};

struct pf_profile_table {
	enum pf_profile_db db;
	const char *table;
	const char *const *columns;	/* NULL-terminated */
};

/* The built-in table list (profile_tables.c), n entries. */
const struct pf_profile_table *pf_profile_tables(size_t *n);

/* What the profile decided besides the checks, for `preflightd config`
 * and the log ("queue check left out: CHAT_QUEUE_TYPE=memory ..."). */
#define PF_PROFILE_MAX_NOTES 8
struct pf_profile_notes {
	char text[PF_PROFILE_MAX_NOTES][256];
	size_t n;
};

/* The profile as a configuration document (same shape as a config file,
 * to be loaded with ${...} expansion: literal values have '$' doubled and
 * NAME_FILE values are written as ${file:PATH}), built from the
 * environment.  Returns the document (caller owns it), or NULL with err
 * filled ("environment: REDIS_URL_FILE: ...").  notes may be NULL. */
struct cJSON *pf_profile_document(struct pf_profile_notes *notes, char *err,
				  size_t errlen);

/* The database a libpq URL or key=value DSN names ("" when none); the
 * +driver of SQLAlchemy URLs is ignored.  Pure. */
void pf_profile_dbname(const char *url, char *out, size_t len);

#endif
