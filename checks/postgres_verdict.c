/*
 * The postgres kind's pure half, part two: the schema verdict (required
 * tables, views and columns against the catalog answer, each object in
 * its own schema) and the migration hint.  No I/O: see postgres_query.h.
 */
#include "postgres_query.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_util.h"

static int cmp_null_first(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

/* Orders catalog rows by (nsp, rel, att), a NULL att first. */
static int row_cmp(const void *a, const void *b)
{
	const struct pf_pg_row *x = a, *y = b;
	int d = strcmp(x->nsp, y->nsp);
	if (d == 0)
		d = strcmp(x->rel, y->rel);
	return d ? d : cmp_null_first(x->att, y->att);
}

/* Looks (nsp, rel, att) up in rows sorted by row_cmp; att NULL: any row
 * of the relation.  Why sorted: a schema_dir can require thousands of
 * columns, and a linear scan per object would make each probe quadratic
 * on the loop. */
static const struct pf_pg_row *find_row(const struct pf_pg_row *rows,
					 size_t nrows, const char *nsp,
					 const char *rel, const char *att)
{
	const struct pf_pg_row key = { nsp, rel, att, '\0' };
	size_t lo = 0, hi = nrows;
	while (lo < hi) {		/* first row >= key */
		size_t mid = lo + (hi - lo) / 2;
		if (row_cmp(&rows[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nrows || strcmp(rows[lo].nsp, nsp) != 0 ||
	    strcmp(rows[lo].rel, rel) != 0)
		return NULL;
	if (att != NULL && (rows[lo].att == NULL || strcmp(rows[lo].att, att) != 0))
		return NULL;
	return &rows[lo];
}

static bool row_has(const struct pf_pg_row *rows, size_t nrows,
		    const char *nsp, const char *rel, const char *att)
{
	return find_row(rows, nrows, nsp, rel, att) != NULL;
}

/* Whether the relation found is of the kind required: a table (plain,
 * partitioned or foreign) for `tables`, a view or materialized view for
 * `views` (rows without a kind come from older callers: any fits). */
static bool kind_fits(const struct pf_pg_row *rows, size_t nrows,
		      const char *nsp, const struct pf_pg_table *t)
{
	const struct pf_pg_row *r = find_row(rows, nrows, nsp, t->name, NULL);

	if (!r)
		return false;
	if (r->kind == '\0')
		return true;
	return t->view ? strchr("vm", r->kind) != NULL
		       : strchr("rpf", r->kind) != NULL;
}

/* A sorted copy of the rows that name a relation (NULL: out of memory). */
static struct pf_pg_row *sorted_rows(const struct pf_pg_row *rows,
				     size_t nrows, size_t *n)
{
	struct pf_pg_row *s = malloc((nrows + 1) * sizeof *s);
	*n = 0;
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].rel != NULL && rows[i].nsp != NULL)
			s[(*n)++] = rows[i];
	if (*n > 1)
		qsort(s, *n, sizeof *s, row_cmp);
	return s;
}

const char *pf_pg_qualified(const struct pf_pg_table *t, const char *def,
			    char *buf, size_t len)
{
	if (!t->schema || strcmp(t->schema, def) == 0)
		pf_strlcpy(buf, t->name, len);
	else
		snprintf(buf, len, "%s.%s", t->schema, t->name);
	return buf;
}

/* One missing object: table t, column c (NO_COLUMN for the relation
 * itself) and the migration that introduced it (NULL: written by hand). */
#define NO_COLUMN ((size_t)-1)
struct missing {
	size_t t, c;
	const char *file;
};

/* What one evaluation works with. */
struct eval {
	const struct pf_pg_table *t;
	const char *def;		/* the check's schema */
	struct missing *m;		/* owned, at most one per object */
	size_t n;
	unsigned n_rels, n_cols;	/* missing relations, columns */
};

/* Orders by file (by hand last); ties keep the configured order, so the
 * result does not depend on qsort's instability. */
static int missing_cmp(const void *a, const void *b)
{
	const struct missing *x = a, *y = b;
	if (x->file && y->file) {
		int d = strcmp(x->file, y->file);
		if (d != 0)
			return d;
	} else if (x->file != y->file) {
		return x->file ? -1 : 1;
	}
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->c != y->c)
		return x->c < y->c ? -1 : 1;
	return 0;
}

/* "t", "s.t", "t.c", then " (file)" when derived. */
static void item_text(const struct eval *e, const struct missing *m,
		      char *buf, size_t len)
{
	const struct pf_pg_table *tb = &e->t[m->t];
	char q[200];

	pf_pg_qualified(tb, e->def, q, sizeof q);
	if (m->c == NO_COLUMN)
		pf_strlcpy(buf, q, len);
	else
		snprintf(buf, len, "%s.%s", q, tb->columns[m->c]);
	if (m->file) {
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, " (%s)", m->file);
	}
}

/* Which list an object belongs to in the error text. */
enum item_kind { K_TABLE, K_VIEW, K_COLUMN };

static enum item_kind kind_of(const struct eval *e, const struct missing *m)
{
	if (m->c != NO_COLUMN)
		return K_COLUMN;
	return e->t[m->t].view ? K_VIEW : K_TABLE;
}

/* The comma-separated list of the missing objects of one kind in buf,
 * whole items only: once one does not fit in budget bytes, the rest are
 * counted as "and N more". */
static size_t list_text(const struct eval *e, enum item_kind k, char *buf,
			size_t budget)
{
	size_t more = 0, count = 0;
	char item[400];

	buf[0] = '\0';
	for (size_t i = 0; i < e->n; i++) {
		if (kind_of(e, &e->m[i]) != k)
			continue;
		count++;
		item_text(e, &e->m[i], item, sizeof item);
		/* 24 bytes stay free for " and N more". */
		if (more > 0 || strlen(buf) + strlen(item) + 2 + 24 > budget) {
			more++;
			continue;
		}
		if (buf[0] != '\0')
			pf_strlcat(buf, ", ", budget);
		pf_strlcat(buf, item, budget);
	}
	if (more > 0) {
		size_t used = strlen(buf);
		snprintf(buf + used, budget - used, " and %zu more", more);
	}
	return count;
}

/* "missing tables: ...; missing views: ...; missing columns: ...", the
 * lists sharing err. */
static void missing_text(struct eval *e, char *err, size_t errlen)
{
	static const char *const label[] = { "tables", "views", "columns" };
	char lists[3][PF_ERROR_MAX];
	size_t counts[3], kinds = 0, budget = errlen > 80 ? errlen - 60 : 24;

	qsort(e->m, e->n, sizeof *e->m, missing_cmp);
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < e->n; i++)
			if (kind_of(e, &e->m[i]) == (enum item_kind)k) {
				kinds++;
				break;
			}
	if (kinds > 1)
		budget /= kinds;
	if (budget > PF_ERROR_MAX)
		budget = PF_ERROR_MAX;
	err[0] = '\0';
	for (int k = 0; k < 3; k++) {
		counts[k] = list_text(e, (enum item_kind)k, lists[k], budget);
		if (counts[k] == 0)
			continue;
		size_t used = strlen(err);
		snprintf(err + used, errlen - used, "%smissing %s: %s",
			 used ? "; " : "", label[k], lists[k]);
	}
}

/* Records one missing derived object in details' introduced_by. */
static void note_file(const struct eval *e, cJSON *ib, size_t t, size_t c,
		      const char *file)
{
	char key[300], q[200];
	if (ib == NULL || file == NULL)
		return;
	pf_pg_qualified(&e->t[t], e->def, q, sizeof q);
	if (c == NO_COLUMN)
		pf_strlcpy(key, q, sizeof key);
	else
		snprintf(key, sizeof key, "%s.%s", q, e->t[t].columns[c]);
	cJSON_AddStringToObject(ib, key, file);
}

static size_t required_objects(const struct pf_pg_table *t, size_t nt,
			       bool *derived)
{
	size_t n = nt;
	*derived = false;
	for (size_t i = 0; i < nt; i++) {
		n += t[i].n_columns;
		if (t[i].file != NULL)
			*derived = true;
	}
	return n;
}

/* Adds the missing columns of present table i to e and details. */
static void missing_columns(struct eval *e, size_t i,
			    const struct pf_pg_row *rows, size_t nrows,
			    const char *nsp, cJSON *mc, cJSON *ib)
{
	const struct pf_pg_table *t = &e->t[i];
	cJSON *arr = NULL;
	char q[200];

	for (size_t j = 0; j < t->n_columns; j++) {
		const char *c = t->columns[j];
		if (row_has(rows, nrows, nsp, t->name, c))
			continue;
		if (arr == NULL)
			arr = cJSON_AddArrayToObject(mc, pf_pg_qualified(t, e->def,
									q, sizeof q));
		cJSON_AddItemToArray(arr, cJSON_CreateString(c));
		e->m[e->n] = (struct missing){ i, j,
			t->column_files ? t->column_files[j] : NULL };
		note_file(e, ib, i, j, e->m[e->n].file);
		e->n++;
		e->n_cols++;
	}
}

/* Relation i is missing: listed in missing_tables or missing_views. */
static void missing_relation(struct eval *e, size_t i, cJSON *mt, cJSON *mv,
			     cJSON *ib)
{
	char q[200];

	cJSON_AddItemToArray(e->t[i].view ? mv : mt, cJSON_CreateString(
		pf_pg_qualified(&e->t[i], e->def, q, sizeof q)));
	e->m[e->n] = (struct missing){ i, NO_COLUMN, e->t[i].file };
	note_file(e, ib, i, NO_COLUMN, e->t[i].file);
	e->n++;
	e->n_rels++;
}

enum pf_reason pf_pg_schema_eval(const struct pf_pg_table *t, size_t nt,
				 const char *def, const struct pf_pg_row *rows,
				 size_t nrows, struct cJSON *details, char *err,
				 size_t errlen, unsigned *missing)
{
	bool derived;
	size_t total = required_objects(t, nt, &derived);
	struct eval e = { .t = t, .def = def };
	struct pf_pg_row *sorted = sorted_rows(rows, nrows, &nrows);

	*missing = 0;
	err[0] = '\0';
	e.m = malloc((total + 1) * sizeof *e.m);
	if (e.m == NULL || sorted == NULL) {
		free(e.m);
		free(sorted);
		pf_strlcpy(err, "out of memory comparing the schema", errlen);
		return PF_REASON_INTERNAL;
	}
	cJSON *mt = cJSON_AddArrayToObject(details, "missing_tables");
	cJSON *mv = cJSON_AddArrayToObject(details, "missing_views");
	cJSON *mc = cJSON_AddObjectToObject(details, "missing_columns");
	cJSON *ib = derived ? cJSON_AddObjectToObject(details, "introduced_by")
			    : NULL;
	for (size_t i = 0; i < nt; i++) {
		const char *nsp = t[i].schema ? t[i].schema : def;
		if (kind_fits(sorted, nrows, nsp, &t[i]))
			missing_columns(&e, i, sorted, nrows, nsp, mc, ib);
		else
			missing_relation(&e, i, mt, mv, ib);
	}
	*missing = e.n_rels + e.n_cols;
	missing_text(&e, err, errlen);
	free(e.m);
	free(sorted);
	if (e.n_rels > 0)
		return PF_REASON_MISSING_TABLE;
	return e.n_cols > 0 ? PF_REASON_MISSING_COLUMN : PF_REASON_NONE;
}

void pf_pg_migration_span(const struct cJSON *details, const char *last,
			  char *h, size_t n)
{
	const cJSON *ib = details ?
		cJSON_GetObjectItemCaseSensitive(details, "introduced_by") : NULL;
	const cJSON *f;
	const char *lo = NULL, *hi = NULL;

	/* Files apply in lexical order: the span starts at the earliest file
	 * whose objects are missing and runs through the folder's last file,
	 * since every later migration is pending too. */
	cJSON_ArrayForEach(f, ib) {
		if (!cJSON_IsString(f))
			continue;
		if (lo == NULL || strcmp(f->valuestring, lo) < 0)
			lo = f->valuestring;
		if (hi == NULL || strcmp(f->valuestring, hi) > 0)
			hi = f->valuestring;
	}
	if (lo == NULL)
		h[0] = '\0';
	else if (!last || strcmp(last, lo) == 0)
		snprintf(h, n, " from %s", lo);
	else if (strcmp(lo, hi) == 0)
		snprintf(h, n, " from %s through %s (the folder's last file; the"
			 " missing objects come from %s)", lo, last, lo);
	else
		snprintf(h, n, " from %s through %s (the folder's last file; the"
			 " missing objects come from %s to %s)", lo, last, lo, hi);
}
