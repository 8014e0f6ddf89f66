/*
 * Config text: comment blanking that keeps positions,
 * and cJSON parsing with errors mapped to FILE:LINE:COL.  Owns nothing
 * beyond the buffers it returns.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config_text.h"
#include "pf_file.h"

void pf_text_position(const char *text, size_t pos, unsigned *line,
		      unsigned *col)
{
	unsigned l = 1, c = 1;

	for (size_t i = 0; i < pos && text[i]; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xC0) != 0x80) {
			/* UTF-8 continuation bytes do not start a new column */
			c++;
		}
	}
	*line = l;
	*col = c;
}

static void position_error(const char *text, size_t pos, const char *source,
			   const char *msg, char *err, size_t errlen)
{
	unsigned line, col;

	pf_text_position(text, pos, &line, &col);
	snprintf(err, errlen, "%s:%u:%u: %s", source, line, col, msg);
}

/* Scanner state while blanking comments. */
enum scan_state { S_CODE, S_STRING, S_ESCAPE, S_LINE_COMMENT, S_BLOCK_COMMENT };

/* Handles one byte in code; returns the next state.  Comment openers are
 * blanked here; depth tracks {[ nesting outside strings. */
static enum scan_state scan_code(char *t, size_t i, size_t len, int *depth)
{
	char ch = t[i];

	if (ch == '"')
		return S_STRING;
	if (ch == '{' || ch == '[')
		(*depth)++;
	else if (ch == '}' || ch == ']')
		(*depth)--;
	else if (ch == '/' && i + 1 < len && (t[i + 1] == '/' || t[i + 1] == '*')) {
		enum scan_state next = t[i + 1] == '/' ? S_LINE_COMMENT
						       : S_BLOCK_COMMENT;
		t[i] = ' ';
		t[i + 1] = ' ';
		return next;
	}
	return S_CODE;
}

/* Inside a comment: blanks byte *i (newlines are kept) and returns the
 * next state; consumes both bytes of a closing star-slash. */
static enum scan_state scan_comment(char *t, size_t *i, size_t len,
				    enum scan_state st)
{
	if (t[*i] == '\n')
		return st == S_LINE_COMMENT ? S_CODE : st;
	if (st == S_BLOCK_COMMENT && t[*i] == '*' && *i + 1 < len &&
	    t[*i + 1] == '/') {
		t[*i] = ' ';
		t[++*i] = ' ';
		return S_CODE;
	}
	t[*i] = ' ';
	return st;
}

/* JSON strings end on the same line: a newline or the end of the text
 * inside one means a missing '"'. */
static int unterminated(const char *t, size_t start, const char *source,
			char *err, size_t errlen)
{
	position_error(t, start, source,
		       "unterminated string (missing '\"' before the end of the line)",
		       err, errlen);
	return -1;
}

int pf_text_strip_comments(char *t, size_t len, const char *source,
			   char *err, size_t errlen)
{
	enum scan_state st = S_CODE;
	size_t comment_start = 0, string_start = 0;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		if (t[i] == '\0') {
			position_error(t, i, source, "NUL byte in configuration",
				       err, errlen);
			return -1;
		}
		switch (st) {
		case S_CODE:
			st = scan_code(t, i, len, &depth);
			if (st == S_STRING)
				string_start = i;
			if (st == S_LINE_COMMENT || st == S_BLOCK_COMMENT) {
				comment_start = i;
				i++;	/* the second byte of the opener is blank already */
			}
			if (depth > PF_CONFIG_MAX_DEPTH) {
				position_error(t, i, source,
					       "nesting is too deep (more than 32 levels)",
					       err, errlen);
				return -1;
			}
			break;
		case S_STRING:
			if (t[i] == '\\')
				st = S_ESCAPE;
			else if (t[i] == '"')
				st = S_CODE;
			else if (t[i] == '\n')
				return unterminated(t, string_start, source, err, errlen);
			break;
		case S_ESCAPE:
			st = S_STRING;
			break;
		case S_LINE_COMMENT:
		case S_BLOCK_COMMENT:
			st = scan_comment(t, &i, len, st);
			break;
		}
	}
	if (st == S_STRING || st == S_ESCAPE)
		return unterminated(t, string_start, source, err, errlen);
	if (st == S_BLOCK_COMMENT) {
		position_error(t, comment_start, source,
			       "unterminated /* comment", err, errlen);
		return -1;
	}
	return 0;
}

/* A message for cJSON's failure at byte `pos` of the stripped text. */
static const char *syntax_message(const char *t, size_t len, size_t pos,
				  char *buf, size_t buflen)
{
	size_t end = len;

	while (end > 0 && strchr(" \t\r\n", t[end - 1]))
		end--;
	if (pos >= end)
		return "unexpected end of input (missing '}' or ']'?)";
	char ch = t[pos];
	size_t prev = pos;
	while (prev > 0 && strchr(" \t\r\n", t[prev - 1]))
		prev--;
	if ((ch == '}' || ch == ']') && prev > 0 && t[prev - 1] == ',')
		return "trailing comma before this bracket";
	if (ch == '"' && prev > 0 && strchr("\"0123456789el}]", t[prev - 1]))
		return "missing ',' before this value";
	if (ch == '\'')
		return "strings must use double quotes";
	if ((unsigned char)ch < 0x20 || (unsigned char)ch >= 0x7f)
		return "syntax error: unexpected character";
	snprintf(buf, buflen, "syntax error at '%c'", ch);
	return buf;
}

/* cJSON reports a failed object key one byte past the offending character
 * (its string parser has already stepped over the expected '"').  A key
 * is expected right after '{' or ',' (whitespace aside): when the byte
 * before the reported position follows one of those, point at it. */
static size_t adjust_key_failure(const char *t, size_t pos)
{
	if (pos == 0 || strchr(" \t\r\n", t[pos - 1]))
		return pos;
	size_t q = pos - 1;
	while (q > 0 && strchr(" \t\r\n", t[q - 1]))
		q--;
	if (q > 0 && (t[q - 1] == '{' || t[q - 1] == ','))
		return pos - 1;
	return pos;
}

int pf_text_parse(const char *text, size_t len, const char *source,
		  cJSON **out, char *err, size_t errlen)
{
	char *t = malloc(len + 1);
	if (!t) {
		snprintf(err, errlen, "%s: out of memory", source);
		return -1;
	}
	memcpy(t, text, len);
	t[len] = '\0';
	if (len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0)
		memset(t, ' ', 3);	/* a UTF-8 byte order mark is not JSON */
	if (pf_text_strip_comments(t, len, source, err, errlen) < 0) {
		free(t);
		return -1;
	}
	const char *end = NULL;
	/* len + 1 includes the NUL so cJSON accepts the end of the buffer */
	cJSON *doc = cJSON_ParseWithLengthOpts(t, len + 1, &end, 1);
	if (!doc) {
		size_t pos = end && end >= t ? (size_t)(end - t) : 0;
		pos = adjust_key_failure(t, pos > len ? len : pos);
		char buf[64];
		position_error(t, pos, source,
			       syntax_message(t, len, pos, buf, sizeof buf),
			       err, errlen);
		free(t);
		return -1;
	}
	free(t);
	*out = doc;
	return 0;
}

/* Contents of NAME_FILE's file, trailing newlines trimmed. */
static int read_value_file(const char *var, const char *path, size_t max,
			   char **out, char *err, size_t errlen)
{
	char ferr[512];
	size_t len = 0;

	if (pf_file_read(path, max, out, &len, "file", ferr,
			      sizeof ferr) < 0) {
		snprintf(err, errlen, "environment: %s: %s", var, ferr);
		return -1;
	}
	if (strlen(*out) != len) {
		snprintf(err, errlen, "environment: %s: %s contains a NUL byte",
			 var, path);
		free(*out);
		*out = NULL;
		return -1;
	}
	while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
		(*out)[--len] = '\0';
	return 0;
}

int pf_env_value(const char *name, size_t max, char **out, char **file,
		 char *err, size_t errlen)
{
	char fname[64];
	const char *v = getenv(name), *f;

	snprintf(fname, sizeof fname, "%s_FILE", name);
	f = getenv(fname);
	*out = NULL;
	if (file)
		*file = NULL;
	if (v && !*v)
		v = NULL;
	if (f && !*f)
		f = NULL;
	if (v && f) {
		snprintf(err, errlen, "environment: both %s and %s are set; set only one",
			 name, fname);
		return -1;
	}
	if (f && file && !(*file = strdup(f))) {
		snprintf(err, errlen, "environment: out of memory");
		return -1;
	}
	if (f && read_value_file(fname, f, max, out, err, errlen) < 0) {
		if (file) {
			free(*file);
			*file = NULL;
		}
		return -1;
	}
	if (v && !(*out = strdup(v))) {
		snprintf(err, errlen, "environment: out of memory");
		return -1;
	}
	return 0;
}
