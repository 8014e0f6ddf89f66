/*
 * Internal to the DDL reader: one statement being read, its tokens, and
 * how names resolve to schemas (schema_read.c), used by the CREATE
 * reader (schema_ddl.c) and the ALTER/DROP reader (schema_alter.c).
 */
#ifndef PF_SCHEMA_READ_H
#define PF_SCHEMA_READ_H

#include <stdbool.h>

#include "schema_model.h"
#include "sql_lexer.h"

/* One statement being read: a lexer over its span, the current token. */
struct rd {
	struct pf_schema *s;
	const char *file;	/* interned, borrowed */
	const char *src;	/* the statement text, borrowed */
	struct pf_sql_lexer lx;
	struct pf_sql_token tok;
	bool oom;
};

/* A possibly qualified name as written: [[db.]schema.]name. */
struct qname {
	pf_name schema;		/* "" when not qualified */
	pf_name name;
};

void rd_adv(struct rd *r);
bool rd_kw(const struct rd *r, const char *kw);
bool rd_op(const struct rd *r, char c);
bool rd_eat(struct rd *r, const char *kw);
bool rd_next_is(const struct rd *r, const char *kw);
bool rd_next_is_op(const struct rd *r, char c);
bool rd_ident(struct rd *r, pf_name name);
bool rd_qname(struct rd *r, struct qname *q);
void rd_eat_if_exists(struct rd *r);
void rd_eat_if_not_exists(struct rd *r);
/* Skips to the next ',' at this nesting level, or to the ')' closing it
 * when inside parentheses (not consumed). */
void rd_skip_item(struct rd *r, bool in_parens);

/* The schema a new object named q goes to: its own qualifier, else the
 * first schema of the search_path; NULL when the path is empty (the
 * server refuses such a CREATE). */
const char *rd_create_schema(const struct rd *r, const struct qname *q);
/* The schema an existing table (views: a view) named q is in: its own
 * qualifier, else the first schema of the search_path holding it, else
 * the path's first (NULL when empty). */
const char *rd_table_schema(const struct rd *r, const struct qname *q);
const char *rd_view_schema(const struct rd *r, const struct qname *q);

/* At a table constraint (CONSTRAINT, PRIMARY, UNIQUE, CHECK, FOREIGN,
 * EXCLUDE USING/( ), never a column definition. */
bool rd_at_constraint(const struct rd *r);

struct pf_schema_rel *rd_table(struct rd *r, const char *schema,
			       const char *name);
bool rd_name_taken(const struct rd *r, const char *schema, const char *name);
void rd_add_col(struct rd *r, struct pf_schema_rel *t, const char *name,
		const char *file);

/* schema_alter.c: the statements after ALTER TABLE|VIEW, DROP TABLE|VIEW
 * and DROP SCHEMA. */
void rd_alter_rel(struct rd *r, bool view);
void rd_drop_rels(struct rd *r, bool views);
void rd_drop_schema(struct rd *r);

#endif
