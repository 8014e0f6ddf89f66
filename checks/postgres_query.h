/*
 * The postgres kind's pure half: the catalog query text, its parameters,
 * `expect` comparisons and the interpretation of results and libpq errors.
 * No I/O and no libpq objects here, so every rule is unit-tested directly.
 */
#ifndef PF_POSTGRES_QUERY_H
#define PF_POSTGRES_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf_check.h"

struct cJSON;

/* The one catalog query: $1 = text[] of table names, $2 = schema name.
 * Always returns at least one row (current_database, server_version, then
 * relname/attname, NULL when nothing matched). */
extern const char pf_pg_catalog_sql[];

/* A required table and its required columns (names owned by the config).
 * file and column_files say which migration introduced each object when it
 * was derived from schema_dir (SPEC §3a); they are borrowed from the
 * config's schema model and NULL for objects only written by hand. */
struct pf_pg_table {
	char *name;
	char **columns;		/* NULL-terminated */
	size_t n_columns;
	const char *file;	/* borrowed or NULL */
	const char **column_files;	/* owned array parallel to columns, or NULL */
};

/* One row of the catalog answer: att is NULL for a table without columns. */
struct pf_pg_row {
	const char *rel;
	const char *att;
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

/* The text[] literal for $1: {"a","b"} with " and \ escaped.  malloc'd. */
char *pf_pg_text_array(const struct pf_pg_table *t, size_t n);

/* The session `options`: the user's own, then read-only transactions and a
 * statement_timeout of 90% of timeout_ms.  Returns -1 when it does not fit. */
int pf_pg_session_options(const char *user_opts, uint64_t timeout_ms,
			  char *buf, size_t len);

/* Compares the catalog rows with the required tables.  Adds
 * "missing_tables" (array) and "missing_columns" (object table -> array)
 * to details, and when some table was derived from migrations,
 * "introduced_by" (object "t" or "t.c" -> file, missing derived objects
 * only).  Writes "missing tables: a (001_a.sql); missing columns: t.c" into
 * err (objects ordered by file, earliest first; a list too long for err
 * ends in "and N more") and the number of missing objects into *missing.
 * Returns PF_REASON_NONE, PF_REASON_MISSING_TABLE (any table missing) or
 * PF_REASON_MISSING_COLUMN.  PF_REASON_INTERNAL when out of memory. */
enum pf_reason pf_pg_schema_eval(const struct pf_pg_table *t, size_t nt,
				 const struct pf_pg_row *rows, size_t nrows,
				 struct cJSON *details, char *err, size_t errlen,
				 unsigned *missing);

/* The hint for missing tables/columns of database db: run the migrations,
 * naming the files of details' "introduced_by" when there are some
 * ("... up to and including 014_x.sql ...").  details may be NULL. */
void pf_pg_migration_hint(const char *db, const struct cJSON *details,
			  char *h, size_t n);

/* Judges one assertion's answer (ntuples x nfields, val NULL for SQL NULL)
 * and appends {name, value, expect, pass} to the array `out`.  Returns 0 on
 * a pass; else -1 with err saying why ("assertion x returned 3, expected
 * == 0", "assertion x must return one row with one number, got 2 rows"). */
int pf_pg_assert_eval(const char *name, const char *expect_text,
		      const struct pf_pg_expect *e, int ntuples, int nfields,
		      const char *val, struct cJSON *out, char *err,
		      size_t errlen);

/* Reason for a failed connection, from libpq's message. */
enum pf_reason pf_pg_classify_connect(const char *msg);
/* Reason for an error result, from its SQLSTATE; fallback when unknown. */
enum pf_reason pf_pg_classify_sqlstate(const char *state,
				       enum pf_reason fallback);

/* Copies a libpq message into dst on one line ("FATAL:  x\nDETAIL: y\n" ->
 * "FATAL: x; DETAIL: y") and masks every occurrence of secret with ***. */
void pf_pg_clean_message(char *dst, size_t len, const char *msg,
			 const char *secret);

#define PF_PG_SCRUB_MIN 4

/* Masks every occurrence of secret (PF_PG_SCRUB_MIN bytes or longer) in s
 * with "***"; a text that fills the buffer also loses a trailing prefix of
 * the secret. */
void pf_pg_scrub(char *s, size_t len, const char *secret);

#endif
