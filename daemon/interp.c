/*
 * ${VAR}, ${VAR:-default}, ${file:/path} and $$ expansion in config
 * strings (syntax documented in interp.h).  Builds each result in a growing
 * buffer it owns until it hands the string to the caller or to the tree.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config_text.h"
#include "pf_file.h"
#include "interp.h"

/* A growing output string; `failed` latches out-of-memory / too long. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void sb_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > PF_INTERP_MAX_LEN) {
		b->failed = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		char *ns = realloc(b->s, ncap);
		if (!ns) {
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static bool valid_name(const char *p, size_t n)
{
	if (n == 0 || !(p[0] == '_' || (p[0] >= 'A' && p[0] <= 'Z') ||
			(p[0] >= 'a' && p[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(p[i] == '_' || (p[i] >= 'A' && p[i] <= 'Z') ||
		      (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9')))
			return false;
	return true;
}

/* Appends the contents of the file named by p[0..n), trailing newlines cut. */
static int add_file(struct sbuf *b, const char *p, size_t n, const char *path,
		    char *err, size_t errlen)
{
	char fname[4096];
	char ferr[512];
	char *data = NULL;
	size_t len = 0;

	if (n == 0 || n >= sizeof fname) {
		snprintf(err, errlen, "%s: ${file:...} needs a file path", path);
		return -1;
	}
	memcpy(fname, p, n);
	fname[n] = '\0';
	if (pf_file_read(fname, PF_INTERP_MAX_FILE, &data, &len,
			      "${file:} secret", ferr, sizeof ferr) < 0) {
		snprintf(err, errlen, "%s: %s", path, ferr);
		return -1;
	}
	if (strlen(data) != len) {
		snprintf(err, errlen, "%s: ${file:%s} contains a NUL byte", path,
			 fname);
		free(data);
		return -1;
	}
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	sb_add(b, data, len);
	free(data);
	return 0;
}

/* Expands the body of one ${...} (between the braces, p[0..n)). */
static int expand_one(struct sbuf *b, const char *p, size_t n,
		      const char *path, char *err, size_t errlen)
{
	if (n >= 5 && memcmp(p, "file:", 5) == 0)
		return add_file(b, p + 5, n - 5, path, err, errlen);

	const char *def = NULL;
	size_t name_len = n, def_len = 0;
	const char *sep = memchr(p, ':', n);
	if (sep) {
		if ((size_t)(sep - p) + 1 >= n || sep[1] != '-') {
			snprintf(err, errlen,
				 "%s: \"${%.*s}\": use ${VAR}, ${VAR:-default} or ${file:/path}",
				 path, (int)(n > 64 ? 64 : n), p);
			return -1;
		}
		name_len = (size_t)(sep - p);
		def = sep + 2;
		def_len = n - name_len - 2;
	}
	if (!valid_name(p, name_len)) {
		snprintf(err, errlen, "%s: \"${%.*s}\" is not a valid variable name",
			 path, (int)(name_len > 64 ? 64 : name_len), p);
		return -1;
	}
	char name[256];
	if (name_len >= sizeof name) {
		snprintf(err, errlen, "%s: variable name too long", path);
		return -1;
	}
	memcpy(name, p, name_len);
	name[name_len] = '\0';
	const char *val = getenv(name);
	if (def && (!val || !*val)) {
		sb_add(b, def, def_len);
		return 0;
	}
	if (!val) {
		snprintf(err, errlen,
			 "%s: environment variable %s is not set (use ${%s:-default} for a default)",
			 path, name, name);
		return -1;
	}
	sb_add(b, val, strlen(val));
	return 0;
}

int pf_interp_string(const char *in, const char *path, char **out,
		     char *err, size_t errlen)
{
	struct sbuf b = { 0 };

	sb_add(&b, "", 0);
	for (const char *p = in; *p;) {
		const char *dollar = strchr(p, '$');
		if (!dollar) {
			sb_add(&b, p, strlen(p));
			break;
		}
		sb_add(&b, p, (size_t)(dollar - p));
		if (dollar[1] != '{') {
			/* "$$" is an escaped '$'; any other '$' is literal */
			sb_add(&b, "$", 1);
			p = dollar + (dollar[1] == '$' ? 2 : 1);
			continue;
		}
		const char *close = strchr(dollar + 2, '}');
		if (!close) {
			snprintf(err, errlen, "%s: unterminated \"${\" (missing '}')",
				 path);
			free(b.s);
			return -1;
		}
		if (expand_one(&b, dollar + 2, (size_t)(close - dollar - 2), path,
			       err, errlen) < 0) {
			free(b.s);
			return -1;
		}
		p = close + 1;
	}
	if (b.failed) {
		snprintf(err, errlen, "%s: expanded value is too long or out of memory",
			 path);
		free(b.s);
		return -1;
	}
	*out = b.s;
	return 0;
}

/* Writes the JSON path of a child into buf: "a.key" or "a[3]". */
static void child_path(char *buf, size_t len, const char *path,
		       const cJSON *parent, const cJSON *child, int index)
{
	if (cJSON_IsArray(parent))
		snprintf(buf, len, "%s[%d]", path, index);
	else if (*path)
		snprintf(buf, len, "%s.%s", path, child->string ? child->string : "");
	else
		snprintf(buf, len, "%s", child->string ? child->string : "");
}

static int replace_string(cJSON *node, const char *path, char *err,
			  size_t errlen)
{
	if (!strchr(node->valuestring, '$'))
		return 0;
	char *s = NULL;
	if (pf_interp_string(node->valuestring, path, &s, err, errlen) < 0)
		return -1;
	/* cJSON frees valuestring with its own hooks: the default ones are
	 * malloc/free, which this daemon never changes. */
	free(node->valuestring);
	node->valuestring = s;
	return 0;
}

int pf_interp_tree(cJSON *root, const char *path, char *err, size_t errlen)
{
	if (cJSON_IsString(root))
		return replace_string(root, path, err, errlen);
	if (!cJSON_IsArray(root) && !cJSON_IsObject(root))
		return 0;
	int i = 0;
	for (cJSON *c = root->child; c; c = c->next, i++) {
		char cpath[512];
		child_path(cpath, sizeof cpath, path, root, c, i);
		if (pf_interp_tree(c, cpath, err, errlen) < 0)
			return -1;
	}
	return 0;
}
