/*
 * Internal to the schema model: the storage of derived tables and views
 * (schema_model.c) that the DDL reader (schema_ddl.c, schema_alter.c)
 * edits.  Every relation lives in a named schema; callers outside the
 * model use include/pf_schema.h.
 */
#ifndef PF_SCHEMA_MODEL_H
#define PF_SCHEMA_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "pf_schema.h"
#include "sql_lexer.h"

/* Inheritance chains and view dependencies deeper than this are not
 * followed (bounds work on hostile input; real schemas are a few levels
 * deep). */
#define PF_SCHEMA_MAX_DEPTH 32

/* Bounds that keep hostile input from taking minutes or gigabytes: the
 * server's own column limit, a relation count far above real schemas, and
 * a budget of name comparisons (lookups are linear scans; a real migration
 * history of a few hundred tables uses well under 1% of it). */
#define PF_SCHEMA_MAX_COLUMNS 1600
#define PF_SCHEMA_MAX_RELATIONS 20000
#define PF_SCHEMA_MAX_DEPS 256
#define PF_SCHEMA_MAX_WORK 300000000ULL
/* SET search_path entries kept (the server has no limit; 8 is plenty). */
#define PF_SCHEMA_MAX_PATH 8

typedef char pf_name[PF_SQL_NAME_MAX + 1];

struct pf_schema_col {
	char *name;		/* owned */
	const char *file;	/* borrowed from pf_schema.files */
};

/* A relation's place: its schema and name (both owned by whoever holds
 * the ref). */
struct pf_schema_ref {
	char *schema;
	char *name;
};

/* A table or a view. */
struct pf_schema_rel {
	struct pf_schema_ref id;	/* owned */
	const char *file;		/* borrowed from pf_schema.files */
	struct pf_schema_ref parent;	/* owned; PARTITION OF / INHERITS, or NULLs */
	struct pf_schema_col *cols;	/* owned array of ncols (tables only) */
	size_t ncols, cap;
	/* views: owned, the relations the view's query reads, so that DROP
	 * ... CASCADE takes the view along as the server does */
	struct pf_schema_ref *deps;
	size_t ndeps;
	bool materialized;
	bool columns_unknown;
	unsigned long long *work;	/* borrowed: pf_schema.work */
};

struct pf_schema_list {
	struct pf_schema_rel *v;	/* owned array of n */
	size_t n, cap;
	unsigned long long *work;	/* borrowed: pf_schema.work */
};

struct pf_schema {
	char *default_schema;		/* owned: where unqualified names go */
	struct pf_schema_list tables;
	struct pf_schema_list views;
	/* Relations dropped by the file being read: one that the same file
	 * creates again keeps the file (and columns their files) it had, since
	 * the object existed all along for a database migrated past it. */
	struct pf_schema_list dropped;
	char **files;			/* owned: every file name applied */
	size_t nfiles, capfiles;
	/* the file being read's search_path (SET search_path), reset to the
	 * default schema at the start of every file */
	pf_name path[PF_SCHEMA_MAX_PATH];
	size_t npath;
	unsigned long long work;	/* comparisons spent, see MAX_WORK */
};

bool pf_ref_is(const struct pf_schema_ref *r, const char *schema,
	       const char *name);
/* Index of (schema, name) in list, or -1. */
long pf_schema_find(const struct pf_schema_list *l, const char *schema,
		    const char *name);
/* Appends a relation (names copied); NULL when out of memory or at
 * PF_SCHEMA_MAX_RELATIONS (then work is set past the budget). */
struct pf_schema_rel *pf_schema_add_rel(struct pf_schema_list *l,
					const char *schema, const char *name,
					const char *file);
/* Removes entry i, releasing what it owns. */
void pf_schema_remove_rel(struct pf_schema_list *l, size_t i);
/* Moves entry i of from to the end of to (false when out of memory: then
 * the entry is released instead). */
bool pf_schema_move_rel(struct pf_schema_list *from, size_t i,
			struct pf_schema_list *to);
void pf_schema_list_clear(struct pf_schema_list *l);
/* Column index in rel, or -1. */
long pf_schema_find_col(const struct pf_schema_rel *r, const char *name);
/* Appends a column unless present; false when out of memory or at
 * PF_SCHEMA_MAX_COLUMNS (then work is set past the budget). */
bool pf_schema_add_col(struct pf_schema_rel *r, const char *name,
		       const char *file);
void pf_schema_drop_col(struct pf_schema_rel *r, const char *name);
/* Appends a dependency of view r (copied, duplicates ignored). */
bool pf_schema_add_dep(struct pf_schema_rel *r, const char *schema,
		       const char *name);
void pf_schema_clear_deps(struct pf_schema_rel *r);
/* Replaces *slot with a copy of value; false when out of memory. */
bool pf_schema_set_str(char **slot, const char *value);
bool pf_schema_set_ref(struct pf_schema_ref *ref, const char *schema,
		       const char *name);

/* The one copy of a file name objects point at; NULL when out of memory. */
const char *pf_schema_intern_file(struct pf_schema *s, const char *file);

/* Reads one file's statements into s (schema_ddl.c); false when out of
 * memory or over budget (s->work > PF_SCHEMA_MAX_WORK). */
bool pf_schema_read_sql(struct pf_schema *s, const char *file,
			const char *sql, size_t len);

#endif
