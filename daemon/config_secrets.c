/*
 * What counts as secret for a check (SPEC §4), decided once at load: the
 * secrets its key table knows (passwords, tokens, JWT secrets, the
 * secret parts of URLs, header values) and every ${file:} content of the
 * document, wherever it was used.  They are masked in everything shown:
 * results (error, hint, details) as they are recorded, hint overrides,
 * and `preflightd config`.  The check owns its list.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config_priv.h"
#include "pf_keys.h"
#include "pf_mask.h"

/* Appends a copy of s unless it is empty or already listed. */
static int add(char ***v, size_t *n, const char *s)
{
	char **grown;

	if (!s || !*s)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	if (!(grown = realloc(*v, (*n + 2) * sizeof *grown)))
		return -1;
	*v = grown;
	if (!(grown[*n] = strdup(s)))
		return -1;
	grown[++*n] = NULL;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

int pf_config_file_values(const cJSON *raw, const cJSON *exp, char ***v,
			  size_t *n)
{
	if (cJSON_IsString(raw) && cJSON_IsString(exp))
		return strstr(raw->valuestring, "${file:") ?
			add(v, n, exp->valuestring) : 0;
	for (raw = raw ? raw->child : NULL, exp = exp ? exp->child : NULL;
	     raw && exp; raw = raw->next, exp = exp->next)
		if (pf_config_file_values(raw, exp, v, n) < 0)
			return -1;
	return 0;
}

void pf_config_file_values_free(char **v, size_t n)
{
	free_list(v, n);
}

struct collect {
	struct pf_check_cfg *c;
	int rc;
};

static void on_secret(void *arg, const char *secret)
{
	struct collect *k = arg;

	if (add(&k->c->secrets, &k->c->n_secrets, secret) < 0)
		k->rc = -1;
}

/* Longest first, so that a secret holding another is masked whole. */
static int longer_first(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

struct url_match {
	const char *value;
	bool found;
};

static void on_url(void *arg, const char *url)
{
	struct url_match *m = arg;

	m->found |= strcmp(url, m->value) == 0;
}

/* A ${file:} content that is one of the check's URLs: the URL's own
 * masking shows it without its secrets, and those are listed already. */
static bool is_own_url(const struct pf_check_cfg *c, const char *value)
{
	struct url_match m = { value, false };

	pf_keys_urls(c->ops->config, c->kind_cfg, on_url, &m);
	return m.found;
}

int pf_check_secrets_build(struct pf_check_cfg *c, const struct pf_load *ld)
{
	struct collect k = { c, 0 };

	pf_keys_secrets(c->ops->config, c->kind_cfg, on_secret, &k);
	for (size_t i = 0; i < ld->n_file_values; i++) {
		if (is_own_url(c, ld->file_values[i]))
			continue;
		on_secret(&k, ld->file_values[i]);
		if (add(&c->file_secrets, &c->n_file_secrets, ld->file_values[i]) < 0)
			k.rc = -1;
	}
	if (c->n_secrets > 1)
		qsort(c->secrets, c->n_secrets, sizeof *c->secrets, longer_first);
	if (c->n_file_secrets > 1)
		qsort(c->file_secrets, c->n_file_secrets, sizeof *c->file_secrets,
		      longer_first);
	pf_check_mask_file_values(c, c->hints);
	return k.rc;
}

void pf_check_secrets_free(struct pf_check_cfg *c)
{
	free_list(c->secrets, c->n_secrets);
	free_list(c->file_secrets, c->n_file_secrets);
	c->secrets = c->file_secrets = NULL;
	c->n_secrets = c->n_file_secrets = 0;
}

void pf_check_mask(const struct pf_check_cfg *c, char *s, size_t cap)
{
	pf_mask_secrets(s, cap, (const char *const *)c->secrets, c->n_secrets);
}

static void mask_json(char *const *v, size_t n, cJSON *j)
{
	cJSON *it;

	if (!j || n == 0)
		return;
	if (cJSON_IsString(j) && j->valuestring) {
		/* masking never lengthens */
		pf_mask_secrets(j->valuestring, 0, (const char *const *)v, n);
		return;
	}
	cJSON_ArrayForEach(it, j)
		mask_json(v, n, it);
}

void pf_check_mask_json(const struct pf_check_cfg *c, cJSON *j)
{
	mask_json(c->secrets, c->n_secrets, j);
}

void pf_check_mask_file_values(const struct pf_check_cfg *c, cJSON *j)
{
	mask_json(c->file_secrets, c->n_file_secrets, j);
}
