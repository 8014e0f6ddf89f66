/*
 * Reads migration SQL into the derived schema: CREATE/ALTER/DROP TABLE,
 * CREATE/ALTER/DROP [MATERIALIZED] VIEW.  Every other statement is skipped;
 * nothing here fails except for lack of memory.  Rules: docs/schema.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_model.h"
#include "sql_lexer.h"

typedef char pf_name[PF_SQL_NAME_MAX + 1];

/* One statement being read: a lexer over its span, the current token. */
struct rd {
	struct pf_schema *s;
	const char *file;	/* interned, borrowed */
	const char *src;	/* the statement text, borrowed */
	struct pf_sql_lexer lx;
	struct pf_sql_token tok;
	bool oom;
};

static void adv(struct rd *r)
{
	pf_sql_next(&r->lx, &r->tok);
}

static bool is_kw(const struct rd *r, const char *kw)
{
	return pf_sql_is_word(r->src, &r->tok, kw);
}

static bool is_op(const struct rd *r, char c)
{
	return pf_sql_is_op(r->src, &r->tok, c);
}

static bool eat(struct rd *r, const char *kw)
{
	if (!is_kw(r, kw))
		return false;
	adv(r);
	return true;
}

/* The word after the current token, without consuming anything. */
static bool next_is(const struct rd *r, const char *kw)
{
	struct pf_sql_lexer lx = r->lx;
	struct pf_sql_token t;
	pf_sql_next(&lx, &t);
	return pf_sql_is_word(r->src, &t, kw);
}

static bool next_is_op(const struct rd *r, char c)
{
	struct pf_sql_lexer lx = r->lx;
	struct pf_sql_token t;
	pf_sql_next(&lx, &t);
	return pf_sql_is_op(r->src, &t, c);
}

/* Reads one identifier into name and moves past it. */
static bool ident(struct rd *r, pf_name name)
{
	if (!pf_sql_ident(r->src, &r->tok, name))
		return false;
	adv(r);
	return true;
}

/* [[db.]schema.]name: the last part in name; *ours when the schema part
 * is absent (the search path's first schema is assumed to be the target)
 * or equals the target schema. */
static bool qualified(struct rd *r, pf_name name, bool *ours)
{
	pf_name parts[3];
	size_t n = 0;
	while (n < 3 && ident(r, parts[n])) {
		n++;
		if (!is_op(r, '.'))
			break;
		adv(r);
	}
	if (n == 0)
		return false;
	memcpy(name, parts[n - 1], sizeof(pf_name));
	*ours = n == 1 || strcmp(parts[n - 2], r->s->target) == 0;
	return true;
}

static void eat_if_exists(struct rd *r)
{
	if (is_kw(r, "if") && next_is(r, "exists")) {
		adv(r);
		adv(r);
	}
}

static void eat_if_not_exists(struct rd *r)
{
	if (is_kw(r, "if") && next_is(r, "not")) {
		adv(r);
		adv(r);
		eat(r, "exists");
	}
}

/* Skips to the next ',' at this nesting level, or to the ')' closing it
 * when inside parentheses (not consumed). */
static void skip_item(struct rd *r, bool in_parens)
{
	size_t depth = 0;
	for (; r->tok.kind != PF_SQL_END; adv(r)) {
		if (depth == 0 && is_op(r, ','))
			return;
		if (is_op(r, '('))
			depth++;
		else if (is_op(r, ')') && depth > 0)
			depth--;
		else if (is_op(r, ')') && in_parens)
			return;
	}
}

/* Table constraint keywords, which never start a column definition.
 * EXCLUDE is not reserved, so it starts a constraint only when followed
 * by USING or '('. */
static bool at_constraint(const struct rd *r)
{
	static const char *const kws[] = {
		"constraint", "primary", "unique", "check", "foreign" };
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (is_kw(r, kws[i]))
			return true;
	return is_kw(r, "exclude") && (next_is(r, "using") || next_is_op(r, '('));
}

static struct pf_schema_rel *table(struct rd *r, const char *name)
{
	long i = pf_schema_find(&r->s->tables, name);
	return i < 0 ? NULL : &r->s->tables.v[i];
}

static bool name_taken(const struct rd *r, const char *name)
{
	return pf_schema_find(&r->s->tables, name) >= 0 ||
	       pf_schema_find(&r->s->views, name) >= 0;
}

static void add_col(struct rd *r, struct pf_schema_rel *t, const char *name,
		    const char *file)
{
	if (!pf_schema_add_col(t, name, file))
		r->oom = true;
}

/* Copies every column of src (by name) into dst, attributed to file. */
static void copy_cols(struct rd *r, struct pf_schema_rel *dst, const char *src)
{
	struct pf_schema_rel *from = table(r, src);
	for (size_t i = 0; from && i < from->ncols && !r->oom; i++)
		add_col(r, dst, from->cols[i].name, r->file);
}

/* At '(': moves past the matching ')'. */
static void skip_parens(struct rd *r)
{
	size_t depth = 0;
	for (; r->tok.kind != PF_SQL_END; adv(r)) {
		if (is_op(r, '('))
			depth++;
		else if (is_op(r, ')') && --depth == 0)
			break;
	}
	adv(r);
}

/* After '(' of CREATE TABLE: columns, LIKE, constraints up to ')'. */
static void table_elements(struct rd *r, struct pf_schema_rel *t)
{
	pf_name name;
	bool ours;
	while (r->tok.kind != PF_SQL_END && !r->oom) {
		if (is_op(r, ')')) {
			adv(r);
			return;
		}
		if (eat(r, "like")) {
			if (qualified(r, name, &ours) && ours)
				copy_cols(r, t, name);
		} else if (!at_constraint(r) && ident(r, name)) {
			add_col(r, t, name, r->file);
		}
		skip_item(r, true);
		if (is_op(r, ','))
			adv(r);
	}
}

/* INHERITS (a, b): parents' columns come first, then the table's own. */
static void inherits(struct rd *r, struct pf_schema_rel *t)
{
	pf_name name;
	bool ours;
	struct pf_schema_rel tmp;
	memset(&tmp, 0, sizeof(tmp));
	tmp.work = &r->s->work;
	adv(r);			/* '(' */
	while (qualified(r, name, &ours) && !r->oom) {
		if (ours && table(r, name)) {
			copy_cols(r, &tmp, name);
			if (!t->parent && !pf_schema_set_str(&t->parent, name))
				r->oom = true;
		}
		if (!is_op(r, ','))
			break;
		adv(r);
	}
	for (size_t i = 0; i < t->ncols && !r->oom; i++)
		add_col(r, &tmp, t->cols[i].name, t->cols[i].file);
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
		if (is_kw(r, "as")) {
			t->columns_unknown = true;
			return;
		}
		if (is_kw(r, "inherits") && next_is_op(r, '(')) {
			adv(r);
			inherits(r, t);
		} else if (is_op(r, '(')) {
			skip_parens(r);
		} else {
			adv(r);
		}
	}
}

/* CREATE [...] TABLE, after TABLE.  Temporary tables live in pg_temp,
 * never in the target schema; an existing name is left as it is (IF NOT
 * EXISTS, or an error on the server). */
static void create_table(struct rd *r, bool temp)
{
	pf_name name, parent;
	bool ours, pours;
	eat_if_not_exists(r);
	if (!qualified(r, name, &ours) || !ours || temp || name_taken(r, name))
		return;
	struct pf_schema_rel *t = pf_schema_add_rel(&r->s->tables, name, r->file);
	if (!t) {
		r->oom = true;
		return;
	}
	if (is_kw(r, "partition") && next_is(r, "of")) {
		adv(r);
		adv(r);
		if (qualified(r, parent, &pours) && pours && table(r, parent)) {
			copy_cols(r, t, parent);
			if (!pf_schema_set_str(&t->parent, parent))
				r->oom = true;
		} else {
			t->columns_unknown = true;
		}
		return;
	}
	if (is_kw(r, "of")) {	/* typed table: columns from a type */
		t->columns_unknown = true;
		return;
	}
	if (is_op(r, '(')) {
		adv(r);
		table_elements(r, t);
	}
	table_tail(r, t);
}

static void create_view(struct rd *r, bool temp, bool materialized)
{
	pf_name name;
	bool ours;
	eat_if_not_exists(r);
	if (!qualified(r, name, &ours) || !ours || temp || name_taken(r, name))
		return;
	struct pf_schema_rel *v = pf_schema_add_rel(&r->s->views, name, r->file);
	if (!v)
		r->oom = true;
	else
		v->materialized = materialized;
}

static void create_stmt(struct rd *r)
{
	if (is_kw(r, "or") && next_is(r, "replace")) {
		adv(r);
		adv(r);
	}
	if (!eat(r, "global"))
		eat(r, "local");
	bool temp = eat(r, "temp") || eat(r, "temporary");
	eat(r, "unlogged");
	if (eat(r, "table")) {
		create_table(r, temp);
		return;
	}
	eat(r, "recursive");
	if (eat(r, "view"))
		create_view(r, temp, false);
	else if (eat(r, "materialized") && eat(r, "view"))
		create_view(r, false, true);
}

/* Calls fn on every table whose parent is `name` (children found by
 * name, so fn may add columns but must not add or remove tables). */
static void each_child(struct rd *r, const char *name, size_t depth,
		       void (*fn)(struct rd *, const char *, const void *,
				  size_t),
		       const void *arg)
{
	const struct pf_schema_list *l = &r->s->tables;
	r->s->work += l->n;
	for (size_t i = 0; i < l->n && depth < PF_SCHEMA_MAX_DEPTH; i++)
		if (l->v[i].parent && strcmp(l->v[i].parent, name) == 0)
			fn(r, l->v[i].name, arg, depth + 1);
}

/* ADD COLUMN reaches partitions and inheritance children too. */
static void add_col_tree(struct rd *r, const char *tname, const void *col,
			 size_t depth)
{
	struct pf_schema_rel *t = table(r, tname);
	if (!t || r->oom)
		return;
	add_col(r, t, col, r->file);
	each_child(r, tname, depth, add_col_tree, col);
}

static void drop_col_tree(struct rd *r, const char *tname, const void *col,
			  size_t depth)
{
	struct pf_schema_rel *t = table(r, tname);
	if (!t)
		return;
	pf_schema_drop_col(t, col);
	each_child(r, tname, depth, drop_col_tree, col);
}

/* A renamed column is attributed to the renaming file: that is the
 * migration to run for the new name to exist. */
static void rename_col_tree(struct rd *r, const char *tname, const void *arg,
			    size_t depth)
{
	const char *const *names = arg;		/* old, new */
	struct pf_schema_rel *t = table(r, tname);
	long i = t ? pf_schema_find_col(t, names[0]) : -1;
	if (i < 0 || pf_schema_find_col(t, names[1]) >= 0 || r->oom)
		return;
	if (!pf_schema_set_str(&t->cols[i].name, names[1])) {
		r->oom = true;
		return;
	}
	t->cols[i].file = r->file;
	each_child(r, tname, depth, rename_col_tree, arg);
}

/* The children of a table that leaves the model stop following it. */
static void orphan_children(struct rd *r, const char *name)
{
	struct pf_schema_list *l = &r->s->tables;
	r->s->work += l->n;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].parent && strcmp(l->v[i].parent, name) == 0)
			pf_schema_set_str(&l->v[i].parent, NULL);
}

/* RENAME TO: tables and views share one namespace.  The object is now
 * attributed to the renaming file; its columns keep their own files. */
static void rename_rel(struct rd *r, const char *old, const char *new)
{
	struct pf_schema_list *l = &r->s->tables;
	long i = pf_schema_find(l, old);
	if (i < 0) {
		l = &r->s->views;
		i = pf_schema_find(l, old);
	}
	if (i < 0 || name_taken(r, new))
		return;
	if (!pf_schema_set_str(&l->v[i].name, new)) {
		r->oom = true;
		return;
	}
	l->v[i].file = r->file;
	struct pf_schema_list *t = &r->s->tables;
	r->s->work += t->n;
	for (size_t c = 0; c < t->n && !r->oom; c++)
		if (t->v[c].parent && strcmp(t->v[c].parent, old) == 0 &&
		    !pf_schema_set_str(&t->v[c].parent, new))
			r->oom = true;
}

/* After RENAME: RENAME TO n, RENAME [COLUMN] a TO b, RENAME CONSTRAINT. */
static void rename_stmt(struct rd *r, const char *tname)
{
	pf_name old, new;
	adv(r);
	if (eat(r, "to")) {
		if (ident(r, new))
			rename_rel(r, tname, new);
		return;
	}
	if (is_kw(r, "constraint"))
		return;
	eat(r, "column");
	if (!ident(r, old) || !eat(r, "to") || !ident(r, new))
		return;
	const char *names[2] = { old, new };
	rename_col_tree(r, tname, names, 0);
}

/* SET SCHEMA s: moving out of the target schema removes the object. */
static void set_schema(struct rd *r, const char *name)
{
	pf_name dest;
	adv(r);
	adv(r);
	if (!ident(r, dest) || strcmp(dest, r->s->target) == 0)
		return;
	long i = pf_schema_find(&r->s->tables, name);
	if (i >= 0) {
		pf_schema_remove_rel(&r->s->tables, (size_t)i);
		orphan_children(r, name);
	}
	i = pf_schema_find(&r->s->views, name);
	if (i >= 0)
		pf_schema_remove_rel(&r->s->views, (size_t)i);
}

/* ATTACH PARTITION c / DETACH PARTITION c: later column changes of the
 * parent reach c only while attached. */
static void partition_link(struct rd *r, const char *parent, bool attach)
{
	pf_name child;
	bool ours;
	adv(r);
	struct pf_schema_rel *c = NULL;
	if (qualified(r, child, &ours) && ours)
		c = table(r, child);
	if (c && strcmp(child, parent) != 0 &&
	    !pf_schema_set_str(&c->parent, attach ? parent : NULL))
		r->oom = true;
}

/* One ALTER TABLE subcommand; the rest of it is skipped by the caller. */
static void alter_action(struct rd *r, const char *tname, bool only)
{
	pf_name col;
	if (eat(r, "add")) {
		if (!eat(r, "column") && at_constraint(r))
			return;
		eat_if_not_exists(r);
		if (ident(r, col))
			add_col_tree(r, tname, col, 0);
	} else if (eat(r, "drop")) {
		if (is_kw(r, "constraint"))
			return;
		eat(r, "column");
		eat_if_exists(r);
		if (!ident(r, col))
			return;
		if (only)	/* ONLY: the children keep the column */
			drop_col_tree(r, tname, col, PF_SCHEMA_MAX_DEPTH);
		else
			drop_col_tree(r, tname, col, 0);
	} else if (is_kw(r, "attach") && next_is(r, "partition")) {
		adv(r);
		partition_link(r, tname, true);
	} else if (is_kw(r, "detach") && next_is(r, "partition")) {
		adv(r);
		partition_link(r, tname, false);
	}
}

/* ALTER TABLE|VIEW|MATERIALIZED VIEW [IF EXISTS] [ONLY] name [*] ... */
static void alter_rel(struct rd *r, bool view)
{
	pf_name name;
	bool ours;
	eat_if_exists(r);
	bool only = eat(r, "only");
	if (!qualified(r, name, &ours) || !ours)
		return;
	if (is_op(r, '*'))
		adv(r);
	if (is_kw(r, "rename")) {
		rename_stmt(r, name);
		return;
	}
	if (is_kw(r, "set") && next_is(r, "schema")) {
		set_schema(r, name);
		return;
	}
	if (view || !table(r, name))
		return;
	for (;;) {
		alter_action(r, name, only);
		skip_item(r, false);
		if (!is_op(r, ',') || r->oom)
			return;
		adv(r);
	}
}

/* Drops a table with its partitions/children (the server drops
 * partitions with their parent; inheritance children need CASCADE). */
static void drop_table(struct rd *r, const char *name, size_t depth)
{
	long i = pf_schema_find(&r->s->tables, name);
	if (i < 0 || depth > PF_SCHEMA_MAX_DEPTH)
		return;
	pf_schema_remove_rel(&r->s->tables, (size_t)i);
	struct pf_schema_list *l = &r->s->tables;
	for (size_t c = 0; c < l->n && !r->oom; r->s->work++) {
		if (l->v[c].parent && strcmp(l->v[c].parent, name) == 0) {
			pf_name child;
			snprintf(child, sizeof(child), "%s", l->v[c].name);
			drop_table(r, child, depth + 1);
			c = 0;	/* the list changed: scan again */
		} else {
			c++;
		}
	}
}

/* DROP TABLE|VIEW [IF EXISTS] a, b [CASCADE]. */
static void drop_rels(struct rd *r, bool views)
{
	pf_name name;
	bool ours;
	eat_if_exists(r);
	while (qualified(r, name, &ours)) {
		long i = pf_schema_find(&r->s->views, name);
		if (ours && views && i >= 0)
			pf_schema_remove_rel(&r->s->views, (size_t)i);
		else if (ours && !views)
			drop_table(r, name, 0);
		if (!is_op(r, ','))
			return;
		adv(r);
	}
}

static void statement(struct rd *r)
{
	adv(r);
	if (eat(r, "create")) {
		create_stmt(r);
	} else if (eat(r, "alter")) {
		if (eat(r, "table"))
			alter_rel(r, false);
		else if (eat(r, "view") || (eat(r, "materialized") && eat(r, "view")))
			alter_rel(r, true);
	} else if (eat(r, "drop")) {
		if (eat(r, "table"))
			drop_rels(r, false);
		else if (eat(r, "view") || (eat(r, "materialized") && eat(r, "view")))
			drop_rels(r, true);
	}
}

bool pf_schema_read_sql(struct pf_schema *s, const char *file,
			const char *sql, size_t len)
{
	struct pf_sql_lexer all;
	size_t off, n;
	pf_sql_lexer_init(&all, sql, len);
	while (pf_sql_next_statement(&all, &off, &n)) {
		struct rd r;
		memset(&r, 0, sizeof(r));
		r.s = s;
		r.file = file;
		r.src = sql + off;
		pf_sql_lexer_init(&r.lx, r.src, n);
		statement(&r);
		if (r.oom || s->work > PF_SCHEMA_MAX_WORK)
			return false;
	}
	return true;
}
