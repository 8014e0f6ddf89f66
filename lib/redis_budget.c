/*
 * The byte budget of one Redis reply (pf_redis_budget.h): hiredis' reader
 * with metering object functions, and the check of what its buffer holds.
 * No I/O; the connection (redis_conn.c) asks after every read.
 */
#include <limits.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "pf_redis_budget.h"

/* ---- metering the reply objects --------------------------------------- */

/* Charges `cost` bytes for a new object of the reply; false when that
 * would pass the cap.  A task without a parent is the root of a new
 * reply, whose predecessor hiredis has freed: the count restarts. */
static bool meter_charge(const redisReadTask *t, size_t cost)
{
	struct pf_redis_meter *m = t->privdata;
	struct pf_redis_budget *b = m->b;

	if (!t->parent)
		b->objects = 0;
	/* objects <= cap always holds, so the subtraction cannot wrap */
	if (cost > b->cap - b->objects) {
		b->exceeded = true;
		return false;
	}
	b->objects += cost;
	return true;
}

/* hiredis reader: a complete bulk or line; NULL makes hiredis fail the
 * read with "Out of memory", which the probe reports as over budget. */
static void *meter_string(const redisReadTask *t, char *s, size_t len)
{
	struct pf_redis_meter *m = t->privdata;

	if (len > m->b->cap) {
		m->b->exceeded = true;
		return NULL;
	}
	if (!meter_charge(t, sizeof(redisReply) + len + 1))
		return NULL;
	return m->orig->createString(t, s, len);
}

/* hiredis reader: an array header.  Checked before hiredis allocates the
 * element vector: "*2000000000\r\n" alone would ask for 16 GB. */
static void *meter_array(const redisReadTask *t, int elements)
{
	struct pf_redis_meter *m = t->privdata;
	size_t n = elements > 0 ? (size_t)elements : 0;

	if (n > m->b->cap / sizeof(redisReply *)) {
		m->b->announced_elements = n;
		m->b->exceeded = true;
		return NULL;
	}
	if (!meter_charge(t, sizeof(redisReply) + n * sizeof(redisReply *)))
		return NULL;
	return m->orig->createArray(t, elements);
}

/* hiredis reader: an integer, e.g. one of a million array elements. */
static void *meter_integer(const redisReadTask *t, long long v)
{
	struct pf_redis_meter *m = t->privdata;

	if (!meter_charge(t, sizeof(redisReply)))
		return NULL;
	return m->orig->createInteger(t, v);
}

/* hiredis reader: a nil bulk or array. */
static void *meter_nil(const redisReadTask *t)
{
	struct pf_redis_meter *m = t->privdata;

	if (!meter_charge(t, sizeof(redisReply)))
		return NULL;
	return m->orig->createNil(t);
}

void pf_redis_meter_install(redisReader *r, struct pf_redis_meter *m,
			    struct pf_redis_budget *b)
{
	m->b = b;
	m->orig = r->fn;
	b->objects = 0;
	if (!r->fn)	/* a reader without objects: nothing to meter */
		return;
	m->fns.createString = meter_string;
	m->fns.createArray = meter_array;
	m->fns.createInteger = meter_integer;
	m->fns.createNil = meter_nil;
	m->fns.freeObject = r->fn->freeObject;
	r->fn = &m->fns;
	r->privdata = m;	/* hiredis copies it into every read task */
}

void pf_redis_meter_remove(redisReader *r, struct pf_redis_meter *m)
{
	if (r->fn != &m->fns)
		return;
	r->fn = m->orig;
	r->privdata = NULL;
}

/* ---- checking the budget ---------------------------------------------- */

int pf_redis_bulk_len(const char *s, size_t n, long long *out)
{
	size_t i = 0, digits = 0;
	long long v = 0;
	bool neg = n > 0 && s[0] == '-';

	for (i = neg ? 1 : 0; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
		if (v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == n)
		return 0;
	if (s[i] != '\r' || digits == 0)
		return -1;
	*out = neg ? -v : v;
	return 1;
}

bool pf_redis_over_budget(const redisReader *r, struct pf_redis_budget *b)
{
	/* r->len counts the whole buffer, including up to 1 KiB hiredis has
	 * parsed but not yet discarded: a slight overcount, never an under. */
	size_t held = r->len + (r->reply ? b->objects : 0);
#if HIREDIS_MAJOR < 1
	long long bulk;

	/* A bulk string in progress: 0.14 keeps its header at r->pos until the
	 * whole body has arrived, so a huge announced length fails now instead
	 * of after a megabyte of body. */
	if (held <= b->cap && r->ridx >= 0 &&
	    r->rstack[r->ridx].type == REDIS_REPLY_STRING && r->pos <= r->len &&
	    pf_redis_bulk_len(r->buf + r->pos, r->len - r->pos, &bulk) == 1 &&
	    bulk > (long long)b->cap)
		b->announced = bulk;
#endif
	if (held > b->cap || b->announced > 0)
		b->exceeded = true;
	return b->exceeded;
}
