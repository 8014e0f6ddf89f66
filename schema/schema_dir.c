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

/* Reads a whole file of at most `limit` bytes into a new buffer; shown
 * names it in errors. */
static char *read_file(int dfd, const char *name, const char *shown,
		       size_t limit, size_t *len, char *err, size_t errlen)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", shown, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", shown);
		close(fd);
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
			snprintf(err, errlen, "%s: out of memory", shown);
		else if (r < 0)
			snprintf(err, errlen, "%s: cannot read: %s", shown,
				 strerror(saved));
		else
			snprintf(err, errlen, "%s: larger than %u bytes, the "
				 "limit for migration files", shown,
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
		char shown[4352];
		snprintf(shown, sizeof shown, "%s/%s", dir, ns->v[i]);
		char *sql = read_file(dfd, ns->v[i], shown, limit, &len, err,
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

/* A single file (a `pg_dump -s` dump): applied under its base name. */
static int load_file(const char *path, struct pf_schema *s, char *err,
		     size_t errlen)
{
	const char *slash = strrchr(path, '/');
	size_t len = 0;
	char *sql = read_file(AT_FDCWD, path, path, PF_SCHEMA_MAX_FILE_BYTES,
			      &len, err, errlen);
	int rc;

	if (!sql)
		return -1;
	rc = pf_schema_apply(s, slash ? slash + 1 : path, sql, len, err, errlen);
	free(sql);
	return rc;
}

static int load_dir(DIR *d, const char *dir, struct pf_schema *s, char *err,
		    size_t errlen)
{
	struct names ns = { NULL, 0 };
	int rc = -1;

	if (list_dir(d, dir, &ns, err, errlen) != 0)
		goto out;
	if (ns.n == 0) {
		snprintf(err, errlen, "%s: no .sql migration files in the folder",
			 dir);
		goto out;
	}
	rc = apply_files(dirfd(d), dir, &ns, s, err, errlen);
out:
	names_free(&ns);
	return rc;
}

int pf_schema_load(const char *path, const char *schema,
		   struct pf_schema **out, char *err, size_t errlen)
{
	struct pf_schema *s = NULL;
	struct stat st;
	DIR *d = NULL;
	int rc = -1;

	*out = NULL;
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read the migrations: %s", path,
			 strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: neither a folder of migrations nor a"
			 " schema dump file", path);
		return -1;
	}
	if (S_ISDIR(st.st_mode) && !(d = opendir(path))) {
		snprintf(err, errlen, "%s: cannot read the migrations folder: %s",
			 path, strerror(errno));
		return -1;
	}
	if (!(s = pf_schema_new(schema))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	rc = d ? load_dir(d, path, s, err, errlen) : load_file(path, s, err, errlen);
out:
	if (d)
		closedir(d);
	if (rc == 0)
		*out = s;
	else
		pf_schema_free(s);
	return rc;
}

/* "t" in the default schema, else "schema.t" (key and display name). */
static void display_name(const struct pf_schema *s, const struct pf_schema_item *it,
			 char *buf, size_t len)
{
	if (strcmp(it->schema, pf_schema_default(s)) == 0)
		snprintf(buf, len, "%s", it->name);
	else
		snprintf(buf, len, "%s.%s", it->schema, it->name);
}

static bool add_table(cJSON *tables, const struct pf_schema *s, size_t t)
{
	struct pf_schema_item it, col;
	char key[160];
	pf_schema_table_at(s, t, &it);
	display_name(s, &it, key, sizeof key);
	cJSON *o = cJSON_CreateObject();
	cJSON *cols = cJSON_CreateObject();
	if (!o || !cols || !cJSON_AddItemToObject(tables, key, o)) {
		cJSON_Delete(o);
		cJSON_Delete(cols);
		return false;
	}
	bool ok = cJSON_AddStringToObject(o, "schema", it.schema) &&
		  cJSON_AddStringToObject(o, "file", it.file) != NULL &&
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
	char key[160];
	pf_schema_view_at(s, v, &it);
	display_name(s, &it, key, sizeof key);
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToObject(views, key, o)) {
		cJSON_Delete(o);
		return false;
	}
	return cJSON_AddStringToObject(o, "schema", it.schema) &&
	       cJSON_AddStringToObject(o, "file", it.file) != NULL &&
	       cJSON_AddBoolToObject(o, "materialized", it.materialized) != NULL;
}

/* summary[schema] = {"tables", "columns", "views", "materialized_views"}. */
static cJSON *summary_for(cJSON *summary, const char *schema)
{
	cJSON *o = cJSON_GetObjectItemCaseSensitive(summary, schema);
	const char *keys[] = { "tables", "columns", "views", "materialized_views" };

	if (o)
		return o;
	o = cJSON_AddObjectToObject(summary, schema);
	for (size_t i = 0; o && i < 4; i++)
		cJSON_AddNumberToObject(o, keys[i], 0);
	return o;
}

static void bump(cJSON *o, const char *key, size_t by)
{
	cJSON *n = cJSON_GetObjectItemCaseSensitive(o, key);
	if (n)
		cJSON_SetNumberValue(n, n->valuedouble + (double)by);
}

static bool add_summary(cJSON *root, const struct pf_schema *s)
{
	cJSON *summary = cJSON_AddObjectToObject(root, "summary");
	struct pf_schema_item it;
	cJSON *o;

	for (size_t t = 0; summary && pf_schema_table_at(s, t, &it); t++) {
		if (!(o = summary_for(summary, it.schema)))
			return false;
		bump(o, "tables", 1);
		bump(o, "columns", it.columns);
	}
	for (size_t v = 0; summary && pf_schema_view_at(s, v, &it); v++) {
		if (!(o = summary_for(summary, it.schema)))
			return false;
		bump(o, it.materialized ? "materialized_views" : "views", 1);
	}
	return summary != NULL;
}

struct cJSON *pf_schema_to_json(const struct pf_schema *s)
{
	cJSON *root = cJSON_CreateObject();
	const char *last = pf_schema_last_file(s);
	bool ok = root &&
		  cJSON_AddStringToObject(root, "default_schema", pf_schema_default(s)) &&
		  cJSON_AddNumberToObject(root, "files", (double)pf_schema_file_count(s)) &&
		  (last ? cJSON_AddStringToObject(root, "last_file", last)
			: cJSON_AddNullToObject(root, "last_file")) &&
		  add_summary(root, s);
	cJSON *tables = ok ? cJSON_AddObjectToObject(root, "tables") : NULL;
	cJSON *views = ok ? cJSON_AddObjectToObject(root, "views") : NULL;
	ok = ok && tables && views;
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

int pf_schema_main(const char *path, const char *schema, FILE *out, FILE *err)
{
	char msg[1024];
	struct pf_schema *s = NULL;
	if (!path || !*path) {
		fprintf(err, "usage: preflightd schema [--schema S] PATH\n");
		return 2;
	}
	if (pf_schema_load(path, schema ? schema : "public", &s, msg,
			   sizeof(msg)) != 0) {
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
