/*
 * The notifiers (notifier.h): per notifier a bounded FIFO of message
 * bodies, one POST in flight, retries with backoff (1 s doubling to 30 s)
 * on connection errors, 5xx and 429 for up to 5 minutes, then the message
 * counts as failed.  Owns its entries, their queues, timers and requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config_notify.h"
#include "engine.h"
#include "notifier.h"
#include "notify_msg.h"
#include "pf_config.h"
#include "pf_util.h"
#include "pf_xfer.h"

#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define SEND_TIMEOUT_MS 10000

struct msg {
	char *body;		/* owned */
	double first_ms;	/* monotonic: when it was queued */
	double due_ms;		/* next attempt */
	unsigned attempts;
};

struct entry {
	struct pf_notifier *n;		/* borrowed: the owner */
	struct pf_notify_stat *stat;	/* borrowed: n->stats[index] */
	char *url;			/* owned copy; a secret: never logged */
	char *routing_key;		/* owned copy, or NULL */
	enum pf_notify_format format;
	bool on_fail, on_recover;
	uint64_t min_interval_ms;
	bool *match;			/* owned copy, n_match entries */
	size_t n_match;
	/* monotonic time of the last fail message per check (min_interval);
	 * owned, n_match entries, and which checks have a fail sent */
	double *last_fail_ms;
	bool *fail_open;
	struct msg q[PF_NOTIFY_QUEUE_MAX];	/* ring */
	size_t head, len;
	struct pf_xfer *x;		/* owned: the POST in flight, or NULL */
	struct event *timer;		/* owned: the next due attempt */
};

struct pf_notifier {
	struct pf_engine *e;		/* borrowed */
	struct entry *v;		/* owned */
	struct pf_notify_stat *stats;	/* owned, parallel to v */
	size_t n;
};

static void send_next(struct entry *en);

/* What a receiver answers is not read beyond its status: a small cap. */
static const struct pf_xfer_opts answer_opts = { .max_body = 64 * 1024 };

static void drop_head(struct entry *en)
{
	free(en->q[en->head].body);
	en->q[en->head].body = NULL;
	en->head = (en->head + 1) % PF_NOTIFY_QUEUE_MAX;
	en->len--;
}

static void arm(struct entry *en, double due_ms)
{
	double wait = due_ms - pf_mono_ms();
	struct timeval tv;

	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)((long)wait % 1000 * 1000);
	evtimer_add(en->timer, &tv);
}

static bool retryable(long code, CURLcode rc)
{
	return rc != CURLE_OK || code == 429 || code >= 500 || code == 0;
}

static void on_sent(void *arg, struct pf_xfer *x, CURLcode rc)
{
	struct entry *en = arg;
	struct msg *m = &en->q[en->head];
	long code = pf_xfer_status(x);
	double now = pf_mono_ms();
	unsigned shift;

	en->x = NULL;
	pf_xfer_free(x);
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		en->stat->sent++;
		drop_head(en);
	} else if (retryable(code, rc) && now - m->first_ms < PF_NOTIFY_RETRY_FOR_MS) {
		shift = m->attempts < 5 ? m->attempts : 5;
		m->attempts++;
		m->due_ms = now + (double)(BACKOFF_FIRST_MS << shift);
		if (m->due_ms - now > BACKOFF_MAX_MS)
			m->due_ms = now + BACKOFF_MAX_MS;
	} else {
		en->stat->failures++;
		pf_log(&en->n->e->log, PF_LOG_WARNING, NULL, NULL, -1,
		       "notify %s: a message was not delivered (HTTP %ld after %u"
		       " attempts)", en->stat->name, code, m->attempts + 1);
		drop_head(en);
	}
	send_next(en);
}

/* The queue's head, once due, unless a request is in flight. */
static void send_next(struct entry *en)
{
	struct msg *m;
	char err[256];

	if (en->x || en->len == 0)
		return;
	m = &en->q[en->head];
	if (m->due_ms > pf_mono_ms()) {
		arm(en, m->due_ms);
		return;
	}
	en->x = pf_xfer_start(en->n->e->curl, &(struct pf_xfer_req){
		.url = en->url, .method = "POST", .body = m->body,
		.content_type = "application/json", .opts = &answer_opts,
		.timeout_ms = SEND_TIMEOUT_MS },
		on_sent, en, err, sizeof err);
	if (!en->x) {		/* out of memory: try again later */
		m->due_ms = pf_mono_ms() + BACKOFF_MAX_MS;
		arm(en, m->due_ms);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	send_next(arg);
}

/* Appends a message; when the queue is full the oldest one waiting goes
 * (counted), never the one in flight. */
static void push(struct entry *en, char *body)
{
	struct msg *m;

	if (en->len == PF_NOTIFY_QUEUE_MAX) {
		if (en->x) {
			size_t second = (en->head + 1) % PF_NOTIFY_QUEUE_MAX;

			free(en->q[second].body);
			en->q[second] = en->q[en->head];	/* the one in flight */
			en->q[en->head].body = NULL;
			en->head = second;
			en->len--;
		} else {
			drop_head(en);
		}
		en->stat->dropped++;
	}
	m = &en->q[(en->head + en->len) % PF_NOTIFY_QUEUE_MAX];
	*m = (struct msg){ body, pf_mono_ms(), pf_mono_ms(), 0 };
	en->len++;
	send_next(en);
}

/* Whether this transition is one the entry tells about: fail (or warn)
 * after pass or unknown, pass after a fail it told about. */
static bool wanted(struct entry *en, size_t i, enum pf_status before,
		   enum pf_status after, bool *recover)
{
	bool failing = after == PF_STATUS_FAIL || after == PF_STATUS_WARN;
	double now = pf_mono_ms();

	if (i >= en->n_match || !en->match[i])
		return false;
	*recover = after == PF_STATUS_PASS;
	if (*recover) {
		bool open = en->fail_open[i];

		en->fail_open[i] = false;
		return en->on_recover && open;
	}
	if (!failing || before == PF_STATUS_FAIL || before == PF_STATUS_WARN ||
	    !en->on_fail)
		return false;
	if (en->last_fail_ms[i] > 0 &&
	    now - en->last_fail_ms[i] < (double)en->min_interval_ms)
		return false;	/* flapping: min_interval */
	en->last_fail_ms[i] = now;
	en->fail_open[i] = true;
	return true;
}

void pf_notifier_transition(struct pf_notifier *n, size_t i,
			    enum pf_status before)
{
	struct pf_view v;
	bool recover;

	if (!n || i >= n->e->n_checks)
		return;
	pf_engine_view(n->e, &v);
	for (size_t k = 0; k < n->n; k++) {
		struct entry *en = &n->v[k];
		struct pf_notify_event ev = {
			.format = en->format, .check = v.cfg->checks[i].name,
			.instance = v.instance ? v.instance : "", .link = v.cfg->public_url,
		};
		char *body;

		if (!wanted(en, i, before, v.checks[i].state.status, &recover))
			continue;
		ev.recover = recover;
		body = pf_notify_body(&ev, &v, i, en->routing_key);
		if (!body) {
			en->stat->failures++;
			continue;
		}
		/* the object is masked already; this is the belt to its braces */
		pf_check_mask(&v.cfg->checks[i], body, 0);
		push(en, body);
	}
}

static enum pf_notify_format format_of(const char *s)
{
	return strcmp(s, "slack") == 0 ? PF_NOTIFY_SLACK :
	       strcmp(s, "pagerduty") == 0 ? PF_NOTIFY_PAGERDUTY : PF_NOTIFY_JSON;
}

static void entry_clear(struct entry *en)
{
	if (en->x)
		pf_xfer_free(en->x);
	if (en->timer)
		event_free(en->timer);
	while (en->len)
		drop_head(en);
	if (en->url)
		explicit_bzero(en->url, strlen(en->url));
	if (en->routing_key)
		explicit_bzero(en->routing_key, strlen(en->routing_key));
	free(en->url);
	free(en->routing_key);
	free(en->match);
	free(en->last_fail_ms);
	free(en->fail_open);
	memset(en, 0, sizeof *en);
}

/* A new entry for c; its queue is empty. */
static int entry_init(struct pf_notifier *n, struct entry *en,
		      struct pf_notify_stat *st, const struct pf_notify_cfg *c,
		      size_t n_checks)
{
	memset(en, 0, sizeof *en);
	en->n = n;
	en->stat = st;
	en->format = format_of(c->format);
	en->on_fail = c->on_fail;
	en->on_recover = c->on_recover;
	en->min_interval_ms = c->min_interval_ms;
	en->n_match = n_checks;
	en->url = strdup(c->url->value);
	en->routing_key = c->routing_key && c->routing_key->value ?
		strdup(c->routing_key->value) : NULL;
	en->match = calloc(n_checks + 1, sizeof *en->match);
	en->last_fail_ms = calloc(n_checks + 1, sizeof *en->last_fail_ms);
	en->fail_open = calloc(n_checks + 1, sizeof *en->fail_open);
	en->timer = evtimer_new(n->e->base, on_timer, en);
	if (!en->url || !en->match || !en->last_fail_ms || !en->fail_open ||
	    !en->timer || (c->routing_key && c->routing_key->value && !en->routing_key))
		return -1;
	memcpy(en->match, c->match, n_checks * sizeof *en->match);
	return 0;
}

/* Moves the queue of old (same name) into en; old keeps nothing. */
static void take_queue(struct entry *en, struct entry *old)
{
	if (old->x) {		/* the request in flight goes again from en */
		pf_xfer_free(old->x);
		old->x = NULL;
	}
	while (old->len && en->len < PF_NOTIFY_QUEUE_MAX) {
		en->q[(en->head + en->len++) % PF_NOTIFY_QUEUE_MAX] = old->q[old->head];
		old->q[old->head].body = NULL;
		old->head = (old->head + 1) % PF_NOTIFY_QUEUE_MAX;
		old->len--;
	}
	en->stat->sent = old->stat->sent;
	en->stat->failures = old->stat->failures;
	en->stat->dropped = old->stat->dropped;
}

int pf_notifier_configure(struct pf_notifier *n)
{
	const struct pf_config *cfg = n->e->cfg;
	size_t count = cfg->notify.n;
	struct entry *v = calloc(count + 1, sizeof *v);
	struct pf_notify_stat *st = calloc(count + 1, sizeof *st);
	int rc = 0;

	if (!v || !st) {
		free(v);
		free(st);
		return -1;
	}
	for (size_t k = 0; k < count; k++) {
		const struct pf_notify_cfg *c = (const struct pf_notify_cfg *)cfg->notify.v + k;

		pf_strlcpy(st[k].name, c->name, sizeof st[k].name);
		if (entry_init(n, &v[k], &st[k], c, cfg->n_checks) < 0)
			rc = -1;
		for (size_t j = 0; j < n->n; j++)
			if (strcmp(n->stats[j].name, c->name) == 0)
				take_queue(&v[k], &n->v[j]);
	}
	for (size_t j = 0; j < n->n; j++)
		entry_clear(&n->v[j]);
	free(n->v);
	free(n->stats);
	n->v = v;
	n->stats = st;
	n->n = count;
	for (size_t k = 0; k < count; k++)
		send_next(&v[k]);
	return rc;
}

struct pf_notifier *pf_notifier_new(struct pf_engine *e)
{
	struct pf_notifier *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->e = e;
	if (pf_notifier_configure(n) < 0) {
		pf_notifier_free(n);
		return NULL;
	}
	return n;
}

const struct pf_notify_stat *pf_notifier_stats(const struct pf_notifier *n,
					       size_t *count)
{
	*count = n ? n->n : 0;
	return n ? n->stats : NULL;
}

void pf_notifier_free(struct pf_notifier *n)
{
	if (!n)
		return;
	for (size_t k = 0; k < n->n; k++)
		entry_clear(&n->v[k]);
	free(n->v);
	free(n->stats);
	free(n);
}
