/*
 * The derived schema's storage and public API (include/pf_schema.h):
 * ordered lists of tables (with ordered columns) and views, each entry
 * pointing at the interned name of the file that introduced it.  The DDL
 * reader that fills it lives in schema_ddl.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_model.h"

bool pf_schema_set_str(char **slot, const char *value)
{
	char *copy = value ? strdup(value) : NULL;
	if (value && !copy)
		return false;
	free(*slot);
	*slot = copy;
	return true;
}

struct pf_schema *pf_schema_new(const char *target)
{
	struct pf_schema *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tables.work = &s->work;
	s->views.work = &s->work;
	s->target = strdup(target && *target ? target : "public");
	if (!s->target) {
		free(s);
		return NULL;
	}
	return s;
}

static void rel_release(struct pf_schema_rel *r)
{
	for (size_t i = 0; i < r->ncols; i++)
		free(r->cols[i].name);
	free(r->cols);
	free(r->name);
	free(r->parent);
}

static void list_release(struct pf_schema_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		rel_release(&l->v[i]);
	free(l->v);
}

void pf_schema_free(struct pf_schema *s)
{
	if (!s)
		return;
	list_release(&s->tables);
	list_release(&s->views);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->target);
	free(s);
}

const char *pf_schema_target(const struct pf_schema *s)
{
	return s->target;
}

long pf_schema_find(const struct pf_schema_list *l, const char *name)
{
	*l->work += l->n + 1;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Grows an array of elem-sized items to hold one more; false on OOM. */
static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

struct pf_schema_rel *pf_schema_add_rel(struct pf_schema_list *l,
					const char *name, const char *file)
{
	void *arr = l->v;
	if (l->n >= PF_SCHEMA_MAX_RELATIONS) {
		*l->work = PF_SCHEMA_MAX_WORK + 1;
		return NULL;
	}
	if (!grow(&arr, &l->cap, l->n, sizeof(*l->v)))
		return NULL;
	l->v = arr;
	struct pf_schema_rel *r = &l->v[l->n];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	if (!r->name)
		return NULL;
	r->file = file;
	r->work = l->work;
	l->n++;
	return r;
}

void pf_schema_remove_rel(struct pf_schema_list *l, size_t i)
{
	if (i >= l->n)
		return;
	rel_release(&l->v[i]);
	memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

long pf_schema_find_col(const struct pf_schema_rel *r, const char *name)
{
	*r->work += r->ncols + 1;
	for (size_t i = 0; i < r->ncols; i++)
		if (strcmp(r->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

bool pf_schema_add_col(struct pf_schema_rel *r, const char *name,
		       const char *file)
{
	if (r->ncols >= PF_SCHEMA_MAX_COLUMNS) {
		*r->work = PF_SCHEMA_MAX_WORK + 1;
		return false;
	}
	if (pf_schema_find_col(r, name) >= 0)
		return true;
	void *arr = r->cols;
	if (!grow(&arr, &r->cap, r->ncols, sizeof(*r->cols)))
		return false;
	r->cols = arr;
	char *copy = strdup(name);
	if (!copy)
		return false;
	r->cols[r->ncols].name = copy;
	r->cols[r->ncols].file = file;
	r->ncols++;
	return true;
}

void pf_schema_drop_col(struct pf_schema_rel *r, const char *name)
{
	long i = pf_schema_find_col(r, name);
	if (i < 0)
		return;
	free(r->cols[i].name);
	memmove(&r->cols[i], &r->cols[i + 1],
		(r->ncols - (size_t)i - 1) * sizeof(*r->cols));
	r->ncols--;
}

/* Keeps one copy of each file name; objects point at it. */
static const char *intern_file(struct pf_schema *s, const char *file)
{
	for (size_t i = s->nfiles; i > 0; i--)
		if (strcmp(s->files[i - 1], file) == 0)
			return s->files[i - 1];
	void *arr = s->files;
	if (!grow(&arr, &s->capfiles, s->nfiles, sizeof(*s->files)))
		return NULL;
	s->files = arr;
	char *copy = strdup(file);
	if (!copy)
		return NULL;
	s->files[s->nfiles++] = copy;
	return copy;
}

int pf_schema_apply(struct pf_schema *s, const char *file, const char *sql,
		    size_t len, char *err, size_t errlen)
{
	const char *f = intern_file(s, file ? file : "");
	if (f && pf_schema_read_sql(s, f, sql, len))
		return 0;
	if (s->work > PF_SCHEMA_MAX_WORK)
		snprintf(err, errlen, "%s: too many tables or columns to model "
			 "(limits: %d tables and views, %d columns a table); is "
			 "this a folder of schema migrations?", file ? file : "",
			 PF_SCHEMA_MAX_RELATIONS, PF_SCHEMA_MAX_COLUMNS);
	else
		snprintf(err, errlen, "%s: out of memory reading migrations",
			 file ? file : "");
	return -1;
}

static void fill_item(const struct pf_schema_rel *r,
		      struct pf_schema_item *out)
{
	out->name = r->name;
	out->file = r->file;
	out->columns = r->ncols;
	out->materialized = r->materialized;
	out->columns_unknown = r->columns_unknown;
}

size_t pf_schema_table_count(const struct pf_schema *s)
{
	return s->tables.n;
}

bool pf_schema_table_at(const struct pf_schema *s, size_t t,
			struct pf_schema_item *out)
{
	if (t >= s->tables.n)
		return false;
	fill_item(&s->tables.v[t], out);
	return true;
}

bool pf_schema_column_at(const struct pf_schema *s, size_t t, size_t c,
			 struct pf_schema_item *out)
{
	if (t >= s->tables.n || c >= s->tables.v[t].ncols)
		return false;
	memset(out, 0, sizeof(*out));
	out->name = s->tables.v[t].cols[c].name;
	out->file = s->tables.v[t].cols[c].file;
	return true;
}

size_t pf_schema_view_count(const struct pf_schema *s)
{
	return s->views.n;
}

bool pf_schema_view_at(const struct pf_schema *s, size_t v,
		       struct pf_schema_item *out)
{
	if (v >= s->views.n)
		return false;
	fill_item(&s->views.v[v], out);
	return true;
}

const char *pf_schema_table_file(const struct pf_schema *s, const char *table)
{
	long i = pf_schema_find(&s->tables, table);
	return i < 0 ? NULL : s->tables.v[i].file;
}

const char *pf_schema_column_file(const struct pf_schema *s, const char *table,
				  const char *column)
{
	long i = pf_schema_find(&s->tables, table);
	if (i < 0)
		return NULL;
	long c = pf_schema_find_col(&s->tables.v[i], column);
	return c < 0 ? NULL : s->tables.v[i].cols[c].file;
}
