/*
 * The derived schema's storage and public API (include/pf_schema.h):
 * ordered lists of tables (with ordered columns) and views, each entry in
 * a named schema and pointing at the interned name of the file that
 * introduced it.  The DDL reader that fills it is schema_ddl.c and
 * schema_alter.c.
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

bool pf_schema_set_ref(struct pf_schema_ref *ref, const char *schema,
		       const char *name)
{
	return pf_schema_set_str(&ref->schema, schema) &&
	       pf_schema_set_str(&ref->name, name);
}

bool pf_ref_is(const struct pf_schema_ref *r, const char *schema,
	       const char *name)
{
	return r->name && r->schema && strcmp(r->name, name) == 0 &&
	       strcmp(r->schema, schema) == 0;
}

struct pf_schema *pf_schema_new(const char *default_schema)
{
	struct pf_schema *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->tables.work = &s->work;
	s->views.work = &s->work;
	s->dropped.work = &s->work;
	s->default_schema = strdup(default_schema && *default_schema ?
				   default_schema : "public");
	if (!s->default_schema) {
		free(s);
		return NULL;
	}
	return s;
}

static void ref_release(struct pf_schema_ref *r)
{
	free(r->schema);
	free(r->name);
	r->schema = r->name = NULL;
}

void pf_schema_clear_deps(struct pf_schema_rel *r)
{
	for (size_t i = 0; i < r->ndeps; i++)
		ref_release(&r->deps[i]);
	free(r->deps);
	r->deps = NULL;
	r->ndeps = 0;
}

static void rel_release(struct pf_schema_rel *r)
{
	for (size_t i = 0; i < r->ncols; i++)
		free(r->cols[i].name);
	free(r->cols);
	ref_release(&r->id);
	ref_release(&r->parent);
	pf_schema_clear_deps(r);
}

void pf_schema_list_clear(struct pf_schema_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		rel_release(&l->v[i]);
	l->n = 0;
}

void pf_schema_free(struct pf_schema *s)
{
	if (!s)
		return;
	pf_schema_list_clear(&s->tables);
	pf_schema_list_clear(&s->views);
	pf_schema_list_clear(&s->dropped);
	free(s->tables.v);
	free(s->views.v);
	free(s->dropped.v);
	for (size_t i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s->default_schema);
	free(s);
}

const char *pf_schema_default(const struct pf_schema *s)
{
	return s->default_schema;
}

const char *pf_schema_last_file(const struct pf_schema *s)
{
	return s->nfiles ? s->files[s->nfiles - 1] : NULL;
}

size_t pf_schema_file_count(const struct pf_schema *s)
{
	return s->nfiles;
}

long pf_schema_find(const struct pf_schema_list *l, const char *schema,
		    const char *name)
{
	*l->work += l->n + 1;
	for (size_t i = 0; i < l->n; i++)
		if (pf_ref_is(&l->v[i].id, schema, name))
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

/* A free slot at the end of l, zeroed; NULL when full or out of memory. */
static struct pf_schema_rel *new_slot(struct pf_schema_list *l)
{
	void *arr = l->v;

	if (l->n >= PF_SCHEMA_MAX_RELATIONS) {
		*l->work = PF_SCHEMA_MAX_WORK + 1;
		return NULL;
	}
	if (!grow(&arr, &l->cap, l->n, sizeof(*l->v)))
		return NULL;
	l->v = arr;
	memset(&l->v[l->n], 0, sizeof(*l->v));
	return &l->v[l->n];
}

struct pf_schema_rel *pf_schema_add_rel(struct pf_schema_list *l,
					const char *schema, const char *name,
					const char *file)
{
	struct pf_schema_rel *r = new_slot(l);

	if (!r)
		return NULL;
	if (!pf_schema_set_ref(&r->id, schema, name)) {
		rel_release(r);
		return NULL;
	}
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

bool pf_schema_move_rel(struct pf_schema_list *from, size_t i,
			struct pf_schema_list *to)
{
	struct pf_schema_rel *slot;

	if (i >= from->n)
		return true;
	if (!(slot = new_slot(to))) {
		pf_schema_remove_rel(from, i);
		return false;
	}
	*slot = from->v[i];
	slot->work = to->work;
	to->n++;
	memmove(&from->v[i], &from->v[i + 1], (from->n - i - 1) * sizeof(*from->v));
	from->n--;
	return true;
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

bool pf_schema_add_dep(struct pf_schema_rel *r, const char *schema,
		       const char *name)
{
	struct pf_schema_ref *d;

	*r->work += r->ndeps + 1;
	for (size_t i = 0; i < r->ndeps; i++)
		if (pf_ref_is(&r->deps[i], schema, name))
			return true;
	if (r->ndeps >= PF_SCHEMA_MAX_DEPS)
		return true;	/* more are not followed; the view stays */
	d = realloc(r->deps, (r->ndeps + 1) * sizeof(*d));
	if (!d)
		return false;
	r->deps = d;
	memset(&d[r->ndeps], 0, sizeof(*d));
	if (!pf_schema_set_ref(&d[r->ndeps], schema, name)) {
		ref_release(&d[r->ndeps]);
		return false;
	}
	r->ndeps++;
	return true;
}

/* Keeps one copy of each file name; objects point at it. */
const char *pf_schema_intern_file(struct pf_schema *s, const char *file)
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

static void fill_item(const struct pf_schema_rel *r,
		      struct pf_schema_item *out)
{
	out->schema = r->id.schema;
	out->name = r->id.name;
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
	out->schema = s->tables.v[t].id.schema;
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

/* Look-ups are for callers outside the reader: they do not spend the
 * reader's work budget. */
static long find_quiet(const struct pf_schema_list *l, const char *schema,
		       const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (pf_ref_is(&l->v[i].id, schema, name))
			return (long)i;
	return -1;
}

const char *pf_schema_table_file(const struct pf_schema *s, const char *schema,
				 const char *table)
{
	long i = find_quiet(&s->tables, schema, table);
	return i < 0 ? NULL : s->tables.v[i].file;
}

const char *pf_schema_view_file(const struct pf_schema *s, const char *schema,
				const char *view)
{
	long i = find_quiet(&s->views, schema, view);
	return i < 0 ? NULL : s->views.v[i].file;
}

const char *pf_schema_column_file(const struct pf_schema *s, const char *schema,
				  const char *table, const char *column)
{
	long i = find_quiet(&s->tables, schema, table);
	if (i < 0)
		return NULL;
	const struct pf_schema_rel *r = &s->tables.v[i];
	for (size_t c = 0; c < r->ncols; c++)
		if (strcmp(r->cols[c].name, column) == 0)
			return r->cols[c].file;
	return NULL;
}
