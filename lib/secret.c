/*
 * Secrets that come from files and rotate (SPEC §3 chat: "a token read
 * from ${file:} is re-read when the file changes, without SIGHUP").  The
 * config loader expands ${file:PATH} once; a kind that keeps a struct
 * pf_secret re-reads the file when its identity, size or mtime changed.
 * Owns the value and the path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "pf_file.h"
#include "pf_config.h"

/* PATH when s is exactly "${file:PATH}" (copied into out), else false. */
static bool whole_file_ref(const char *s, char *out, size_t len)
{
	size_t n = strlen(s);

	if (n < 9 || strncmp(s, "${file:", 7) != 0 || s[n - 1] != '}' ||
	    memchr(s + 7, '}', n - 8) || n - 8 >= len)
		return false;
	memcpy(out, s + 7, n - 8);
	out[n - 8] = '\0';
	return true;
}

static void note_identity(struct pf_secret *s, const struct stat *st)
{
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
}

int pf_secret_from(const cJSON *v, const cJSON *rawv, const char *kpath,
		   struct pf_secret *out, char *err, size_t errlen)
{
	char file[4096];
	struct stat st;

	if (!cJSON_IsString(v)) {
		snprintf(err, errlen, "%s: must be a string", kpath);
		return -1;
	}
	if (!(out->value = strdup(v->valuestring))) {
		snprintf(err, errlen, "%s: out of memory", kpath);
		return -1;
	}
	if (!cJSON_IsString(rawv) ||
	    !whole_file_ref(rawv->valuestring, file, sizeof file))
		return 0;
	if (!(out->path = strdup(file))) {
		snprintf(err, errlen, "%s: out of memory", kpath);
		return -1;
	}
	if (stat(file, &st) == 0)
		note_identity(out, &st);
	return 0;
}

int pf_cfg_secret(const cJSON *obj, const cJSON *raw, const char *path,
		  const char *key, bool required, struct pf_secret *out,
		  char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *r = raw ? cJSON_GetObjectItemCaseSensitive(raw, key) : NULL;
	char kpath[512];

	snprintf(kpath, sizeof kpath, "%s.%s", path, key);
	if (!v) {
		if (!required)
			return 0;
		snprintf(err, errlen, "%s: is required", kpath);
		return -1;
	}
	return pf_secret_from(v, r, kpath, out, err, errlen);
}

/* Trailing newlines go, as ${file:} does. */
static void trim(char *v, size_t len)
{
	while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\r'))
		v[--len] = '\0';
}

int pf_secret_refresh(struct pf_secret *s, char *err, size_t errlen)
{
	struct stat st;
	char *v = NULL;
	size_t len = 0;

	if (!s->path)
		return 0;
	if (stat(s->path, &st) != 0) {
		snprintf(err, errlen, "%s: the secret file is gone; using the"
			 " value read before", s->path);
		return -1;
	}
	if (st.st_dev == s->dev && st.st_ino == s->ino && st.st_size == s->size &&
	    st.st_mtim.tv_sec == s->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == s->mtime.tv_nsec)
		return 0;
	if (pf_file_read(s->path, PF_FILE_MAX_SECRET, &v, &len, "secret file",
			      err, errlen) < 0)
		return -1;
	if (strlen(v) != len || len == 0) {
		snprintf(err, errlen, "%s: the secret file is empty or holds a NUL"
			 " byte; using the value read before", s->path);
		free(v);
		return -1;
	}
	trim(v, len);
	explicit_bzero(s->value, strlen(s->value));
	free(s->value);
	s->value = v;
	note_identity(s, &st);
	return 1;
}

void pf_secret_free(struct pf_secret *s)
{
	if (s->value)
		explicit_bzero(s->value, strlen(s->value));
	free(s->value);
	free(s->path);
	memset(s, 0, sizeof(*s));
}
