/*
 * Reads migration SQL into the derived schema: statement dispatch, names
 * and search_path, CREATE TABLE and CREATE [MATERIALIZED] VIEW (ALTER and
 * DROP are schema_alter.c).  Every other statement is skipped; nothing
 * here fails except for lack of memory.  Rules: docs/schema.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_read.h"

/* SET [SESSION|LOCAL] search_path {TO|=} a, b, ...: unqualified names of
 * the rest of the file resolve through it ("$user" is skipped: migrations
 * run as roles without a schema of their own). */
static void set_search_path(struct rd *r)
{
	pf_name name;
	struct pf_schema *s = r->s;

	if (!rd_eat(r, "to") && rd_op(r, '='))
		rd_adv(r);
	s->npath = 0;
	while (r->tok.kind != PF_SQL_END) {
		if ((r->tok.kind == PF_SQL_STRING || r->tok.kind == PF_SQL_WORD ||
		     r->tok.kind == PF_SQL_QUOTED) && s->npath < PF_SCHEMA_MAX_PATH) {
			if (r->tok.kind == PF_SQL_STRING) {
				size_t n = r->tok.len >= 2 ? r->tok.len - 2 : 0;
				if (n > PF_SQL_NAME_MAX)
					n = PF_SQL_NAME_MAX;
				memcpy(name, r->src + r->tok.off + 1, n);
				name[n] = '\0';
			} else {
				pf_sql_ident(r->src, &r->tok, name);
			}
			if (name[0] && strcmp(name, "$user") != 0)
				memcpy(s->path[s->npath++], name, sizeof(pf_name));
		}
		rd_adv(r);
	}
}

/* Copies every column of table src (by name) into dst, attributed to file. */
static void copy_cols(struct rd *r, struct pf_schema_rel *dst,
		      const struct pf_schema_rel *from)
{
	for (size_t i = 0; from && i < from->ncols && !r->oom; i++)
		rd_add_col(r, dst, from->cols[i].name, r->file);
}

/* At '(': moves past the matching ')'. */
static void skip_parens(struct rd *r)
{
	size_t depth = 0;
	for (; r->tok.kind != PF_SQL_END; rd_adv(r)) {
		if (rd_op(r, '('))
			depth++;
		else if (rd_op(r, ')') && --depth == 0)
			break;
	}
	rd_adv(r);
}

/* After '(' of CREATE TABLE: columns, LIKE, constraints up to ')'. */
static void table_elements(struct rd *r, struct pf_schema_rel *t)
{
	pf_name name;
	struct qname q;

	while (r->tok.kind != PF_SQL_END && !r->oom) {
		if (rd_op(r, ')')) {
			rd_adv(r);
			return;
		}
		if (rd_eat(r, "like")) {
			if (rd_qname(r, &q))
				copy_cols(r, t, rd_table(r, rd_table_schema(r, &q), q.name));
		} else if (!rd_at_constraint(r) && rd_ident(r, name)) {
			rd_add_col(r, t, name, r->file);
		}
		rd_skip_item(r, true);
		if (rd_op(r, ','))
			rd_adv(r);
	}
}

/* INHERITS (a, b): parents' columns come first, then the table's own. */
static void inherits(struct rd *r, struct pf_schema_rel *t)
{
	struct qname q;
	struct pf_schema_rel tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.work = &r->s->work;
	rd_adv(r);			/* '(' */
	while (rd_qname(r, &q) && !r->oom) {
		const char *ps = rd_table_schema(r, &q);
		struct pf_schema_rel *p = rd_table(r, ps, q.name);
		if (p) {
			copy_cols(r, &tmp, p);
			if (!t->parent.name && !pf_schema_set_ref(&t->parent, ps, q.name))
				r->oom = true;
		}
		if (!rd_op(r, ','))
			break;
		rd_adv(r);
	}
	for (size_t i = 0; i < t->ncols && !r->oom; i++)
		rd_add_col(r, &tmp, t->cols[i].name, t->cols[i].file);
	struct pf_schema_col *own = t->cols;
	size_t nown = t->ncols;
	t->cols = tmp.cols;
	t->ncols = tmp.ncols;
	t->cap = tmp.cap;
	for (size_t i = 0; i < nown; i++)
		free(own[i].name);
	free(own);
}

/* What follows the column list: INHERITS, or AS (CREATE TABLE AS). */
static void table_tail(struct rd *r, struct pf_schema_rel *t)
{
	while (r->tok.kind != PF_SQL_END && !r->oom) {
		if (rd_kw(r, "as")) {
			t->columns_unknown = true;
			return;
		}
		if (rd_kw(r, "inherits") && rd_next_is_op(r, '(')) {
			rd_adv(r);
			inherits(r, t);
		} else if (rd_op(r, '(')) {
			skip_parens(r);
		} else {
			rd_adv(r);
		}
	}
}

/* A relation this file dropped and now creates again keeps the file that
 * first introduced it, and so do the columns it had (see struct
 * pf_schema.dropped). */
static void keep_history(struct rd *r, struct pf_schema_rel *rel)
{
	long i = pf_schema_find(&r->s->dropped, rel->id.schema, rel->id.name);
	const struct pf_schema_rel *old;

	if (i < 0)
		return;
	old = &r->s->dropped.v[i];
	rel->file = old->file;
	for (size_t c = 0; c < rel->ncols; c++) {
		long oc = pf_schema_find_col(old, rel->cols[c].name);
		if (oc >= 0)
			rel->cols[c].file = old->cols[oc].file;
	}
}

/* PARTITION OF parent: the parent's columns (unknown without it). */
static void partition_of(struct rd *r, struct pf_schema_rel *t)
{
	struct qname q;
	const char *ps;
	struct pf_schema_rel *p = NULL;

	rd_adv(r);
	rd_adv(r);
	if (rd_qname(r, &q) && (ps = rd_table_schema(r, &q)))
		p = rd_table(r, ps, q.name);
	if (!p) {
		t->columns_unknown = true;
		return;
	}
	/* copy_cols may grow the table list: keep the parent by index */
	long pi = p - r->s->tables.v;
	copy_cols(r, t, p);
	if (!pf_schema_set_ref(&t->parent, r->s->tables.v[pi].id.schema,
			       r->s->tables.v[pi].id.name))
		r->oom = true;
}

/* CREATE [...] TABLE, after TABLE.  Temporary tables live in pg_temp,
 * never in a migrated schema; an existing name is left as it is (IF NOT
 * EXISTS, or an error on the server). */
static void create_table(struct rd *r, bool temp)
{
	struct qname q;
	const char *schema;
	struct pf_schema_rel *t;
	size_t ti;

	rd_eat_if_not_exists(r);
	if (!rd_qname(r, &q) || temp || !(schema = rd_create_schema(r, &q)) ||
	    rd_name_taken(r, schema, q.name))
		return;
	if (!(t = pf_schema_add_rel(&r->s->tables, schema, q.name, r->file))) {
		r->oom = true;
		return;
	}
	/* the list may move while columns are copied from other tables */
	ti = r->s->tables.n - 1;
	if (rd_kw(r, "partition") && rd_next_is(r, "of")) {
		partition_of(r, t);
	} else if (rd_kw(r, "of")) {	/* typed table: columns from a type */
		t->columns_unknown = true;
	} else {
		if (rd_op(r, '(')) {
			rd_adv(r);
			table_elements(r, t);
		}
		table_tail(r, t);
	}
	if (!r->oom)
		keep_history(r, &r->s->tables.v[ti]);
}

/* The relations a view's query reads: names right after FROM and JOIN,
 * and after ',' in a FROM list, that are tables or views of the model.
 * (Column names never stand there, so they are not mistaken for tables.) */
static void view_deps(struct rd *r, struct pf_schema_rel *v)
{
	bool in_from = false, after = false;
	struct qname q;

	for (; r->tok.kind != PF_SQL_END && !r->oom; ) {
		if (rd_kw(r, "from") || rd_kw(r, "join")) {
			in_from = after = true;
			rd_adv(r);
			continue;
		}
		if (after && (r->tok.kind == PF_SQL_WORD || r->tok.kind == PF_SQL_QUOTED) &&
		    rd_qname(r, &q)) {
			const char *ts = rd_table_schema(r, &q), *vs = rd_view_schema(r, &q);
			if (ts && pf_schema_find(&r->s->tables, ts, q.name) >= 0 &&
			    !pf_schema_add_dep(v, ts, q.name))
				r->oom = true;
			else if (vs && pf_schema_find(&r->s->views, vs, q.name) >= 0 &&
				 !pf_schema_add_dep(v, vs, q.name))
				r->oom = true;
			after = false;
			continue;
		}
		after = in_from && rd_op(r, ',');
		if (r->tok.kind == PF_SQL_WORD && !rd_kw(r, "as") && !rd_kw(r, "lateral") &&
		    !rd_kw(r, "only"))
			in_from = in_from && !rd_kw(r, "where") && !rd_kw(r, "group") &&
				  !rd_kw(r, "order") && !rd_kw(r, "having") &&
				  !rd_kw(r, "limit") && !rd_kw(r, "union") &&
				  !rd_kw(r, "on") && !rd_kw(r, "select");
		if (rd_kw(r, "lateral") || rd_kw(r, "only"))
			after = true;
		rd_adv(r);
	}
}

static void create_view(struct rd *r, bool temp, bool materialized, bool replace)
{
	struct qname q;
	const char *schema;
	struct pf_schema_rel *v;
	long i;

	rd_eat_if_not_exists(r);
	if (!rd_qname(r, &q) || temp || !(schema = rd_create_schema(r, &q)))
		return;
	i = pf_schema_find(&r->s->views, schema, q.name);
	if (i >= 0 && replace && !r->s->views.v[i].materialized) {
		/* CREATE OR REPLACE: same view, new query */
		pf_schema_clear_deps(&r->s->views.v[i]);
		view_deps(r, &r->s->views.v[i]);
		return;
	}
	if (i >= 0 || rd_name_taken(r, schema, q.name))
		return;
	if (!(v = pf_schema_add_rel(&r->s->views, schema, q.name, r->file))) {
		r->oom = true;
		return;
	}
	v->materialized = materialized;
	view_deps(r, v);
	if (!r->oom)
		keep_history(r, v);
}

static void create_stmt(struct rd *r)
{
	bool replace = false;

	if (rd_kw(r, "or") && rd_next_is(r, "replace")) {
		rd_adv(r);
		rd_adv(r);
		replace = true;
	}
	if (!rd_eat(r, "global"))
		rd_eat(r, "local");
	bool temp = rd_eat(r, "temp") || rd_eat(r, "temporary");
	rd_eat(r, "unlogged");
	if (rd_eat(r, "table")) {
		create_table(r, temp);
		return;
	}
	rd_eat(r, "recursive");
	if (rd_eat(r, "view"))
		create_view(r, temp, false, replace);
	else if (rd_eat(r, "materialized") && rd_eat(r, "view"))
		create_view(r, false, true, false);
}

static void statement(struct rd *r)
{
	rd_adv(r);
	if (rd_eat(r, "create")) {
		create_stmt(r);
	} else if (rd_eat(r, "alter")) {
		if (rd_eat(r, "table"))
			rd_alter_rel(r, false);
		else if (rd_eat(r, "view") ||
			 (rd_eat(r, "materialized") && rd_eat(r, "view")))
			rd_alter_rel(r, true);
	} else if (rd_eat(r, "drop")) {
		if (rd_eat(r, "table"))
			rd_drop_rels(r, false);
		else if (rd_eat(r, "view") ||
			 (rd_eat(r, "materialized") && rd_eat(r, "view")))
			rd_drop_rels(r, true);
		else if (rd_eat(r, "schema"))
			rd_drop_schema(r);
	} else if (rd_eat(r, "set")) {
		if (!rd_eat(r, "session"))
			rd_eat(r, "local");
		if (rd_eat(r, "search_path"))
			set_search_path(r);
	}
}

/* psql meta-commands (`\connect`, pg_dump's `\restrict`) run to the end of
 * their line and carry no ';': what follows on later lines is SQL. */
static size_t skip_meta(const char *sql, size_t off, size_t *n)
{
	while (*n > 0 && sql[off] == '\\') {
		const char *nl = memchr(sql + off, '\n', *n);
		size_t skip = nl ? (size_t)(nl - (sql + off)) + 1 : *n;
		off += skip;
		*n -= skip;
		while (*n > 0 && (sql[off] == ' ' || sql[off] == '\t' ||
				  sql[off] == '\n' || sql[off] == '\r')) {
			off++;
			(*n)--;
		}
	}
	return off;
}

bool pf_schema_read_sql(struct pf_schema *s, const char *file,
			const char *sql, size_t len)
{
	struct pf_sql_lexer all;
	size_t off, n;
	bool ok = true;

	/* every file starts with the default search_path, as a new psql
	 * session does */
	snprintf(s->path[0], sizeof(pf_name), "%s", s->default_schema);
	s->npath = 1;
	pf_schema_list_clear(&s->dropped);
	pf_sql_lexer_init(&all, sql, len);
	while (ok && pf_sql_next_statement(&all, &off, &n)) {
		struct rd r;
		off = skip_meta(sql, off, &n);
		if (n == 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.s = s;
		r.file = file;
		r.src = sql + off;
		pf_sql_lexer_init(&r.lx, r.src, n);
		statement(&r);
		ok = !r.oom && s->work <= PF_SCHEMA_MAX_WORK;
	}
	pf_schema_list_clear(&s->dropped);
	return ok;
}

int pf_schema_apply(struct pf_schema *s, const char *file, const char *sql,
		    size_t len, char *err, size_t errlen)
{
	const char *f = pf_schema_intern_file(s, file ? file : "");
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
