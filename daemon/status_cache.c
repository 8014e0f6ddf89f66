/*
 * Incremental GET /status (status_cache.h): one text fragment per check,
 * `"name":{...}` exactly as cJSON prints it inside "checks", and bodies
 * made of the head (top-level fields and groups) and references to the
 * fragments.  The cache and each body hold a reference to a fragment;
 * the last one frees it.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"
#include "status_cache.h"

/* One check's rendered object, shared by the cache and the bodies being
 * written from it: `,"name":{...}`, the comma that separates it from the
 * one before included (the first of a body skips it).  Freed with its
 * last reference. */
struct frag_text {
	unsigned refs;
	size_t len;		/* of text, the comma included */
	char text[];
};

struct frag {
	struct frag_text *t;	/* one reference; NULL = none yet */
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

/* A body frozen when it was made: the head, then references to the
 * fragments as they were, then the tail; read out in order. */
struct pf_status_body {
	char *head;			/* owned: the head object without its
					 * closing brace, then CHECKS_KEY */
	size_t head_len;
	struct frag_text **parts;	/* owned references, n of them */
	size_t n;
	size_t len;			/* of the whole body */
	/* read position: piece 0 is the head, 1..n the fragments, n + 1
	 * the tail; off is how much of that piece was read */
	size_t piece, off;
};

static const char CHECKS_KEY[] = ",\"checks\":{";

struct pf_status_cache *pf_status_cache_new(void)
{
	return calloc(1, sizeof(struct pf_status_cache));
}

static void frag_unref(struct frag_text *t)
{
	if (t && --t->refs == 0)
		free(t);
}

void pf_status_cache_reset(struct pf_status_cache *c)
{
	for (size_t i = 0; c->frags && i < c->n; i++)
		frag_unref(c->frags[i].t);
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
	if (pf_status_cache_bound(c, v))
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

/* `{"name":{...}}` as cJSON printed it, as the `,"name":{...}` kept. */
static struct frag_text *frag_text_new(const char *printed)
{
	size_t plen = strlen(printed);
	struct frag_text *t;

	if (plen < 2 || !(t = malloc(sizeof(*t) + plen - 1)))
		return NULL;
	t->refs = 1;
	t->len = plen - 1;
	t->text[0] = ',';
	memcpy(t->text + 1, printed + 1, plen - 2);
	return t;
}

/* Renders check i inside a one-member object so that its name is escaped
 * exactly as cJSON escapes it as a key of "checks" in the full body. */
static int render_frag(struct pf_status_cache *c, const struct pf_view *v,
		       size_t i, const char *caused_by, bool stale)
{
	struct frag *f = &c->frags[i];
	cJSON *wrap = cJSON_CreateObject();
	cJSON *obj = wrap ? pf_render_check_obj(v, i) : NULL;
	struct frag_text *t;
	char *text;

	if (!obj || !cJSON_AddItemToObject(wrap, v->cfg->checks[i].name, obj)) {
		cJSON_Delete(obj);
		cJSON_Delete(wrap);
		return -1;
	}
	text = cJSON_PrintUnformatted(wrap);
	cJSON_Delete(wrap);	/* details are a reference: the state keeps them */
	t = text ? frag_text_new(text) : NULL;
	free(text);
	if (!t)
		return -1;
	frag_unref(f->t);	/* a body being written may still hold it */
	f->t = t;
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
	return f->t && f->runs == v->checks[i].state.runs &&
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
 * `,"checks":{frag,frag,...}}`.  Takes one reference to each fragment. */
static struct pf_status_body *freeze(const struct pf_status_cache *c,
				     const char *head, const struct pf_set *s)
{
	size_t hlen = strlen(head), klen = sizeof(CHECKS_KEY) - 1;
	struct pf_status_body *b;

	if (hlen < 2 || head[hlen - 1] != '}' || !(b = calloc(1, sizeof(*b))))
		return NULL;
	hlen--;
	b->head = malloc(hlen + klen);
	b->parts = malloc((s->n ? s->n : 1) * sizeof(*b->parts));
	if (!b->head || !b->parts) {
		pf_status_body_free(b);
		return NULL;
	}
	memcpy(b->head, head, hlen);
	memcpy(b->head + hlen, CHECKS_KEY, klen);
	b->head_len = hlen + klen;
	b->len = b->head_len + 2;	/* the tail, "}}" */
	for (size_t k = 0; k < s->n; k++) {
		struct frag_text *t = c->frags[s->idx[k]].t;

		t->refs++;
		b->parts[b->n++] = t;
		b->len += t->len - (k == 0);
	}
	return b;
}

/* Piece i of b (see struct pf_status_body) into *len. */
static const char *piece(const struct pf_status_body *b, size_t i, size_t *len)
{
	if (i == 0) {
		*len = b->head_len;
		return b->head;
	}
	if (i <= b->n) {
		const struct frag_text *t = b->parts[i - 1];
		size_t skip = i == 1;	/* the first fragment has no comma */

		*len = t->len - skip;
		return t->text + skip;
	}
	*len = 2;	/* i == n + 1 */
	return "}}";
}

size_t pf_status_body_read(struct pf_status_body *b, char *dst, size_t room)
{
	size_t done = 0;

	while (done < room && b->piece <= b->n + 1) {
		size_t len, take;
		const char *p = piece(b, b->piece, &len);

		take = len - b->off < room - done ? len - b->off : room - done;
		memcpy(dst + done, p + b->off, take);
		done += take;
		b->off += take;
		if (b->off == len) {
			b->piece++;
			b->off = 0;
		}
	}
	return done;
}

size_t pf_status_body_len(const struct pf_status_body *b)
{
	return b->len;
}

void pf_status_body_free(struct pf_status_body *b)
{
	if (!b)
		return;
	for (size_t k = 0; k < b->n; k++)
		frag_unref(b->parts[k]);
	free(b->parts);
	free(b->head);
	free(b);
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

/* The body for group from the fragments, each brought up to date first
 * (so that the head and every check object say the same). */
static struct pf_status_body *body(struct pf_status_cache *c,
				   const struct pf_view *v, int group)
{
	struct pf_set s;
	cJSON *head = NULL;
	char *text = NULL;
	struct pf_status_body *out = NULL;

	if (bind_view(c, v) < 0)
		return NULL;
	if (pf_set_init(&s, v, group) < 0)
		return NULL;
	for (size_t k = 0; k < s.n; k++) {
		size_t i = s.idx[k];

		if (refresh(c, v, i) < 0)
			goto done;
	}
	head = pf_render_status_head(v, group, &s);
	text = head ? cJSON_PrintUnformatted(head) : NULL;
	if (text)
		out = freeze(c, text, &s);
done:
	cJSON_Delete(head);
	free(text);
	pf_set_free(&s);
	return out;
}

char *pf_status_cache_render(struct pf_status_cache *c,
			     const struct pf_view *v, int group, size_t *len)
{
	struct pf_status_body *b = body(c, v, group);
	char *text = b ? malloc(b->len + 1) : NULL;

	if (text) {
		*len = pf_status_body_read(b, text, b->len);
		text[*len] = '\0';
	}
	pf_status_body_free(b);
	return text;
}

struct pf_status_body *pf_status_cache_body(struct pf_status_cache *c,
					    const struct pf_view *v, int group)
{
	return body(c, v, group);
}

bool pf_status_cache_bound(const struct pf_status_cache *c,
			   const struct pf_view *v)
{
	return c->frags && c->generation == v->generation && c->n == v->n_checks;
}
