/*
 * PostgreSQL lexical rules for reading migration files: comments, string
 * literals, quoted identifiers, dollar quoting, and psql's rule for where a
 * statement ends.  Pure functions over a borrowed buffer; see sql_lexer.h.
 */
#include <string.h>

#include "sql_lexer.h"

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	       c == '\v';
}

static bool is_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_cont(unsigned char c)
{
	return is_ident_start(c) || is_digit(c) || c == '$';
}

static unsigned char at(const struct pf_sql_lexer *lx, size_t i)
{
	return i < lx->len ? (unsigned char)lx->src[i] : 0;
}

void pf_sql_lexer_init(struct pf_sql_lexer *lx, const char *src, size_t len)
{
	lx->src = src;
	lx->len = src ? len : 0;
	lx->pos = 0;
}

/* Skips one comment at pos if there is one; returns whether it did.
 * Block comments nest, as in PostgreSQL (not as in C). */
static bool skip_comment(struct pf_sql_lexer *lx)
{
	size_t p = lx->pos;
	if (at(lx, p) == '-' && at(lx, p + 1) == '-') {
		while (p < lx->len && lx->src[p] != '\n')
			p++;
		lx->pos = p;
		return true;
	}
	if (at(lx, p) != '/' || at(lx, p + 1) != '*')
		return false;
	size_t depth = 0;
	while (p < lx->len) {
		if (at(lx, p) == '/' && at(lx, p + 1) == '*') {
			depth++;
			p += 2;
		} else if (at(lx, p) == '*' && at(lx, p + 1) == '/') {
			p += 2;
			if (--depth == 0)
				break;
		} else {
			p++;
		}
	}
	lx->pos = p;
	return true;
}

static void skip_blank(struct pf_sql_lexer *lx)
{
	for (;;) {
		while (lx->pos < lx->len && is_space(at(lx, lx->pos)))
			lx->pos++;
		if (!skip_comment(lx))
			return;
	}
}

/* Reads a quoted run starting at the opening quote q, where a doubled
 * quote stands for itself and, if backslash is set, \x escapes x.
 * Returns the offset just past the closing quote (or the end). */
static size_t scan_quoted(const struct pf_sql_lexer *lx, size_t p, char q,
			  bool backslash, bool *unterminated)
{
	p++;
	while (p < lx->len) {
		char c = lx->src[p];
		if (backslash && c == '\\') {
			p += 2;
		} else if (c == q && at(lx, p + 1) == (unsigned char)q) {
			p += 2;
		} else if (c == q) {
			return p + 1;
		} else {
			p++;
		}
	}
	*unterminated = true;
	return lx->len;
}

/* Length of a dollar-quote delimiter ($$ or $tag$) at p, or 0. */
static size_t dollar_tag_len(const struct pf_sql_lexer *lx, size_t p)
{
	size_t q = p + 1;
	if (at(lx, q) == '$')
		return 2;
	if (!is_ident_start(at(lx, q)))
		return 0;
	while (q < lx->len && (is_ident_start(at(lx, q)) || is_digit(at(lx, q))))
		q++;
	return at(lx, q) == '$' ? q + 1 - p : 0;
}

/* A dollar-quoted body: everything up to the same delimiter again. */
static size_t scan_dollar(const struct pf_sql_lexer *lx, size_t p,
			  size_t taglen, bool *unterminated)
{
	const char *tag = lx->src + p;
	for (size_t q = p + taglen; q + taglen <= lx->len; q++) {
		if (lx->src[q] == '$' && memcmp(lx->src + q, tag, taglen) == 0)
			return q + taglen;
	}
	*unterminated = true;
	return lx->len;
}

static size_t scan_word(const struct pf_sql_lexer *lx, size_t p)
{
	while (p < lx->len && is_ident_cont(at(lx, p)))
		p++;
	return p;
}

static size_t scan_number(const struct pf_sql_lexer *lx, size_t p)
{
	while (p < lx->len && (is_digit(at(lx, p)) || at(lx, p) == '.' ||
			       is_ident_start(at(lx, p))))
		p++;
	return p;
}

/* Words that glue to a following quote: E'..' (backslash escapes) and
 * U&'..' / U&"..".  Returns the token kind, or PF_SQL_END for a plain
 * word; *end receives the end of the literal. */
static enum pf_sql_kind prefixed_literal(const struct pf_sql_lexer *lx,
					 size_t p, size_t wend, size_t *end,
					 bool *unterminated)
{
	unsigned char c = at(lx, p);
	if (wend == p + 1 && (c == 'e' || c == 'E') && at(lx, wend) == '\'') {
		*end = scan_quoted(lx, wend, '\'', true, unterminated);
		return PF_SQL_STRING;
	}
	if (wend == p + 1 && (c == 'u' || c == 'U') && at(lx, wend) == '&') {
		unsigned char q = at(lx, wend + 1);
		if (q == '\'' || q == '"') {
			*end = scan_quoted(lx, wend + 1, (char)q, false,
					   unterminated);
			return q == '"' ? PF_SQL_QUOTED : PF_SQL_STRING;
		}
	}
	return PF_SQL_END;
}

/* Reads the token starting at p (not blank, not a comment). */
static enum pf_sql_kind scan_token(const struct pf_sql_lexer *lx, size_t p,
				   size_t *end, bool *unterm)
{
	unsigned char c = at(lx, p);
	if (c == '\'') {
		*end = scan_quoted(lx, p, '\'', false, unterm);
		return PF_SQL_STRING;
	}
	if (c == '"') {
		*end = scan_quoted(lx, p, '"', false, unterm);
		return PF_SQL_QUOTED;
	}
	if (c == '$') {
		size_t taglen = dollar_tag_len(lx, p);
		if (taglen) {
			*end = scan_dollar(lx, p, taglen, unterm);
			return PF_SQL_DOLLAR;
		}
		if (is_digit(at(lx, p + 1))) {
			*end = p + 1;
			while (is_digit(at(lx, *end)))
				(*end)++;
			return PF_SQL_PARAM;
		}
	}
	if (is_ident_start(c)) {
		size_t wend = scan_word(lx, p);
		enum pf_sql_kind k = prefixed_literal(lx, p, wend, end, unterm);
		if (k != PF_SQL_END)
			return k;
		*end = wend;
		return PF_SQL_WORD;
	}
	if (is_digit(c) || (c == '.' && is_digit(at(lx, p + 1)))) {
		*end = scan_number(lx, p);
		return PF_SQL_NUMBER;
	}
	*end = p + 1;
	return PF_SQL_OP;
}

enum pf_sql_kind pf_sql_next(struct pf_sql_lexer *lx, struct pf_sql_token *tok)
{
	skip_blank(lx);
	memset(tok, 0, sizeof(*tok));
	tok->off = lx->pos;
	if (lx->pos >= lx->len)
		return tok->kind = PF_SQL_END;
	size_t end = lx->pos;
	tok->kind = scan_token(lx, lx->pos, &end, &tok->unterminated);
	if (end > lx->len)	/* a trailing backslash in an E'' string */
		end = lx->len;
	tok->len = end - lx->pos;
	lx->pos = end;
	return tok->kind;
}

bool pf_sql_is_word(const char *src, const struct pf_sql_token *tok,
		    const char *kw)
{
	if (tok->kind != PF_SQL_WORD || strlen(kw) != tok->len)
		return false;
	for (size_t i = 0; i < tok->len; i++) {
		unsigned char c = (unsigned char)src[tok->off + i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)kw[i])
			return false;
	}
	return true;
}

bool pf_sql_is_op(const char *src, const struct pf_sql_token *tok, char c)
{
	return tok->kind == PF_SQL_OP && src[tok->off] == c;
}

/* Appends byte c to a name being built; at the length limit, cuts back to
 * a character boundary (as the server's pg_mbcliplen) and reports full. */
static bool name_put(char *buf, size_t *n, unsigned char c)
{
	if (*n < PF_SQL_NAME_MAX) {
		buf[(*n)++] = (char)c;
		return true;
	}
	if ((c & 0xC0) == 0x80) {
		while (*n > 0 && ((unsigned char)buf[*n - 1] & 0xC0) == 0x80)
			(*n)--;
		if (*n > 0 && (unsigned char)buf[*n - 1] >= 0xC0)
			(*n)--;
	}
	return false;
}

bool pf_sql_ident(const char *src, const struct pf_sql_token *tok,
		  char buf[PF_SQL_NAME_MAX + 1])
{
	size_t n = 0;
	buf[0] = '\0';
	/* The server refuses NUL bytes in SQL; a name must be a C string. */
	if (memchr(src + tok->off, '\0', tok->len))
		return false;
	if (tok->kind == PF_SQL_WORD) {
		for (size_t i = 0; i < tok->len; i++) {
			unsigned char c = (unsigned char)src[tok->off + i];
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			if (!name_put(buf, &n, c))
				break;
		}
	} else if (tok->kind == PF_SQL_QUOTED) {
		const char *s = src + tok->off;
		size_t i = s[0] == '"' ? 1 : 3;	/* "..." or U&"..." */
		size_t end = tok->unterminated ? tok->len : tok->len - 1;
		for (; i < end; i++) {
			if (s[i] == '"')	/* "" stands for " */
				i++;
			if (i >= end || !name_put(buf, &n, (unsigned char)s[i]))
				break;
		}
	}
	buf[n] = '\0';
	return n > 0;
}

/* Tracks what decides whether a ';' ends the statement. */
struct split_state {
	size_t paren;		/* open parentheses */
	size_t begin;		/* open BEGIN [ATOMIC] / CASE ... END */
	size_t words;		/* unquoted words seen so far */
	char lead[4];		/* first letters of CREATE OR REPLACE FUNCTION */
};

/* psql's heuristic: only in CREATE [OR REPLACE] FUNCTION|PROCEDURE, at
 * parenthesis depth 0, BEGIN opens a body that END closes (CASE nests). */
static void split_word(struct split_state *st, const char *src,
		       const struct pf_sql_token *t)
{
	static const char *const lead_words[] = {
		"create", "or", "replace", "function", "procedure" };
	if (st->words < sizeof(st->lead)) {
		for (size_t i = 0; i < 5; i++)
			if (pf_sql_is_word(src, t, lead_words[i]))
				st->lead[st->words] = lead_words[i][0];
	}
	st->words++;
	const char *l = st->lead;
	bool routine = l[0] == 'c' &&
		(l[1] == 'f' || l[1] == 'p' ||
		 (l[1] == 'o' && l[2] == 'r' && (l[3] == 'f' || l[3] == 'p')));
	if (!routine || st->paren > 0)
		return;
	if (pf_sql_is_word(src, t, "begin"))
		st->begin++;
	else if (pf_sql_is_word(src, t, "case") && st->begin > 0)
		st->begin++;
	else if (pf_sql_is_word(src, t, "end") && st->begin > 0)
		st->begin--;
}

bool pf_sql_next_statement(struct pf_sql_lexer *lx, size_t *off, size_t *len)
{
	struct split_state st;
	struct pf_sql_token t;
	bool have = false;
	size_t first = 0, last = 0;

	memset(&st, 0, sizeof(st));
	while (pf_sql_next(lx, &t) != PF_SQL_END) {
		if (pf_sql_is_op(lx->src, &t, ';') && st.paren == 0 &&
		    st.begin == 0) {
			if (have)
				break;
			continue;	/* an empty statement */
		}
		if (pf_sql_is_op(lx->src, &t, '('))
			st.paren++;
		else if (pf_sql_is_op(lx->src, &t, ')') && st.paren > 0)
			st.paren--;
		else if (t.kind == PF_SQL_WORD)
			split_word(&st, lx->src, &t);
		if (!have)
			first = t.off;
		have = true;
		last = t.off + t.len;
	}
	*off = first;
	*len = have ? last - first : 0;
	return have;
}
