/*
 * Reading a folder of migration files into a derived schema (bounded file
 * count and sizes, errors naming the file), its JSON form, and the
 * `preflightd schema DIR` command.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pf_schema.h"

/* The *.sql names of a folder, sorted. */
struct names {
	char **v;	/* owned, each owned */
	size_t n;
};

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A migration file: "x.sql", not hidden, a regular file (links followed). */
static bool wanted(int dfd, const char *name)
{
	size_t len = strlen(name);
	struct stat st;
	if (name[0] == '.' || len < 5 || strcmp(name + len - 4, ".sql") != 0)
		return false;
	/* A dangling link is kept so that reading it reports the error. */
	return fstatat(dfd, name, &st, 0) != 0 || S_ISREG(st.st_mode);
}

static int list_dir(DIR *d, const char *dir, struct names *ns, char *err,
		    size_t errlen)
{
	size_t cap = 0;
	for (;;) {
		errno = 0;	/* readdir reports errors only through errno */
		struct dirent *e = readdir(d);
		if (!e)
			break;
		if (!wanted(dirfd(d), e->d_name))
			continue;
		if (ns->n == PF_SCHEMA_MAX_FILES) {
			snprintf(err, errlen, "%s: more than %d .sql files", dir,
				 PF_SCHEMA_MAX_FILES);
			return -1;
		}
		if (ns->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **v = realloc(ns->v, ncap * sizeof(*v));
			if (!v)
				goto oom;
			ns->v = v;
			cap = ncap;
		}
		if (!(ns->v[ns->n] = strdup(e->d_name)))
			goto oom;
		ns->n++;
	}
	if (errno) {
		snprintf(err, errlen, "%s: cannot list the folder: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_names);
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory listing the folder", dir);
	return -1;
}

/* Reads a whole file of at most `limit` bytes into a new buffer. */
static char *read_file(int dfd, const char *dir, const char *name,
		       size_t limit, size_t *len, char *err, size_t errlen)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s/%s: cannot open: %s", dir, name,
			 strerror(errno));
		return NULL;
	}
	char *buf = malloc(limit + 1);
	size_t n = 0;
	ssize_t r = 1;
	while (buf && n <= limit && r > 0) {
		r = read(fd, buf + n, limit + 1 - n);
		if (r > 0)
			n += (size_t)r;
		else if (r < 0 && errno == EINTR)
			r = 1;
	}
	int saved = errno;
	close(fd);
	if (!buf || r < 0 || n > limit) {
		if (!buf)
			snprintf(err, errlen, "%s/%s: out of memory", dir, name);
		else if (r < 0)
			snprintf(err, errlen, "%s/%s: cannot read: %s", dir,
				 name, strerror(saved));
		else
			snprintf(err, errlen, "%s/%s: larger than %u bytes, the "
				 "limit for migration files", dir, name,
				 PF_SCHEMA_MAX_FILE_BYTES);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int apply_files(int dfd, const char *dir, const struct names *ns,
		       struct pf_schema *s, char *err, size_t errlen)
{
	size_t total = 0;
	for (size_t i = 0; i < ns->n; i++) {
		size_t len = 0;
		size_t limit = PF_SCHEMA_MAX_TOTAL_BYTES - total;
		if (limit > PF_SCHEMA_MAX_FILE_BYTES)
			limit = PF_SCHEMA_MAX_FILE_BYTES;
		char *sql = read_file(dfd, dir, ns->v[i], limit, &len, err,
				      errlen);
		if (!sql)
			return -1;
		total += len;
		int rc = pf_schema_apply(s, ns->v[i], sql, len, err, errlen);
		free(sql);
		if (rc != 0)
			return -1;
	}
	return 0;
}

int pf_schema_load_dir(const char *dir, const char *schema,
		       struct pf_schema **out, char *err, size_t errlen)
{
	struct names ns = { NULL, 0 };
	struct pf_schema *s = NULL;
	int rc = -1;
	*out = NULL;
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot read the migrations folder: %s",
			 dir, strerror(errno));
		return -1;
	}
	if (list_dir(d, dir, &ns, err, errlen) != 0)
		goto out;
	if (ns.n == 0) {
		snprintf(err, errlen, "%s: no .sql migration files in the folder",
			 dir);
		goto out;
	}
	if (!(s = pf_schema_new(schema))) {
		snprintf(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	rc = apply_files(dirfd(d), dir, &ns, s, err, errlen);
out:
	closedir(d);
	names_free(&ns);
	if (rc == 0)
		*out = s;
	else
		pf_schema_free(s);
	return rc;
}

static bool add_table(cJSON *tables, const struct pf_schema *s, size_t t)
{
	struct pf_schema_item it, col;
	pf_schema_table_at(s, t, &it);
	cJSON *o = cJSON_CreateObject();
	cJSON *cols = cJSON_CreateObject();
	if (!o || !cols || !cJSON_AddItemToObject(tables, it.name, o)) {
		cJSON_Delete(o);
		cJSON_Delete(cols);
		return false;
	}
	bool ok = cJSON_AddStringToObject(o, "file", it.file) != NULL &&
		  cJSON_AddItemToObject(o, "columns", cols);
	if (!ok)
		cJSON_Delete(cols);
	for (size_t c = 0; ok && pf_schema_column_at(s, t, c, &col); c++)
		ok = cJSON_AddStringToObject(cols, col.name, col.file) != NULL;
	if (ok && it.columns_unknown)
		ok = cJSON_AddTrueToObject(o, "columns_unknown") != NULL;
	return ok;
}

static bool add_view(cJSON *views, const struct pf_schema *s, size_t v)
{
	struct pf_schema_item it;
	pf_schema_view_at(s, v, &it);
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToObject(views, it.name, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, "file", it.file) != NULL &&
	       cJSON_AddBoolToObject(o, "materialized", it.materialized) != NULL;
}

struct cJSON *pf_schema_to_json(const struct pf_schema *s)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *tables = cJSON_AddObjectToObject(root, "tables");
	cJSON *views = cJSON_AddObjectToObject(root, "views");
	bool ok = root && tables && views &&
		  cJSON_AddStringToObject(root, "schema", pf_schema_target(s));
	for (size_t t = 0; ok && t < pf_schema_table_count(s); t++)
		ok = add_table(tables, s, t);
	for (size_t v = 0; ok && v < pf_schema_view_count(s); v++)
		ok = add_view(views, s, v);
	if (!ok) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

int pf_schema_main(const char *dir, FILE *out, FILE *err)
{
	char msg[1024];
	struct pf_schema *s = NULL;
	if (!dir || !*dir) {
		fprintf(err, "usage: preflightd schema DIR\n");
		return 2;
	}
	if (pf_schema_load_dir(dir, "public", &s, msg, sizeof(msg)) != 0) {
		fprintf(err, "preflightd schema: %s\n", msg);
		return 2;
	}
	cJSON *json = pf_schema_to_json(s);
	char *text = json ? cJSON_Print(json) : NULL;
	cJSON_Delete(json);
	pf_schema_free(s);
	if (!text) {
		fprintf(err, "preflightd schema: out of memory\n");
		return 2;
	}
	fprintf(out, "%s\n", text);
	cJSON_free(text);
	return 0;
}
