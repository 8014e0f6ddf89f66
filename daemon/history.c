/*
 * A check's recent past (history.h): rings of runs and transitions and
 * the time buckets behind the uptime ratios.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "history.h"
#include "pf_util.h"

/* Moves a bucket ring forward to the bucket of `key`, zeroing the ones
 * skipped (no probe ran in them). */
static void advance(struct pf_history_bucket *b, unsigned n, uint32_t *newest,
		    uint32_t key)
{
	if (key <= *newest)
		return;
	if (key - *newest >= n)
		memset(b, 0, n * sizeof *b);
	else
		for (uint32_t k = *newest + 1; k <= key; k++)
			b[k % n] = (struct pf_history_bucket){ 0, 0 };
	*newest = key;
}

static void count(struct pf_history_bucket *b, bool passed)
{
	if (b->total == UINT16_MAX) {	/* keep the ratio, halve the weights */
		b->total /= 2;
		b->pass /= 2;
	}
	b->total++;
	b->pass += passed;
}

bool pf_history_add(struct pf_history **hp, time_t now, enum pf_status before,
		    enum pf_status after, enum pf_reason reason, bool passed,
		    double duration_ms)
{
	struct pf_history *h = *hp;
	uint32_t t = now > 0 ? (uint32_t)now : 0;
	unsigned i;

	if (!h && !(h = *hp = calloc(1, sizeof *h)))
		return false;
	if (!h->m5_key && !h->h1_key && !h->h6_key) {
		h->m5_key = t / 300;
		h->h1_key = t / 3600;
		h->h6_key = t / 21600;
	}
	i = (h->head_run + h->n_runs) % PF_HISTORY_RUNS;
	if (h->n_runs == PF_HISTORY_RUNS)
		h->head_run = (h->head_run + 1) % PF_HISTORY_RUNS;
	else
		h->n_runs++;
	h->run_t[i] = t;
	h->run_ms[i] = (float)duration_ms;
	h->run_what[i] = (uint8_t)(((unsigned)after << 5) | ((unsigned)reason & 31u));
	if (before != after) {
		i = (h->head_trans + h->n_trans) % PF_HISTORY_TRANSITIONS;
		if (h->n_trans == PF_HISTORY_TRANSITIONS)
			h->head_trans = (h->head_trans + 1) % PF_HISTORY_TRANSITIONS;
		else
			h->n_trans++;
		h->trans[i] = (struct pf_history_transition){ t, (uint8_t)before,
							      (uint8_t)after, (uint8_t)reason };
	}
	advance(h->m5, 12, &h->m5_key, t / 300);
	advance(h->h1, 24, &h->h1_key, t / 3600);
	advance(h->h6, 28, &h->h6_key, t / 21600);
	count(&h->m5[h->m5_key % 12], passed);
	count(&h->h1[h->h1_key % 24], passed);
	count(&h->h6[h->h6_key % 28], passed);
	return true;
}

/* Sums the buckets of the last `span` keys up to now's (those older than
 * the ring's newest by more than the ring holds are gone). */
static void sum(const struct pf_history_bucket *b, unsigned n, uint32_t newest,
		uint32_t now_key, unsigned span, unsigned long *pass,
		unsigned long *total)
{
	for (unsigned k = 0; k < span && k < n; k++) {
		uint32_t key = now_key - k;

		if (key > newest || newest - key >= n)
			continue;
		*pass += b[key % n].pass;
		*total += b[key % n].total;
	}
}

double pf_history_uptime(const struct pf_history *h, time_t now,
			 unsigned window_s)
{
	unsigned long pass = 0, total = 0;
	uint32_t t = now > 0 ? (uint32_t)now : 0;

	if (!h)
		return NAN;
	if (window_s <= 3600)
		sum(h->m5, 12, h->m5_key, t / 300, window_s / 300, &pass, &total);
	else if (window_s <= 86400)
		sum(h->h1, 24, h->h1_key, t / 3600, window_s / 3600, &pass, &total);
	else
		sum(h->h6, 28, h->h6_key, t / 21600, window_s / 21600, &pass, &total);
	return total ? (double)pass / (double)total : NAN;
}

_Static_assert(PF_REASON_COUNT <= 32, "reason must fit 5 bits of run_what");
_Static_assert(PF_STATUS_FAIL < 8, "status must fit 3 bits of run_what");

bool pf_history_run_at(const struct pf_history *h, unsigned i,
		       struct pf_history_run *out)
{
	unsigned k;

	if (!h || i >= h->n_runs)
		return false;
	k = (h->head_run + h->n_runs - 1 - i) % PF_HISTORY_RUNS;
	*out = (struct pf_history_run){ h->run_t[k], h->run_ms[k],
					(uint8_t)(h->run_what[k] >> 5),
					(uint8_t)(h->run_what[k] & 31u) };
	return true;
}

static void add_time(cJSON *o, uint32_t t)
{
	struct timespec ts = { .tv_sec = (time_t)t };
	char buf[40];

	cJSON_AddStringToObject(o, "time", pf_time_rfc3339(&ts, buf, sizeof buf));
}

static cJSON *runs_json(const struct pf_history *h)
{
	cJSON *a = cJSON_CreateArray();

	/* oldest first, as a strip reads */
	for (unsigned k = h ? h->n_runs : 0; a && k > 0; k--) {
		struct pf_history_run r;
		cJSON *o = cJSON_CreateObject();

		if (!pf_history_run_at(h, k - 1, &r))
			break;
		add_time(o, r.t);
		cJSON_AddStringToObject(o, "status", pf_status_name(r.status));
		if (r.reason)
			cJSON_AddStringToObject(o, "reason", pf_reason_name(r.reason));
		else
			cJSON_AddNullToObject(o, "reason");
		cJSON_AddNumberToObject(o, "duration_ms",
					round(r.duration_ms * 1000.0) / 1000.0);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *transitions_json(const struct pf_history *h)
{
	cJSON *a = cJSON_CreateArray();

	for (unsigned k = 0; a && h && k < h->n_trans; k++) {
		const struct pf_history_transition *t =
			&h->trans[(h->head_trans + k) % PF_HISTORY_TRANSITIONS];
		cJSON *o = cJSON_CreateObject();

		add_time(o, t->t);
		cJSON_AddStringToObject(o, "from", pf_status_name(t->from));
		cJSON_AddStringToObject(o, "to", pf_status_name(t->to));
		if (t->reason)
			cJSON_AddStringToObject(o, "reason", pf_reason_name(t->reason));
		else
			cJSON_AddNullToObject(o, "reason");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void add_ratio(cJSON *o, const char *name, double r)
{
	if (isnan(r))
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddNumberToObject(o, name, round(r * 10000.0) / 10000.0);
}

void pf_history_json(const struct pf_history *h, time_t now, cJSON *o)
{
	cJSON *up;

	cJSON_AddItemToObject(o, "history", runs_json(h));
	cJSON_AddItemToObject(o, "transitions", transitions_json(h));
	up = cJSON_AddObjectToObject(o, "uptime");
	add_ratio(up, "1h", pf_history_uptime(h, now, 3600));
	add_ratio(up, "24h", pf_history_uptime(h, now, 86400));
	add_ratio(up, "7d", pf_history_uptime(h, now, 604800));
}
