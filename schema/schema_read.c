/*
 * The DDL reader's cursor and the helpers both statement readers use
 * (schema_ddl.c for CREATE, schema_alter.c for ALTER and DROP): tokens,
 * keywords, names, how a name resolves through the search_path, and the
 * relations and columns of the model being built.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_read.h"

void rd_adv(struct rd *r)
{
	pf_sql_next(&r->lx, &r->tok);
}

bool rd_kw(const struct rd *r, const char *kw)
{
	return pf_sql_is_word(r->src, &r->tok, kw);
}

bool rd_op(const struct rd *r, char c)
{
	return pf_sql_is_op(r->src, &r->tok, c);
}

bool rd_eat(struct rd *r, const char *kw)
{
	if (!rd_kw(r, kw))
		return false;
	rd_adv(r);
	return true;
}

/* The word after the current token, without consuming anything. */
bool rd_next_is(const struct rd *r, const char *kw)
{
	struct pf_sql_lexer lx = r->lx;
	struct pf_sql_token t;
	pf_sql_next(&lx, &t);
	return pf_sql_is_word(r->src, &t, kw);
}

bool rd_next_is_op(const struct rd *r, char c)
{
	struct pf_sql_lexer lx = r->lx;
	struct pf_sql_token t;
	pf_sql_next(&lx, &t);
	return pf_sql_is_op(r->src, &t, c);
}

/* Reads one identifier into name and moves past it. */
bool rd_ident(struct rd *r, pf_name name)
{
	if (!pf_sql_ident(r->src, &r->tok, name))
		return false;
	rd_adv(r);
	return true;
}

bool rd_qname(struct rd *r, struct qname *q)
{
	pf_name parts[3];
	size_t n = 0;
	while (n < 3 && rd_ident(r, parts[n])) {
		n++;
		if (!rd_op(r, '.'))
			break;
		rd_adv(r);
	}
	if (n == 0)
		return false;
	memcpy(q->name, parts[n - 1], sizeof(pf_name));
	if (n >= 2)
		memcpy(q->schema, parts[n - 2], sizeof(pf_name));
	else
		q->schema[0] = '\0';
	return true;
}

void rd_eat_if_exists(struct rd *r)
{
	if (rd_kw(r, "if") && rd_next_is(r, "exists")) {
		rd_adv(r);
		rd_adv(r);
	}
}

void rd_eat_if_not_exists(struct rd *r)
{
	if (rd_kw(r, "if") && rd_next_is(r, "not")) {
		rd_adv(r);
		rd_adv(r);
		rd_eat(r, "exists");
	}
}

void rd_skip_item(struct rd *r, bool in_parens)
{
	size_t depth = 0;
	for (; r->tok.kind != PF_SQL_END; rd_adv(r)) {
		if (depth == 0 && rd_op(r, ','))
			return;
		if (rd_op(r, '('))
			depth++;
		else if (rd_op(r, ')') && depth > 0)
			depth--;
		else if (rd_op(r, ')') && in_parens)
			return;
	}
}

/* ---- names and the search_path ---------------------------------------- */

const char *rd_create_schema(const struct rd *r, const struct qname *q)
{
	if (q->schema[0])
		return q->schema;
	return r->s->npath ? r->s->path[0] : NULL;
}

static const char *resolve(const struct rd *r, const struct qname *q,
			   const struct pf_schema_list *l)
{
	if (q->schema[0])
		return q->schema;
	for (size_t i = 0; i < r->s->npath; i++)
		if (pf_schema_find(l, r->s->path[i], q->name) >= 0)
			return r->s->path[i];
	return r->s->npath ? r->s->path[0] : NULL;
}

const char *rd_table_schema(const struct rd *r, const struct qname *q)
{
	return resolve(r, q, &r->s->tables);
}

const char *rd_view_schema(const struct rd *r, const struct qname *q)
{
	return resolve(r, q, &r->s->views);
}

/* ---- relations ---------------------------------------------------------- */

struct pf_schema_rel *rd_table(struct rd *r, const char *schema,
			       const char *name)
{
	long i = schema ? pf_schema_find(&r->s->tables, schema, name) : -1;
	return i < 0 ? NULL : &r->s->tables.v[i];
}

bool rd_name_taken(const struct rd *r, const char *schema, const char *name)
{
	return pf_schema_find(&r->s->tables, schema, name) >= 0 ||
	       pf_schema_find(&r->s->views, schema, name) >= 0;
}

void rd_add_col(struct rd *r, struct pf_schema_rel *t, const char *name,
		const char *file)
{
	if (!pf_schema_add_col(t, name, file))
		r->oom = true;
}

/* Table constraint keywords, which never start a column definition.
 * EXCLUDE is not reserved, so it starts a constraint only when followed
 * by USING or '('. */
bool rd_at_constraint(const struct rd *r)
{
	static const char *const kws[] = {
		"constraint", "primary", "unique", "check", "foreign" };
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (rd_kw(r, kws[i]))
			return true;
	return rd_kw(r, "exclude") && (rd_next_is(r, "using") || rd_next_is_op(r, '('));
}
