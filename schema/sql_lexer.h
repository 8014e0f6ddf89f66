/*
 * A pure PostgreSQL tokenizer and statement splitter (no I/O, no
 * allocation), used to read migration files.  It knows just enough of the
 * server's lexical rules to never mistake a comment, string, quoted name or
 * dollar-quoted body for DDL.
 */
#ifndef PF_SQL_LEXER_H
#define PF_SQL_LEXER_H

#include <stdbool.h>
#include <stddef.h>

/* PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes. */
#define PF_SQL_NAME_MAX 63

enum pf_sql_kind {
	PF_SQL_END = 0,	/* end of input */
	PF_SQL_WORD,	/* unquoted identifier or keyword */
	PF_SQL_QUOTED,	/* "double-quoted identifier" (also U&"...") */
	PF_SQL_STRING,	/* '...' or E'...' literal */
	PF_SQL_DOLLAR,	/* $tag$ ... $tag$ body */
	PF_SQL_NUMBER,	/* numeric literal */
	PF_SQL_PARAM,	/* $1 */
	PF_SQL_OP	/* one punctuation or operator character */
};

/* A token is a span of the lexer's input; nothing is copied. */
struct pf_sql_token {
	enum pf_sql_kind kind;
	size_t off;		/* byte offset of the first character */
	size_t len;		/* bytes, delimiters included */
	bool unterminated;	/* string/quote/body ran to end of input */
};

/* Lexer state: src is borrowed and must outlive the lexer.  Copying the
 * struct saves a position (for look-ahead and backtracking). */
struct pf_sql_lexer {
	const char *src;
	size_t len;
	size_t pos;
};

void pf_sql_lexer_init(struct pf_sql_lexer *lx, const char *src, size_t len);

/* Skips white space and comments (-- and nested slash-star), then reads
 * one token.  Returns its kind; PF_SQL_END at end of input, forever. */
enum pf_sql_kind pf_sql_next(struct pf_sql_lexer *lx, struct pf_sql_token *tok);

/* Finds the next non-empty statement: a span from its first token to the
 * end of its last token, the terminating ';' excluded.  A ';' ends a
 * statement only outside comments, strings, quoted names, dollar bodies,
 * parentheses and BEGIN ATOMIC ... END bodies (the rules psql uses to send
 * statements).  Returns false when no statement is left. */
bool pf_sql_next_statement(struct pf_sql_lexer *lx, size_t *off, size_t *len);

/* True when tok is the unquoted word kw (kw given in lower case). */
bool pf_sql_is_word(const char *src, const struct pf_sql_token *tok,
		    const char *kw);
/* True when tok is the one-character operator c. */
bool pf_sql_is_op(const char *src, const struct pf_sql_token *tok, char c);

/* The name an identifier token denotes: unquoted words folded to lower
 * case (ASCII only, as the server does), quoted names unescaped ("" -> ")
 * with case kept; both truncated to PF_SQL_NAME_MAX bytes on a UTF-8
 * character boundary.  buf needs PF_SQL_NAME_MAX + 1 bytes.  Returns
 * false (and an empty buf) when tok is not an identifier or is empty. */
bool pf_sql_ident(const char *src, const struct pf_sql_token *tok,
		  char buf[PF_SQL_NAME_MAX + 1]);

#endif
