/* Unit tests for schema/sql_lexer.c: tokens, names, statement splitting. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "sql_lexer.h"

/* Tokenizes src and renders "KIND:text|KIND:text|..." for comparison. */
static const char *toks(const char *src, char *out, size_t len)
{
	static const char *const kinds[] = {
		"END", "W", "Q", "S", "D", "N", "P", "O" };
	struct pf_sql_lexer lx;
	struct pf_sql_token t;
	out[0] = '\0';
	pf_sql_lexer_init(&lx, src, strlen(src));
	for (int i = 0; i < 64 && pf_sql_next(&lx, &t) != PF_SQL_END; i++) {
		size_t n = strlen(out);
		snprintf(out + n, len - n, "%s%s:%.*s%s", n ? "|" : "",
			 kinds[t.kind], (int)t.len, src + t.off,
			 t.unterminated ? "!" : "");
	}
	return out;
}

/* Splits src and renders the statements joined by "#". */
static const char *stmts(const char *src, char *out, size_t len)
{
	struct pf_sql_lexer lx;
	size_t off, n;
	out[0] = '\0';
	pf_sql_lexer_init(&lx, src, strlen(src));
	for (int i = 0; i < 64 && pf_sql_next_statement(&lx, &off, &n); i++) {
		size_t k = strlen(out);
		snprintf(out + k, len - k, "%s%.*s", k ? "#" : "", (int)n,
			 src + off);
	}
	return out;
}

/* The name the first token of src denotes. */
static const char *name_of(const char *src, char *buf)
{
	struct pf_sql_lexer lx;
	struct pf_sql_token t;
	pf_sql_lexer_init(&lx, src, strlen(src));
	pf_sql_next(&lx, &t);
	if (!pf_sql_ident(src, &t, buf))
		snprintf(buf, PF_SQL_NAME_MAX + 1, "(none)");
	return buf;
}

static void test_basic_tokens(void)
{
	char b[512];
	PF_EXPECT_STR(toks("CREATE TABLE t(a int);", b, sizeof b),
		      "W:CREATE|W:TABLE|W:t|O:(|W:a|W:int|O:)|O:;");
	PF_EXPECT_STR(toks("x::text, 1.5e3 $1", b, sizeof b),
		      "W:x|O::|O::|W:text|O:,|N:1.5e3|P:$1");
	PF_EXPECT_STR(toks("a$b c_1", b, sizeof b), "W:a$b|W:c_1");
	PF_EXPECT_STR(toks("", b, sizeof b), "");
	PF_EXPECT_STR(toks("   \n\t ", b, sizeof b), "");
}

static void test_comments(void)
{
	char b[512];
	PF_EXPECT_STR(toks("a -- CREATE TABLE x;\nb", b, sizeof b), "W:a|W:b");
	PF_EXPECT_STR(toks("a /* x /* nested; */ still */ b", b, sizeof b),
		      "W:a|W:b");
	PF_EXPECT_STR(toks("a /* unterminated /* ; ", b, sizeof b), "W:a");
	PF_EXPECT_STR(toks("a-b/c", b, sizeof b), "W:a|O:-|W:b|O:/|W:c");
	PF_EXPECT_STR(toks("a --", b, sizeof b), "W:a");
}

static void test_strings(void)
{
	char b[512];
	PF_EXPECT_STR(toks("'it''s; DROP TABLE x' y", b, sizeof b),
		      "S:'it''s; DROP TABLE x'|W:y");
	PF_EXPECT_STR(toks("'a\\' b", b, sizeof b), "S:'a\\'|W:b");
	PF_EXPECT_STR(toks("E'a\\'; b' c", b, sizeof b), "S:E'a\\'; b'|W:c");
	PF_EXPECT_STR(toks("e'x''y' z", b, sizeof b), "S:e'x''y'|W:z");
	PF_EXPECT_STR(toks("date'2020' ex'1'", b, sizeof b),
		      "W:date|S:'2020'|W:ex|S:'1'");
	PF_EXPECT_STR(toks("'open", b, sizeof b), "S:'open!");
	PF_EXPECT_STR(toks("E'\\", b, sizeof b), "S:E'\\!");
	PF_EXPECT_STR(toks("U&'d\\0061' U&\"x\"", b, sizeof b),
		      "S:U&'d\\0061'|Q:U&\"x\"");
}

static void test_quoted_and_names(void)
{
	char b[512], n[PF_SQL_NAME_MAX + 1];
	PF_EXPECT_STR(toks("\"My \"\"T\"\";\" x", b, sizeof b),
		      "Q:\"My \"\"T\"\";\"|W:x");
	PF_EXPECT_STR(name_of("\"My \"\"T\"\";\"", n), "My \"T\";");
	PF_EXPECT_STR(name_of("ChatTurns", n), "chatturns");
	PF_EXPECT_STR(name_of("\"ChatTurns\"", n), "ChatTurns");
	PF_EXPECT_STR(name_of("\"\"", n), "(none)");
	PF_EXPECT_STR(name_of("'str'", n), "(none)");
	PF_EXPECT_STR(name_of("\"open", n), "open");
	struct pf_sql_token t = { PF_SQL_QUOTED, 0, 4, false };
	PF_EXPECT(!pf_sql_ident("\"a\0\"", &t, n));
	/* Only ASCII letters fold, as on the server. */
	PF_EXPECT_STR(name_of("\xc3\x89T\xc3\x89", n), "\xc3\x89t\xc3\x89");
}

static void test_name_truncation(void)
{
	char src[200], n[PF_SQL_NAME_MAX + 1];
	memset(src, 'A', 70);
	src[70] = '\0';
	name_of(src, n);
	PF_EXPECT(strlen(n) == 63 && n[0] == 'a' && n[62] == 'a');
	/* 62 ASCII bytes, then a 2-byte character: cut before it. */
	memset(src, 'b', 62);
	memcpy(src + 62, "\xc3\xa9xyz", 6);
	name_of(src, n);
	PF_EXPECT(strlen(n) == 62);
	/* 61 ASCII bytes + 2-byte character = 63: kept whole. */
	memset(src, 'c', 61);
	memcpy(src + 61, "\xc3\xa9xyz", 6);
	name_of(src, n);
	PF_EXPECT(strlen(n) == 63 && (unsigned char)n[62] == 0xa9);
}

static void test_dollar_quotes(void)
{
	char b[512];
	PF_EXPECT_STR(toks("AS $$ BEGIN; DROP TABLE t; END $$ x", b, sizeof b),
		      "W:AS|D:$$ BEGIN; DROP TABLE t; END $$|W:x");
	PF_EXPECT_STR(toks("$fn$ a $$ b $x$ c $fn$ y", b, sizeof b),
		      "D:$fn$ a $$ b $x$ c $fn$|W:y");
	PF_EXPECT_STR(toks("$a$ open", b, sizeof b), "D:$a$ open!");
	PF_EXPECT_STR(toks("$ 1", b, sizeof b), "O:$|N:1");
	PF_EXPECT_STR(toks("$1x$", b, sizeof b), "P:$1|W:x$");
	PF_EXPECT_STR(toks("$_t9$'$_t9$", b, sizeof b), "D:$_t9$'$_t9$");
}

static void test_keyword_helpers(void)
{
	const char *src = "Create \"create\" ( ;";
	struct pf_sql_lexer lx;
	struct pf_sql_token t;
	pf_sql_lexer_init(&lx, src, strlen(src));
	pf_sql_next(&lx, &t);
	PF_EXPECT(pf_sql_is_word(src, &t, "create"));
	PF_EXPECT(!pf_sql_is_word(src, &t, "creat"));
	pf_sql_next(&lx, &t);
	PF_EXPECT(!pf_sql_is_word(src, &t, "create"));
	pf_sql_next(&lx, &t);
	PF_EXPECT(pf_sql_is_op(src, &t, '('));
	PF_EXPECT(!pf_sql_is_op(src, &t, ';'));
}

static void test_split(void)
{
	char b[1024];
	PF_EXPECT_STR(stmts("a; b ;; c", b, sizeof b), "a#b#c");
	PF_EXPECT_STR(stmts(";;  ; -- only comments\n/* x; */", b, sizeof b), "");
	PF_EXPECT_STR(stmts("select ';' ; select $$;$$;", b, sizeof b),
		      "select ';'#select $$;$$");
	PF_EXPECT_STR(stmts("a /* ; */ b -- ;\n; c", b, sizeof b),
		      "a /* ; */ b#c");
	PF_EXPECT_STR(stmts("select \";\" ; x", b, sizeof b), "select \";\"#x");
	PF_EXPECT_STR(stmts("create rule r as on insert to t do (a; b); z", b,
			    sizeof b),
		      "create rule r as on insert to t do (a; b)#z");
	PF_EXPECT_STR(stmts("select E'\\';' ; y", b, sizeof b),
		      "select E'\\';'#y");
}

static void test_split_begin_atomic(void)
{
	char b[1024];
	PF_EXPECT_STR(stmts("CREATE FUNCTION f() RETURNS int LANGUAGE sql "
			    "BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; "
			    "SELECT 2; END; x", b, sizeof b),
		      "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN "
		      "ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END#x");
	PF_EXPECT_STR(stmts("create or replace procedure p() begin atomic "
			    "select 1; end; y", b, sizeof b),
		      "create or replace procedure p() begin atomic select 1; "
		      "end#y");
	/* A transaction's BEGIN is a statement of its own. */
	PF_EXPECT_STR(stmts("BEGIN; CREATE TABLE t(a int); END;", b, sizeof b),
		      "BEGIN#CREATE TABLE t(a int)#END");
	PF_EXPECT_STR(stmts("CREATE TABLE t(a int); COMMIT", b, sizeof b),
		      "CREATE TABLE t(a int)#COMMIT");
}

static void test_hostile_input(void)
{
	char b[1024];
	/* Unbalanced parentheses keep the rest in one statement, as psql. */
	PF_EXPECT_STR(stmts("a (; b", b, sizeof b), "a (; b");
	PF_EXPECT_STR(stmts("a ); b", b, sizeof b), "a )#b");
	const char nul[] = "a\0; b";
	struct pf_sql_lexer lx;
	size_t off, n, count = 0;
	pf_sql_lexer_init(&lx, nul, sizeof(nul) - 1);
	while (pf_sql_next_statement(&lx, &off, &n) && count < 10)
		count++;
	PF_EXPECT(count == 2);
	pf_sql_lexer_init(&lx, NULL, 5);
	PF_EXPECT(!pf_sql_next_statement(&lx, &off, &n));
}

int main(void)
{
	pf_test("basic tokens", test_basic_tokens);
	pf_test("comments", test_comments);
	pf_test("strings", test_strings);
	pf_test("quoted identifiers and names", test_quoted_and_names);
	pf_test("name truncation at 63 bytes", test_name_truncation);
	pf_test("dollar quotes", test_dollar_quotes);
	pf_test("keyword helpers", test_keyword_helpers);
	pf_test("statement split", test_split);
	pf_test("BEGIN ATOMIC bodies", test_split_begin_atomic);
	pf_test("hostile input", test_hostile_input);
	return pf_test_summary();
}
