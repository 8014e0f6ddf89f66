/*
 * Internal to the postgres kind: its parsed configuration, shared by
 * postgres_cfg.c (its key table) and postgres.c (the probe).
 */
#ifndef PF_POSTGRES_H
#define PF_POSTGRES_H

#include <stdbool.h>
#include <stddef.h>

#include "pf_hint.h"
#include "pf_keys.h"
#include "postgres_query.h"

struct pf_schema;

struct pf_pg_assertion {
	char *name;			/* owned */
	char *sql;			/* owned: one statement, sent as is */
	char *expect;			/* owned: the text as configured ("< 100") */
	struct pf_pg_expect cmp;
};

/* The required tables and views (pf_pg_table, postgres_query.h). */
struct pf_pg_rels {
	struct pf_pg_table *v;		/* owned array */
	size_t n;
};

/* Filled by the kind's key table (pf_pg_keys, postgres_cfg.c): the keys
 * first, then its check hook derives the rest. */
struct pf_pg_cfg {
	/* keys */
	char *url;			/* owned, as configured; holds the password: never printed */
	struct pf_secret *password_key;	/* owned: `password`, or NULL */
	char *database;			/* owned: expected current_database(), or NULL */
	char *schema;			/* owned: default "public" */
	/* owned: the hand-written `tables` and `views`, merged by the check
	 * hook with what schema_dir derives (postgres_schema.c) */
	struct pf_pg_rels rels;
	struct pf_strv views;		/* owned: `views` as configured */
	bool allow_replica;		/* a server in recovery is not read_only */
	bool require_views;		/* every view schema_dir derives is required */
	/* owned or NULL: folder of migration files (SPEC §3a).  Read once at
	 * load, which a SIGHUP reload repeats; never during a probe. */
	char *schema_dir;
	struct pf_objv assertions;	/* owned: struct pf_pg_assertion */

	/* derived by the check hook, owned */
	/* Conninfo as PQconninfoParse read it, minus the keys the probe sets
	 * itself (options, application_name).  NULL-terminated. */
	char **keys;
	char **vals;			/* parallel to keys; holds the password */
	size_t n_conn;
	const char *password;		/* borrowed from vals or NULL: scrubbed from messages */
	/* a password was configured (URL, `password` or $PGPASSWORD): a
	 * server that never asks for it (trust) makes the check warn */
	bool password_configured;
	const char *host;		/* borrowed from vals: host (list) or NULL */
	const char *port;		/* borrowed from vals or NULL */
	const char *dbname;		/* borrowed from vals or NULL */
	bool has_hostaddr;		/* user gave hostaddr: no resolution */
	bool has_gssencmode;
	char *user_options;		/* the user's `options`, or NULL */
	char *schemas_param;		/* text[] literal for $1 */
	char *names_param;		/* text[] literal for $2 */
	/* the schema derived from schema_dir, or NULL; rels.v[].file and
	 * column_files[] borrow their strings from it */
	struct pf_schema *model;
	size_t derived_tables;		/* required tables schema_dir contributed */
	size_t derived_columns;		/* required columns schema_dir contributed */
};

/* The i-th assertion. */
static inline const struct pf_pg_assertion *
pf_pg_assertion_at(const struct pf_pg_cfg *c, size_t i)
{
	return (const struct pf_pg_assertion *)c->assertions.v + i;
}

extern const struct pf_keys pf_pg_keys;

/* The database named in hints: `database`, else dbname, else "?". */
const char *pf_pg_cfg_dbname(const struct pf_pg_cfg *c);

/* postgres_hint.c: the kind's hint rules (pf_hint.h). */
extern const struct pf_hint_rule pf_pg_hints[];
/* "host:port" or "socket directory D" for messages; never a secret. */
const char *pf_pg_where(const struct pf_pg_cfg *c, char *buf, size_t len);
/* The cause of a TLS (or hostssl-only) failure from libpq's message:
 * "pg_tls:no_ssl", "pg_tls:name", "pg_tls:rootcert", "pg_tls:untrusted",
 * "pg_tls:version", "pg_hba:no_encryption"; NULL for others. */
const char *pf_pg_tls_cause(const char *msg);
/* Sets the cause and vars of a finished result for the hint rules;
 * sqlstate: the server's SQLSTATE or NULL. */
void pf_pg_hint_facts(const struct pf_pg_cfg *c, const char *sqlstate,
		      struct pf_result *res);

/* postgres_schema.c: loads c->schema_dir (schema c->schema) into c->model
 * and merges its tables and columns (and views, with require_views or
 * when listed in `views`) into c->tables (union with the hand-written
 * ones), then rebuilds the parameters.  No-op without schema_dir.
 * Returns 0, or -1 with err naming path.schema_dir. */
int pf_pg_schema_merge(struct pf_pg_cfg *c, const char *path, char *err,
		       size_t errlen);

/* Frees n required tables/views and the array (postgres_schema.c). */
void pf_pg_tables_free(struct pf_pg_table *t, size_t n);

/* Rebuilds schemas_param and names_param from tables; -1 when out of
 * memory (the old ones are kept). */
int pf_pg_cfg_params(struct pf_pg_cfg *c);


#endif
