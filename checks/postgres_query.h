/*
 * The postgres kind's pure half: the catalog query and its parameters,
 * `expect` comparisons and assertion verdicts (postgres_query.c), the
 * schema verdict and migration hint (postgres_verdict.c), and what a
 * server or libpq error means (postgres_error.c).  No I/O and no libpq
 * objects here, so every rule is unit-tested directly.
 */
#ifndef PF_POSTGRES_QUERY_H
#define PF_POSTGRES_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf_check.h"

struct cJSON;

/* The one catalog query: $1 = text[] of schema names, $2 = text[] of
 * relation names (parallel).  Always returns at least one row:
 * current_database, server_version, pg_is_in_recovery, then nspname,
 * relname, attname, relkind (NULL when nothing matched; attname NULL for
 * a relation without columns). */
extern const char pf_pg_catalog_sql[];

/* A required table or view and its required columns (names owned by the
 * config).  file and column_files say which migration introduced each
 * object when it was derived from schema_dir (SPEC §3a); they are
 * borrowed from the config's schema model and NULL for objects only
 * written by hand. */
struct pf_pg_table {
	char *schema;		/* owned; NULL: the check's `schema` */
	char *name;
	char **columns;		/* NULL-terminated; views: none */
	size_t n_columns;
	bool view;		/* a view or materialized view: must exist */
	const char *file;	/* borrowed or NULL */
	const char **column_files;	/* owned array parallel to columns, or NULL */
};

/* One row of the catalog answer: att is NULL for a relation without
 * columns. */
struct pf_pg_row {
	const char *nsp;
	const char *rel;
	const char *att;
	char kind;		/* pg_class.relkind: r p f (tables), v m (views) */
};

enum pf_pg_op { PF_PG_EQ, PF_PG_NE, PF_PG_LT, PF_PG_LE, PF_PG_GT, PF_PG_GE };

struct pf_pg_expect {
	enum pf_pg_op op;
	double value;
};

/* "== 0", "< 100", ">= 1", "!=3" (a lone "=" means "=="): 0, else -1. */
int pf_pg_expect_parse(const char *s, struct pf_pg_expect *out);
bool pf_pg_expect_eval(const struct pf_pg_expect *e, double v);

/* A PostgreSQL text value that is a finite number ("12", "-1.5e3"). */
int pf_pg_number(const char *text, double *out);

/* The text[] literals for $1 (schemas; NULL ones become def) and $2
 * (names): {"a","b"} with " and \ escaped.  malloc'd; -1 when out of
 * memory (nothing allocated). */
int pf_pg_text_arrays(const struct pf_pg_table *t, size_t n, const char *def,
		      char **schemas, char **names);

/* The session `options`: the user's own, then read-only transactions and a
 * statement_timeout of 90% of timeout_ms.  Returns -1 when it does not fit. */
int pf_pg_session_options(const char *user_opts, uint64_t timeout_ms,
			  char *buf, size_t len);

/* "t" in schema def, else "s.t", into buf. */
const char *pf_pg_qualified(const struct pf_pg_table *t, const char *def,
			    char *buf, size_t len);

/* Compares the catalog rows with the required tables and views (def: the
 * check's schema).  Adds "missing_tables" (array), "missing_views"
 * (array) and "missing_columns" (object table -> array) to details, and
 * when some object was derived from migrations, "introduced_by" (object
 * "t" or "t.c" -> file, missing derived objects only).  Writes "missing
 * tables: a (001_a.sql); missing columns: t.c" into err (objects ordered
 * by file, earliest first; a list too long for err ends in "and N more")
 * and the number of missing objects into *missing.  Returns
 * PF_REASON_NONE, PF_REASON_MISSING_TABLE (a table or view missing) or
 * PF_REASON_MISSING_COLUMN; PF_REASON_INTERNAL when out of memory. */
enum pf_reason pf_pg_schema_eval(const struct pf_pg_table *t, size_t nt,
				 const char *def, const struct pf_pg_row *rows,
				 size_t nrows, struct cJSON *details, char *err,
				 size_t errlen, unsigned *missing);

/* The span of migration files to run for a missing_* verdict, as the
 * hint rule's {span}: "" when details name no files, " from F" when the
 * folder's last file (last; NULL: unknown) is F, else " from F through
 * LAST (the folder's last file; the missing objects come from F[ to G])". */
void pf_pg_migration_span(const struct cJSON *details, const char *last,
			  char *h, size_t n);

/* Judges one assertion's answer (ntuples x nfields, val NULL for SQL NULL)
 * and appends {name, value, expect, pass} to the array `out`.  Returns 0 on
 * a pass; else -1 with err saying why ("assertion x returned 3, expected
 * == 0", "assertion x must return one row with one number, got 2 rows"). */
int pf_pg_assert_eval(const char *name, const char *expect_text,
		      const struct pf_pg_expect *e, int ntuples, int nfields,
		      const char *val, struct cJSON *out, char *err,
		      size_t errlen);

/* ---- errors (postgres_error.c) ---- */

/* The SQLSTATE a verbose libpq message carries ("...FATAL:  28P01:
 * password ...", as PQERRORS_VERBOSE formats server errors) into
 * state[6]; false when the message has none (libpq's own errors). */
bool pf_pg_message_sqlstate(const char *msg, char state[6]);
/* Reason for a failed connection: from the server's SQLSTATE when the
 * message carries one (never from its text, which a localized server
 * translates), else from libpq's own message, which is always English
 * (the daemon never calls setlocale). */
enum pf_reason pf_pg_classify_connect(const char *msg);
/* Reason for an error result, from its SQLSTATE; fallback when unknown. */
enum pf_reason pf_pg_classify_sqlstate(const char *state,
				       enum pf_reason fallback);

/* Copies a libpq message into dst on one line ("FATAL: x\nDETAIL: y\n" ->
 * "FATAL: x; DETAIL: y"), without verbose LOCATION lines, and masks every
 * occurrence of secret with ***. */
void pf_pg_clean_message(char *dst, size_t len, const char *msg,
			 const char *secret);

#endif
