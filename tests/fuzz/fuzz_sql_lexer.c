/*
 * libFuzzer target for the migration reader: the lexer, the statement
 * splitter and the schema model must accept any bytes without crashing,
 * reading out of bounds, looping or leaking.  Built by scripts/fuzz.sh.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pf_schema.h"
#include "sql_lexer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every token lies inside the input and the lexer always advances. */
static void lex_all(const char *src, size_t len)
{
	struct pf_sql_lexer lx;
	struct pf_sql_token t;
	char name[PF_SQL_NAME_MAX + 1];
	size_t prev = 0;
	pf_sql_lexer_init(&lx, src, len);
	while (pf_sql_next(&lx, &t) != PF_SQL_END) {
		if (t.len == 0 || t.off < prev || t.off + t.len > len)
			abort();
		prev = t.off + t.len;
		if (pf_sql_ident(src, &t, name) && strlen(name) > PF_SQL_NAME_MAX)
			abort();
	}
}

static void split_all(const char *src, size_t len)
{
	struct pf_sql_lexer lx;
	size_t off, n, prev = 0;
	pf_sql_lexer_init(&lx, src, len);
	while (pf_sql_next_statement(&lx, &off, &n)) {
		if (n == 0 || off < prev || off + n > len)
			abort();
		prev = off + n;
	}
}

/* Builds a model from the input split in two "files" and walks it. */
static void model(const char *src, size_t len)
{
	char err[256];
	struct pf_schema_item it;
	struct pf_schema *s = pf_schema_new(len && src[0] & 1 ? "rag" : NULL);
	if (!s)
		return;
	size_t half = len / 2;
	pf_schema_apply(s, "001_a.sql", src, half, err, sizeof(err));
	pf_schema_apply(s, "002_b.sql", src + half, len - half, err, sizeof(err));
	for (size_t t = 0; pf_schema_table_at(s, t, &it); t++) {
		for (size_t c = 0; pf_schema_column_at(s, t, c, &it); c++)
			if (!it.name[0] || !it.file)
				abort();
	}
	for (size_t v = 0; pf_schema_view_at(s, v, &it); v++)
		if (!it.name[0])
			abort();
	pf_schema_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy so ASan catches any read past the end. */
	char *src = malloc(size ? size : 1);
	if (!src)
		return 0;
	memcpy(src, data, size);
	lex_all(src, size);
	split_all(src, size);
	model(src, size);
	free(src);
	return 0;
}
