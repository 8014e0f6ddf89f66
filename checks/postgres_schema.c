/*
 * The postgres check's schema_dir (SPEC §3a): at config parse, derives the
 * required tables and columns from the migration files and merges them with
 * the hand-written `tables`, each derived object keeping the file that
 * introduced it.  Owns nothing beyond what it stores in struct pf_pg_cfg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_check.h"
#include "pf_schema.h"
#include "postgres.h"

/* Frees a table array built here (file strings are borrowed). */
static void tables_free(struct pf_pg_table *t, size_t n)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(t[i].name);
		for (size_t j = 0; j < t[i].n_columns; j++)
			free(t[i].columns[j]);
		free(t[i].columns);
		free(t[i].column_files);
	}
	free(t);
}

static const struct pf_pg_table *find_hand(const struct pf_pg_cfg *c,
					   const char *name)
{
	for (size_t i = 0; i < c->n_tables; i++)
		if (c->tables[i].name && strcmp(c->tables[i].name, name) == 0)
			return &c->tables[i];
	return NULL;
}

static bool has_column(const struct pf_pg_table *t, const char *name)
{
	for (size_t j = 0; j < t->n_columns; j++)
		if (strcmp(t->columns[j], name) == 0)
			return true;
	return false;
}

/* Appends a column; the arrays were sized by the caller. */
static int add_column(struct pf_pg_table *t, const char *name,
		      const char *file)
{
	if ((t->columns[t->n_columns] = strdup(name)) == NULL)
		return -1;
	t->column_files[t->n_columns++] = file;
	return 0;
}

/* Builds required table i of the model into out: its derived columns,
 * then the hand-listed ones it lacks.  A table whose columns come from a
 * query or a type (columns_unknown) requires only the hand-listed ones. */
static int derive_table(struct pf_pg_cfg *c, size_t i, struct pf_pg_table *out)
{
	struct pf_schema_item it, col;

	pf_schema_table_at(c->model, i, &it);
	const struct pf_pg_table *hand = find_hand(c, it.name);
	size_t nd = it.columns_unknown ? 0 : it.columns;
	size_t cap = nd + (hand ? hand->n_columns : 0);

	out->file = it.file;
	if ((out->name = strdup(it.name)) == NULL ||
	    (out->columns = calloc(cap + 1, sizeof *out->columns)) == NULL ||
	    (out->column_files = calloc(cap + 1, sizeof *out->column_files)) ==
	    NULL)
		return -1;
	for (size_t j = 0; j < nd && pf_schema_column_at(c->model, i, j, &col);
	     j++) {
		if (add_column(out, col.name, col.file) != 0)
			return -1;
	}
	c->derived_columns += out->n_columns;
	for (size_t j = 0; hand && j < hand->n_columns; j++) {
		const char *name = hand->columns[j];
		if (has_column(out, name))
			continue;
		/* The model may still know it (a name listed in CREATE TABLE
		 * t (a, b) AS): then the error can name its file too. */
		if (add_column(out, name, pf_schema_column_file(c->model,
								it.name,
								name)) != 0)
			return -1;
	}
	return 0;
}

/* Derived tables first, in creation order, then the hand-written tables
 * the migrations do not create, moved over as they are. */
static int merge(struct pf_pg_cfg *c, struct pf_pg_table **out, size_t *n_out)
{
	size_t nd = pf_schema_table_count(c->model), n = 0;
	struct pf_pg_table *t = calloc(nd + c->n_tables + 1, sizeof *t);

	if (t == NULL)
		return -1;
	for (; n < nd; n++) {
		if (derive_table(c, n, &t[n]) != 0) {
			tables_free(t, n + 1);
			return -1;
		}
	}
	c->derived_tables = nd;
	for (size_t h = 0; h < c->n_tables; h++) {
		if (pf_schema_table_file(c->model, c->tables[h].name) != NULL)
			continue;
		t[n++] = c->tables[h];
		memset(&c->tables[h], 0, sizeof c->tables[h]);
	}
	*out = t;
	*n_out = n;
	return 0;
}

int pf_pg_schema_merge(struct pf_pg_cfg *c, const char *path, char *err,
		       size_t errlen)
{
	char msg[PF_ERROR_MAX];
	struct pf_pg_table *t = NULL;
	size_t n = 0;

	if (c->schema_dir == NULL)
		return 0;
	if (pf_schema_load_dir(c->schema_dir, c->schema, &c->model, msg,
			       sizeof msg) != 0) {
		snprintf(err, errlen, "%s.schema_dir: %s", path, msg);
		return -1;
	}
	/* A folder that creates nothing would make the check require nothing
	 * and pass forever: most likely the wrong folder or schema. */
	if (pf_schema_table_count(c->model) == 0) {
		snprintf(err, errlen, "%s.schema_dir: %s: the migrations create"
			 " no table in schema %s (wrong folder, or a \"schema\""
			 " other than the one they use?)", path, c->schema_dir,
			 c->schema);
		return -1;
	}
	char *param = NULL;
	if (merge(c, &t, &n) != 0 ||
	    (param = pf_pg_text_array(t, n)) == NULL) {
		/* On a failed text array the hand tables already moved to t,
		 * which frees them; c->tables keeps only emptied entries. */
		tables_free(t, n);
		snprintf(err, errlen, "%s.schema_dir: out of memory", path);
		return -1;
	}
	tables_free(c->tables, c->n_tables);
	free(c->tables_param);
	c->tables = t;
	c->n_tables = n;
	c->tables_param = param;
	return 0;
}
