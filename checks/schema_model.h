/*
 * Internal to the schema model: the storage of derived tables and views
 * (schema_model.c) that the DDL reader (schema_ddl.c) edits.  Callers
 * outside checks/ use include/pf_schema.h.
 */
#ifndef PF_SCHEMA_MODEL_H
#define PF_SCHEMA_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "pf_schema.h"

/* Inheritance chains deeper than this are not followed (bounds work on
 * hostile input; real schemas are a few levels deep). */
#define PF_SCHEMA_MAX_DEPTH 32

/* Bounds that keep hostile input from taking minutes or gigabytes: the
 * server's own column limit, a relation count far above real schemas, and
 * a budget of name comparisons (lookups are linear scans; a real migration
 * history of a few hundred tables uses well under 1% of it). */
#define PF_SCHEMA_MAX_COLUMNS 1600
#define PF_SCHEMA_MAX_RELATIONS 20000
#define PF_SCHEMA_MAX_WORK 300000000ULL

struct pf_schema_col {
	char *name;		/* owned */
	const char *file;	/* borrowed from pf_schema.files */
};

/* A table or a view. */
struct pf_schema_rel {
	char *name;		/* owned */
	const char *file;	/* borrowed from pf_schema.files */
	char *parent;		/* owned; PARTITION OF / INHERITS parent or NULL */
	struct pf_schema_col *cols;	/* owned array of ncols (tables only) */
	size_t ncols, cap;
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
	char *target;			/* owned: the schema modelled */
	struct pf_schema_list tables;
	struct pf_schema_list views;
	char **files;			/* owned: every file name applied */
	size_t nfiles, capfiles;
	unsigned long long work;	/* comparisons spent, see MAX_WORK */
};

/* Index of name in list, or -1. */
long pf_schema_find(const struct pf_schema_list *l, const char *name);
/* Appends a relation (name copied); NULL when out of memory or at
 * PF_SCHEMA_MAX_RELATIONS (then work is set past the budget). */
struct pf_schema_rel *pf_schema_add_rel(struct pf_schema_list *l,
					const char *name, const char *file);
/* Removes entry i, releasing what it owns. */
void pf_schema_remove_rel(struct pf_schema_list *l, size_t i);
/* Column index in rel, or -1. */
long pf_schema_find_col(const struct pf_schema_rel *r, const char *name);
/* Appends a column unless present; false when out of memory or at
 * PF_SCHEMA_MAX_COLUMNS (then work is set past the budget). */
bool pf_schema_add_col(struct pf_schema_rel *r, const char *name,
		       const char *file);
void pf_schema_drop_col(struct pf_schema_rel *r, const char *name);
/* Replaces *slot with a copy of value; false when out of memory. */
bool pf_schema_set_str(char **slot, const char *value);

/* Reads one file's statements into s (schema_ddl.c); false when out of
 * memory or over budget (s->work > PF_SCHEMA_MAX_WORK). */
bool pf_schema_read_sql(struct pf_schema *s, const char *file,
			const char *sql, size_t len);

#endif
