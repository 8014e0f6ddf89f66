/*
 * Incremental GET /status (status_cache.h): one text fragment per check,
 * `"name":{...}` exactly as cJSON prints it inside "checks", and the body
 * assembled from the head (top-level fields and groups) and the fragments.
 * Owns the fragments and a name lookup over the config they were made for.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"
#include "status_cache.h"

struct frag {
	char *text;		/* owned: cJSON's `{"name":{...}}`; NULL = none yet */
	size_t len;		/* of `"name":{...}`, which starts at text + 1 */
	uint64_t runs;		/* the check's state.runs when rendered */
	const char *caused_by;	/* borrowed from cfg: the caused_by it shows */
	bool stale;		/* an on-demand result shown as stale */
};

struct pf_status_cache {
	uint64_t generation;		/* of the config the fragments show */
	size_t n;
	struct frag *frags;		/* owned, n entries; NULL when unbound */
	size_t renders;
};

static const char CHECKS_KEY[] = ",\"checks\":{";

struct pf_status_cache *pf_status_cache_new(void)
{
	return calloc(1, sizeof(struct pf_status_cache));
}

void pf_status_cache_reset(struct pf_status_cache *c)
{
	for (size_t i = 0; c->frags && i < c->n; i++)
		free(c->frags[i].text);
	free(c->frags);
	c->frags = NULL;
	c->n = 0;
}

void pf_status_cache_free(struct pf_status_cache *c)
{
	if (!c)
		return;
	pf_status_cache_reset(c);
	free(c);
}

size_t pf_status_cache_renders(const struct pf_status_cache *c)
{
	return c->renders;
}

/* Binds the cache to v's config and checks; fragments made for another
 * config would show stale names, targets and dependencies, so they go.
 * Returns -1 when out of memory (the cache is then empty). */
static int bind_view(struct pf_status_cache *c, const struct pf_view *v)
{
	if (c->frags && c->generation == v->generation && c->n == v->n_checks)
		return 0;
	pf_status_cache_reset(c);
	c->frags = calloc(v->n_checks ? v->n_checks : 1, sizeof(*c->frags));
	if (!c->frags) {
		pf_status_cache_reset(c);
		return -1;
	}
	c->generation = v->generation;
	c->n = v->n_checks;
	return 0;
}

/* Renders check i inside a one-member object so that its name is escaped
 * exactly as cJSON escapes it as a key of "checks" in the full body. */
static int render_frag(struct pf_status_cache *c, const struct pf_view *v,
		       size_t i, const char *caused_by, bool stale)
{
	struct frag *f = &c->frags[i];
	cJSON *wrap = cJSON_CreateObject();
	cJSON *obj = wrap ? pf_render_check_obj(v, i) : NULL;
	char *text;

	if (!obj || !cJSON_AddItemToObject(wrap, v->cfg->checks[i].name, obj)) {
		cJSON_Delete(obj);
		cJSON_Delete(wrap);
		return -1;
	}
	text = cJSON_PrintUnformatted(wrap);
	cJSON_Delete(wrap);	/* details are a reference: the state keeps them */
	if (!text || strlen(text) < 2) {
		free(text);
		return -1;
	}
	free(f->text);
	f->text = text;
	f->len = strlen(text) - 2;
	f->runs = v->checks[i].state.runs;
	f->caused_by = caused_by;
	f->stale = stale;
	c->renders++;
	return 0;
}

/* Re-renders check i's fragment if what it shows may have changed: its own
 * state (every result bumps runs) or the root cause it names, which
 * follows the statuses of the checks it depends on. */
static bool current(const struct pf_status_cache *c, const struct pf_view *v,
		    size_t i, const char **cause, bool *stale)
{
	const struct frag *f = &c->frags[i];

	*cause = pf_caused_by(v, i);
	*stale = pf_state_stale(&v->checks[i].state, &v->cfg->checks[i],
				v->now_mono_ms);
	return f->text && f->runs == v->checks[i].state.runs &&
	       f->caused_by == *cause && f->stale == *stale;
}

static int refresh(struct pf_status_cache *c, const struct pf_view *v, size_t i)
{
	const char *cause;
	bool stale;

	if (current(c, v, i, &cause, &stale))
		return 0;
	return render_frag(c, v, i, cause, stale);
}

/* head is the printed object without "checks"; its closing brace becomes
 * `,"checks":{frag,frag,...}}`. */
static char *assemble(const struct pf_status_cache *c, const char *head,
		      const struct pf_set *s, size_t *len)
{
	size_t hlen = strlen(head), klen = sizeof(CHECKS_KEY) - 1, total;
	char *out, *p;

	if (hlen < 2 || head[hlen - 1] != '}')
		return NULL;
	hlen--;
	total = hlen + klen + sizeof("}}");
	for (size_t k = 0; k < s->n; k++)
		total += c->frags[s->idx[k]].len + (k > 0);
	if (!(out = malloc(total)))
		return NULL;
	memcpy(out, head, hlen);
	p = out + hlen;
	memcpy(p, CHECKS_KEY, klen);
	p += klen;
	for (size_t k = 0; k < s->n; k++) {
		const struct frag *f = &c->frags[s->idx[k]];

		if (k > 0)
			*p++ = ',';
		memcpy(p, f->text + 1, f->len);
		p += f->len;
	}
	memcpy(p, "}}", sizeof("}}"));
	*len = total - 1;
	return out;
}

size_t pf_status_cache_refresh(struct pf_status_cache *c,
			       const struct pf_view *v, int group, size_t max)
{
	struct pf_set s;
	size_t done = 0, left = 0;

	if (bind_view(c, v) < 0 || pf_set_init(&s, v, group) < 0)
		return 0;	/* out of memory: the render reports it */
	for (size_t k = 0; k < s.n; k++) {
		size_t i = s.idx[k];
		const char *cause;
		bool stale;

		if (current(c, v, i, &cause, &stale))
			continue;
		if (done < max && render_frag(c, v, i, cause, stale) == 0)
			done++;
		else
			left++;
	}
	pf_set_free(&s);
	return left;
}

/* The body for group from the fragments; each check's fragment is
 * brought up to date first (all_current) or only rendered when missing. */
static char *body(struct pf_status_cache *c, const struct pf_view *v,
		  int group, bool all_current, size_t *len)
{
	struct pf_set s;
	cJSON *head = NULL;
	char *text = NULL, *out = NULL;

	if (bind_view(c, v) < 0)
		return NULL;
	if (pf_set_init(&s, v, group) < 0)
		return NULL;
	for (size_t k = 0; k < s.n; k++) {
		size_t i = s.idx[k];

		if ((all_current || !c->frags[i].text) && refresh(c, v, i) < 0)
			goto done;
	}
	head = pf_render_status_head(v, group, &s);
	text = head ? cJSON_PrintUnformatted(head) : NULL;
	if (text)
		out = assemble(c, text, &s, len);
done:
	cJSON_Delete(head);
	free(text);
	pf_set_free(&s);
	return out;
}

char *pf_status_cache_render(struct pf_status_cache *c,
			     const struct pf_view *v, int group, size_t *len)
{
	return body(c, v, group, true, len);
}

char *pf_status_cache_assemble(struct pf_status_cache *c,
			       const struct pf_view *v, int group, size_t *len)
{
	return body(c, v, group, false, len);
}
