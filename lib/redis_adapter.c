/*
 * hiredis 0.14 on libevent, with a byte budget per reply.  Owns the
 * adapter (two events and the metering table), which hiredis frees
 * through the cleanup hook when it frees the redisAsyncContext.
 */
#include <limits.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>

#include "pf_redis_adapter.h"

struct redis_adapter {
	redisAsyncContext *ac;		/* borrowed: the context owns us */
	struct event *rev, *wev;	/* owned: non-persistent, fd of ac */
	bool reading, writing;		/* rev / wev pending */
	struct pf_redis_meter meter;	/* installed in ac's reader */
};

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

/* ---- the libevent adapter --------------------------------------------- */

/* hiredis: start or stop waiting for readability (idempotent). */
static void adapter_add_read(void *privdata)
{
	struct redis_adapter *a = privdata;

	if (!a->reading && event_add(a->rev, NULL) == 0)
		a->reading = true;
}

static void adapter_del_read(void *privdata)
{
	struct redis_adapter *a = privdata;

	if (a->reading)
		event_del(a->rev);
	a->reading = false;
}

static void adapter_add_write(void *privdata)
{
	struct redis_adapter *a = privdata;

	if (!a->writing && event_add(a->wev, NULL) == 0)
		a->writing = true;
}

static void adapter_del_write(void *privdata)
{
	struct redis_adapter *a = privdata;

	if (a->writing)
		event_del(a->wev);
	a->writing = false;
}

/* hiredis: the context is being freed.  Runs before hiredis frees the
 * reader, which may still free a partial reply through r->fn: restore
 * hiredis' own table first.  Tells the budget's owner we are gone. */
static void adapter_cleanup(void *privdata)
{
	struct redis_adapter *a = privdata;

	pf_redis_meter_remove(a->ac->c.reader, &a->meter);
	a->meter.b->attached = false;
	event_free(a->rev);
	event_free(a->wev);
	free(a);
}

/* libevent: the socket is readable.  redisAsyncHandleRead may run reply
 * callbacks that end the probe and free the context, and with it `a`:
 * afterwards only the budget (owned by the probe) may be touched until it
 * says the context is still attached. */
static void adapter_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct redis_adapter *a = arg;
	struct pf_redis_budget *b = a->meter.b;

	(void)fd;
	(void)what;
	a->reading = false;	/* a fired non-persistent event is not pending */
	redisAsyncHandleRead(a->ac);
	if (b->attached && pf_redis_over_budget(a->ac->c.reader, b))
		b->on_exceeded(b->arg);
}

/* libevent: the socket is writable (connect done, or room to send). */
static void adapter_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct redis_adapter *a = arg;

	(void)fd;
	(void)what;
	a->writing = false;
	redisAsyncHandleWrite(a->ac);
}

int pf_redis_attach(redisAsyncContext *ac, struct event_base *base,
		    struct pf_redis_budget *b)
{
	struct redis_adapter *a;

	if (ac->ev.data || !ac->c.reader)
		return REDIS_ERR;
	if (!(a = calloc(1, sizeof(*a))))
		return REDIS_ERR;
	a->ac = ac;
	a->rev = event_new(base, ac->c.fd, EV_READ, adapter_on_read, a);
	a->wev = event_new(base, ac->c.fd, EV_WRITE, adapter_on_write, a);
	if (!a->rev || !a->wev) {
		if (a->rev)
			event_free(a->rev);
		if (a->wev)
			event_free(a->wev);
		free(a);
		return REDIS_ERR;
	}
	ac->ev.addRead = adapter_add_read;
	ac->ev.delRead = adapter_del_read;
	ac->ev.addWrite = adapter_add_write;
	ac->ev.delWrite = adapter_del_write;
	ac->ev.cleanup = adapter_cleanup;
	ac->ev.data = a;
	pf_redis_meter_install(ac->c.reader, &a->meter, b);
	b->attached = true;
	b->exceeded = false;
	b->announced = 0;
	b->announced_elements = 0;
	/* as the stock adapter: wait for both, the write one completes the
	 * connect and sends the queued commands */
	adapter_add_read(a);
	adapter_add_write(a);
	return REDIS_OK;
}
