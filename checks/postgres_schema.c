/*
 * The postgres check's schema_dir (SPEC §3a): at config parse, derives the
 * required tables and columns (and views, when asked for) from the
 * migration files and merges them with the hand-written `tables` and
 * `views`, each derived object keeping its schema and the file that
 * introduced it.  Owns nothing beyond what it stores in struct pf_pg_cfg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_check.h"
#include "pf_schema.h"
#include "postgres.h"

void pf_pg_tables_free(struct pf_pg_table *t, size_t n)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(t[i].schema);
		free(t[i].name);
		for (size_t j = 0; t[i].columns && j < t[i].n_columns; j++)
			free(t[i].columns[j]);
		free(t[i].columns);
		free(t[i].column_files);
	}
	free(t);
}

/* The schema a hand-written entry names: its own, else the check's. */
static const char *schema_of(const struct pf_pg_cfg *c, const struct pf_pg_table *t)
{
	return t->schema ? t->schema : c->schema;
}

static const struct pf_pg_table *find_hand(const struct pf_pg_cfg *c,
					   const char *schema, const char *name,
					   bool view)
{
	for (size_t i = 0; i < c->rels.n; i++) {
		const struct pf_pg_table *t = &c->rels.v[i];
		if (t->name && t->view == view && strcmp(t->name, name) == 0 &&
		    strcmp(schema_of(c, t), schema) == 0)
			return t;
	}
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

/* The entry's schema: NULL for the check's own (the common case), so the
 * catalog parameters and messages stay short. */
static int set_schema(const struct pf_pg_cfg *c, struct pf_pg_table *out,
		      const char *schema)
{
	if (strcmp(schema, c->schema) == 0)
		return 0;
	return (out->schema = strdup(schema)) ? 0 : -1;
}

/* Builds required table i of the model into out: its derived columns,
 * then the hand-listed ones it lacks.  A table whose columns come from a
 * query or a type (columns_unknown) requires only the hand-listed ones. */
static int derive_table(struct pf_pg_cfg *c, size_t i, struct pf_pg_table *out)
{
	struct pf_schema_item it, col;

	pf_schema_table_at(c->model, i, &it);
	const struct pf_pg_table *hand = find_hand(c, it.schema, it.name, false);
	size_t nd = it.columns_unknown ? 0 : it.columns;
	size_t cap = nd + (hand ? hand->n_columns : 0);

	out->file = it.file;
	if (set_schema(c, out, it.schema) != 0 ||
	    (out->name = strdup(it.name)) == NULL ||
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
		if (add_column(out, name, pf_schema_column_file(
				c->model, it.schema, it.name, name)) != 0)
			return -1;
	}
	return 0;
}

/* View v of the model as a required relation, when require_views asks
 * for every view or `views` lists it (0: not required). */
static int derive_view(struct pf_pg_cfg *c, size_t v, struct pf_pg_table *out,
		       bool *taken)
{
	struct pf_schema_item it;

	pf_schema_view_at(c->model, v, &it);
	*taken = c->require_views || find_hand(c, it.schema, it.name, true);
	if (!*taken)
		return 0;
	out->view = true;
	out->file = it.file;
	if (set_schema(c, out, it.schema) != 0 ||
	    (out->name = strdup(it.name)) == NULL ||
	    (out->columns = calloc(1, sizeof *out->columns)) == NULL)
		return -1;
	return 0;
}

/* Whether the model knows the hand-written entry (it was merged above). */
static bool derived(const struct pf_pg_cfg *c, const struct pf_pg_table *t)
{
	const char *s = schema_of(c, t);

	return t->view ? pf_schema_view_file(c->model, s, t->name) != NULL
		       : pf_schema_table_file(c->model, s, t->name) != NULL;
}

/* Derived tables first, in creation order, then the required views, then
 * the hand-written entries the migrations do not create, moved over as
 * they are. */
static int merge(struct pf_pg_cfg *c, struct pf_pg_table **out, size_t *n_out)
{
	size_t nt = pf_schema_table_count(c->model);
	size_t nv = pf_schema_view_count(c->model), n = 0;
	struct pf_pg_table *t = calloc(nt + nv + c->rels.n + 1, sizeof *t);
	bool taken;

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < nt; i++, n++)
		if (derive_table(c, i, &t[n]) != 0)
			goto fail;
	c->derived_tables = nt;
	for (size_t v = 0; v < nv; v++) {
		if (derive_view(c, v, &t[n], &taken) != 0) {
			n++;
			goto fail;
		}
		n += taken;
	}
	for (size_t h = 0; h < c->rels.n; h++) {
		if (derived(c, &c->rels.v[h]))
			continue;
		t[n++] = c->rels.v[h];
		memset(&c->rels.v[h], 0, sizeof c->rels.v[h]);
	}
	*out = t;
	*n_out = n;
	return 0;
fail:
	pf_pg_tables_free(t, n + 1);
	return -1;
}

int pf_pg_schema_merge(struct pf_pg_cfg *c, const char *path, char *err,
		       size_t errlen)
{
	char msg[PF_ERROR_MAX];
	struct pf_pg_table *t = NULL;
	size_t n = 0;

	if (c->schema_dir == NULL)
		return 0;
	if (pf_schema_load(c->schema_dir, c->schema, &c->model, msg,
			   sizeof msg) != 0) {
		snprintf(err, errlen, "%s.schema_dir: %s", path, msg);
		return -1;
	}
	/* A folder that creates nothing would make the check require nothing
	 * and pass forever: most likely the wrong folder. */
	if (pf_schema_table_count(c->model) == 0) {
		snprintf(err, errlen, "%s.schema_dir: %s: the migrations create"
			 " no table (wrong folder?)", path, c->schema_dir);
		return -1;
	}
	if (merge(c, &t, &n) != 0) {
		snprintf(err, errlen, "%s.schema_dir: out of memory", path);
		return -1;
	}
	pf_pg_tables_free(c->rels.v, c->rels.n);
	c->rels.v = t;
	c->rels.n = n;
	return 0;
}
