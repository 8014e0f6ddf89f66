/*
 * The schema derived from migration files (SPEC §3a): tables with their
 * columns in order, views and materialized views, each in the schema its
 * DDL names (unqualified names in the default schema or the file's
 * search_path), each object remembering the file that introduced it.
 * docs/schema.md documents which statements are modelled and how.
 */
#ifndef PF_SCHEMA_H
#define PF_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cJSON;
struct pf_schema;

/* Bounds on what pf_schema_load reads. */
#define PF_SCHEMA_MAX_FILES 10000
#define PF_SCHEMA_MAX_FILE_BYTES (8u * 1024 * 1024)
#define PF_SCHEMA_MAX_TOTAL_BYTES (64u * 1024 * 1024)

/* One table, view or column as the caller sees it.  The strings belong to
 * the schema and live until pf_schema_free(). */
struct pf_schema_item {
	const char *schema;	/* tables and views: their schema */
	const char *name;
	const char *file;	/* file that introduced it ("011_x.sql") */
	size_t columns;		/* tables: number of columns */
	bool materialized;	/* views: MATERIALIZED VIEW */
	bool columns_unknown;	/* tables: CREATE TABLE ... AS / OF type */
};

/* An empty model whose unqualified names go to schema default_schema
 * ("public" when NULL).  NULL only when out of memory. */
struct pf_schema *pf_schema_new(const char *default_schema);
void pf_schema_free(struct pf_schema *s);
const char *pf_schema_default(const struct pf_schema *s);
/* The last file applied (in a folder: its lexically last .sql file). */
const char *pf_schema_last_file(const struct pf_schema *s);
size_t pf_schema_file_count(const struct pf_schema *s);

/* Applies one migration file's text, in order.  `file` is the name to
 * attribute objects to (copied).  Statements it does not model are
 * skipped; returns 0, or -1 only when out of memory (err filled). */
int pf_schema_apply(struct pf_schema *s, const char *file, const char *sql,
		    size_t len, char *err, size_t errlen);

/* Reads path: a folder's *.sql files (regular files, not hidden) in
 * byte-wise lexical order, or one file (a `pg_dump -s` dump), and applies
 * them.  Returns 0 and a new schema in *out, or -1 with a message naming
 * the folder or file (unreadable, no .sql file, oversized file). */
int pf_schema_load(const char *path, const char *default_schema,
		   struct pf_schema **out, char *err, size_t errlen);

/* Iteration, in the order the objects appear in the derived schema
 * (tables in creation order, columns in their table's column order).
 * Each returns false when the index is out of range. */
size_t pf_schema_table_count(const struct pf_schema *s);
bool pf_schema_table_at(const struct pf_schema *s, size_t t,
			struct pf_schema_item *out);
bool pf_schema_column_at(const struct pf_schema *s, size_t t, size_t c,
			 struct pf_schema_item *out);
size_t pf_schema_view_count(const struct pf_schema *s);
bool pf_schema_view_at(const struct pf_schema *s, size_t v,
		       struct pf_schema_item *out);

/* Look-ups by schema and name: the introducing file, or NULL if not in
 * the model. */
const char *pf_schema_table_file(const struct pf_schema *s, const char *schema,
				 const char *table);
const char *pf_schema_column_file(const struct pf_schema *s, const char *schema,
				  const char *table, const char *column);
const char *pf_schema_view_file(const struct pf_schema *s, const char *schema,
				const char *view);

/* The derived schema as printed by `preflightd schema` (docs/schema.md):
 * {"default_schema": "public", "files": N, "last_file": "...",
 *  "summary": {"public": {"tables": T, "columns": C, "views": V,
 *  "materialized_views": M}, ...},
 *  "tables": {"t": {"schema", "file", "columns": {"c": file}}, "s.t": ...},
 *  "views": {"v": {"schema", "file", "materialized": bool}, ...}} with
 * names qualified ("s.t") outside the default schema.  The caller frees
 * it with cJSON_Delete; NULL when out of memory. */
struct cJSON *pf_schema_to_json(const struct pf_schema *s);

/* `preflightd schema [--schema S] PATH`: prints the schema derived from
 * PATH (a folder or one dump file) as JSON on out; errors go to err.
 * Returns the exit status: 0, or 2 when PATH or a file cannot be read. */
int pf_schema_main(const char *path, const char *default_schema, FILE *out,
		   FILE *err);

#endif
