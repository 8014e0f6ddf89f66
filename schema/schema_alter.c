/*
 * The DDL reader's changes to existing relations: ALTER TABLE (ADD, DROP
 * and RENAME COLUMN, RENAME TO, SET SCHEMA, ATTACH/DETACH PARTITION),
 * ALTER [MATERIALIZED] VIEW, DROP TABLE|VIEW with CASCADE, DROP SCHEMA.
 * Column changes reach partitions and inheritance children; CASCADE takes
 * the views that read a dropped relation along.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_read.h"

/* Calls fn on every table whose parent is (schema, name) (children found
 * by name, so fn may add columns but must not add or remove tables). */
static void each_child(struct rd *r, const char *schema, const char *name,
		       size_t depth,
		       void (*fn)(struct rd *, const char *, const char *,
				  const void *, size_t),
		       const void *arg)
{
	const struct pf_schema_list *l = &r->s->tables;
	r->s->work += l->n;
	for (size_t i = 0; i < l->n && depth < PF_SCHEMA_MAX_DEPTH; i++)
		if (pf_ref_is(&l->v[i].parent, schema, name))
			fn(r, l->v[i].id.schema, l->v[i].id.name, arg, depth + 1);
}

/* ADD COLUMN reaches partitions and inheritance children too. */
static void add_col_tree(struct rd *r, const char *schema, const char *tname,
			 const void *col, size_t depth)
{
	struct pf_schema_rel *t = rd_table(r, schema, tname);
	if (!t || r->oom)
		return;
	rd_add_col(r, t, col, r->file);
	each_child(r, schema, tname, depth, add_col_tree, col);
}

static void drop_col_tree(struct rd *r, const char *schema, const char *tname,
			  const void *col, size_t depth)
{
	struct pf_schema_rel *t = rd_table(r, schema, tname);
	if (!t)
		return;
	pf_schema_drop_col(t, col);
	each_child(r, schema, tname, depth, drop_col_tree, col);
}

/* A renamed column is attributed to the renaming file: that is the
 * migration to run for the new name to exist. */
static void rename_col_tree(struct rd *r, const char *schema, const char *tname,
			    const void *arg, size_t depth)
{
	const char *const *names = arg;		/* old, new */
	struct pf_schema_rel *t = rd_table(r, schema, tname);
	long i = t ? pf_schema_find_col(t, names[0]) : -1;
	if (i < 0 || pf_schema_find_col(t, names[1]) >= 0 || r->oom)
		return;
	if (!pf_schema_set_str(&t->cols[i].name, names[1])) {
		r->oom = true;
		return;
	}
	t->cols[i].file = r->file;
	each_child(r, schema, tname, depth, rename_col_tree, arg);
}

/* Every reference to `from` (partition parents, view dependencies) now
 * names `to`: the server tracks them by object, not by name. */
static void repoint(struct rd *r, const struct pf_schema_ref *from,
		    const char *schema, const char *name)
{
	struct pf_schema_list *ls[2] = { &r->s->tables, &r->s->views };

	for (int k = 0; k < 2 && !r->oom; k++) {
		struct pf_schema_list *l = ls[k];
		r->s->work += l->n;
		for (size_t i = 0; i < l->n && !r->oom; i++) {
			struct pf_schema_rel *x = &l->v[i];
			if (pf_ref_is(&x->parent, from->schema, from->name) &&
			    !pf_schema_set_ref(&x->parent, schema, name))
				r->oom = true;
			for (size_t d = 0; d < x->ndeps && !r->oom; d++)
				if (pf_ref_is(&x->deps[d], from->schema, from->name) &&
				    !pf_schema_set_ref(&x->deps[d], schema, name))
					r->oom = true;
		}
	}
}

/* Gives relation i of l a new schema and/or name (unless taken there).
 * The object is now attributed to the file that moved it: that is the
 * migration to run for the new name to exist; its columns keep theirs. */
static void move_rel(struct rd *r, struct pf_schema_list *l, long i,
		     const char *schema, const char *name)
{
	struct pf_schema_ref old = { 0 };

	if (i < 0 || rd_name_taken(r, schema, name))
		return;
	if (!pf_schema_set_ref(&old, l->v[i].id.schema, l->v[i].id.name) ||
	    !pf_schema_set_ref(&l->v[i].id, schema, name)) {
		r->oom = true;
	} else {
		l->v[i].file = r->file;
		repoint(r, &old, schema, name);
	}
	free(old.schema);
	free(old.name);
}

/* The table or view an ALTER names: the list and index, or -1. */
static long find_rel(struct rd *r, const struct qname *q, bool view,
		     struct pf_schema_list **l)
{
	const char *schema;

	*l = view ? &r->s->views : &r->s->tables;
	schema = view ? rd_view_schema(r, q) : rd_table_schema(r, q);
	return schema ? pf_schema_find(*l, schema, q->name) : -1;
}

/* After RENAME: RENAME TO n, RENAME [COLUMN] a TO b, RENAME CONSTRAINT. */
static void rename_stmt(struct rd *r, const struct qname *q, bool view)
{
	pf_name old, new;
	struct pf_schema_list *l;
	long i = find_rel(r, q, view, &l);

	rd_adv(r);
	if (rd_eat(r, "to")) {
		if (rd_ident(r, new) && i >= 0)
			move_rel(r, l, i, l->v[i].id.schema, new);
		return;
	}
	if (rd_kw(r, "constraint") || view || i < 0)
		return;
	rd_eat(r, "column");
	if (!rd_ident(r, old) || !rd_eat(r, "to") || !rd_ident(r, new))
		return;
	const char *names[2] = { old, new };
	rename_col_tree(r, l->v[i].id.schema, l->v[i].id.name, names, 0);
}

/* SET SCHEMA s: the object moves; its dependents follow it. */
static void set_schema(struct rd *r, const struct qname *q, bool view)
{
	pf_name dest;
	struct pf_schema_list *l;
	long i = find_rel(r, q, view, &l);

	rd_adv(r);
	rd_adv(r);
	if (rd_ident(r, dest) && i >= 0)
		move_rel(r, l, i, dest, l->v[i].id.name);
}

/* ATTACH PARTITION c / DETACH PARTITION c: later column changes of the
 * parent reach c only while attached. */
static void partition_link(struct rd *r, const struct pf_schema_rel *parent,
			   bool attach)
{
	struct qname q;
	struct pf_schema_rel *c = NULL;
	struct pf_schema_ref p = { parent->id.schema, parent->id.name };

	rd_adv(r);
	if (rd_qname(r, &q))
		c = rd_table(r, rd_table_schema(r, &q), q.name);
	if (!c || c == parent)
		return;
	if (attach ? !pf_schema_set_ref(&c->parent, p.schema, p.name)
		   : !pf_schema_set_ref(&c->parent, NULL, NULL))
		r->oom = true;
}

/* One ALTER TABLE subcommand on table (schema, name); the rest of it is
 * skipped by the caller. */
static void alter_action(struct rd *r, const char *schema, const char *name,
			 bool only)
{
	pf_name col;
	if (rd_eat(r, "add")) {
		if (!rd_eat(r, "column") && rd_at_constraint(r))
			return;
		rd_eat_if_not_exists(r);
		if (rd_ident(r, col))
			add_col_tree(r, schema, name, col, 0);
	} else if (rd_eat(r, "drop")) {
		if (rd_kw(r, "constraint"))
			return;
		rd_eat(r, "column");
		rd_eat_if_exists(r);
		if (!rd_ident(r, col))
			return;
		/* ONLY: the children keep the column */
		drop_col_tree(r, schema, name, col, only ? PF_SCHEMA_MAX_DEPTH : 0);
	} else if ((rd_kw(r, "attach") || rd_kw(r, "detach")) &&
		   rd_next_is(r, "partition")) {
		bool attach = rd_kw(r, "attach");
		struct pf_schema_rel *t = rd_table(r, schema, name);
		rd_adv(r);
		if (t)
			partition_link(r, t, attach);
	}
}

/* ALTER TABLE|VIEW|MATERIALIZED VIEW [IF EXISTS] [ONLY] name [*] ... */
void rd_alter_rel(struct rd *r, bool view)
{
	struct qname q;
	pf_name schema, name;
	struct pf_schema_list *l = NULL;
	long i = -1;

	rd_eat_if_exists(r);
	bool only = rd_eat(r, "only");
	if (!rd_qname(r, &q))
		return;
	if (rd_op(r, '*'))
		rd_adv(r);
	if (rd_kw(r, "rename")) {
		rename_stmt(r, &q, view);
		return;
	}
	if (rd_kw(r, "set") && rd_next_is(r, "schema")) {
		set_schema(r, &q, view);
		return;
	}
	if (view || (i = find_rel(r, &q, false, &l)) < 0)
		return;
	/* copies: the subcommands may grow and move the table list */
	snprintf(schema, sizeof schema, "%s", l->v[i].id.schema);
	snprintf(name, sizeof name, "%s", l->v[i].id.name);
	for (;;) {
		alter_action(r, schema, name, only);
		rd_skip_item(r, false);
		if (!rd_op(r, ',') || r->oom)
			return;
		rd_adv(r);
	}
}

/* Moves relation i of l to the file's dropped list (for keep_history). */
static void drop_at(struct rd *r, struct pf_schema_list *l, size_t i)
{
	if (!pf_schema_move_rel(l, i, &r->s->dropped))
		r->oom = true;
}

static void drop_rel(struct rd *r, bool view, const char *schema,
		     const char *name, bool cascade, size_t depth);

/* CASCADE: the views whose query reads (schema, name) go too. */
static void drop_dependents(struct rd *r, const char *schema, const char *name,
			    size_t depth)
{
	struct pf_schema_list *l = &r->s->views;

	for (size_t i = 0; i < l->n && !r->oom; r->s->work++) {
		bool reads = false;
		for (size_t d = 0; d < l->v[i].ndeps && !reads; d++)
			reads = pf_ref_is(&l->v[i].deps[d], schema, name);
		if (!reads) {
			i++;
			continue;
		}
		pf_name vs, vn;
		snprintf(vs, sizeof vs, "%s", l->v[i].id.schema);
		snprintf(vn, sizeof vn, "%s", l->v[i].id.name);
		drop_rel(r, true, vs, vn, true, depth + 1);
		i = 0;	/* the list changed: scan again */
	}
}

/* Drops a table with its partitions/children (the server drops
 * partitions with their parent; inheritance children need CASCADE), or a
 * view; with cascade the views that read it too. */
static void drop_rel(struct rd *r, bool view, const char *schema,
		     const char *name, bool cascade, size_t depth)
{
	struct pf_schema_list *l = view ? &r->s->views : &r->s->tables;
	long i = pf_schema_find(l, schema, name);

	if (i < 0 || depth > PF_SCHEMA_MAX_DEPTH)
		return;
	drop_at(r, l, (size_t)i);
	for (size_t c = 0; !view && c < l->n && !r->oom; r->s->work++) {
		if (pf_ref_is(&l->v[c].parent, schema, name)) {
			pf_name cs, cn;
			snprintf(cs, sizeof cs, "%s", l->v[c].id.schema);
			snprintf(cn, sizeof cn, "%s", l->v[c].id.name);
			drop_rel(r, false, cs, cn, cascade, depth + 1);
			c = 0;	/* the list changed: scan again */
		} else {
			c++;
		}
	}
	if (cascade)
		drop_dependents(r, schema, name, depth);
}

/* DROP TABLE|VIEW [IF EXISTS] a, b [CASCADE]. */
void rd_drop_rels(struct rd *r, bool views)
{
	struct qname names[64];
	size_t n = 0;
	bool cascade;

	rd_eat_if_exists(r);
	while (n < 64 && rd_qname(r, &names[n])) {
		n++;
		if (!rd_op(r, ','))
			break;
		rd_adv(r);
	}
	cascade = rd_kw(r, "cascade");
	for (size_t k = 0; k < n && !r->oom; k++) {
		const char *schema = views ? rd_view_schema(r, &names[k])
					   : rd_table_schema(r, &names[k]);
		if (schema)
			drop_rel(r, views, schema, names[k].name, cascade, 0);
	}
}

/* DROP SCHEMA [IF EXISTS] a, b [CASCADE]: everything in them goes. */
void rd_drop_schema(struct rd *r)
{
	pf_name name;
	struct pf_schema_list *ls[2] = { &r->s->tables, &r->s->views };

	rd_eat_if_exists(r);
	while (rd_ident(r, name) && !r->oom) {
		for (int k = 0; k < 2; k++)
			for (size_t i = ls[k]->n; i > 0; i--)
				if (strcmp(ls[k]->v[i - 1].id.schema, name) == 0)
					pf_schema_remove_rel(ls[k], i - 1);
		if (!rd_op(r, ','))
			return;
		rd_adv(r);
	}
}
