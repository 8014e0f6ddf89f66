/*
 * The redis check's queue signals (redis_queue.h): consumers from CLIENT
 * LIST or INFO, the oldest item's age from the check's memory, and the
 * backlog/stall verdict.  Pure: no I/O, no clock reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_util.h"
#include "redis_queue.h"

/* The value of field name= in one CLIENT LIST line (NULL when absent),
 * and its length. */
static const char *field(const char *line, size_t len, const char *name,
			 size_t *vlen)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + nl < len; i++) {
		if ((i == 0 || line[i - 1] == ' ') && memcmp(line + i, name, nl) == 0 &&
		    line[i + nl] == '=') {
			const char *v = line + i + nl + 1;
			const char *end = memchr(v, ' ', (size_t)(line + len - v));
			*vlen = end ? (size_t)(end - v) : (size_t)(line + len - v);
			return v;
		}
	}
	return NULL;
}

static bool is_pop(const char *cmd, size_t n)
{
	static const char *const pops[] = {
		"brpop", "blpop", "blmove", "brpoplpush", "blmpop", NULL
	};

	for (size_t i = 0; pops[i]; i++)
		if (strlen(pops[i]) == n && strncmp(pops[i], cmd, n) == 0)
			return true;
	return false;
}

long pf_redis_consumers(const char *list, size_t len)
{
	long n = 0;

	for (size_t off = 0; off < len;) {
		const char *line = list + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - line) : len - off;
		size_t fl = 0, cl = 0;
		const char *flags = field(line, ll, "flags", &fl);
		const char *cmd = field(line, ll, "cmd", &cl);

		/* flags=b: blocked right now (cmd= is the last command) */
		if (flags && memchr(flags, 'b', fl) && cmd && is_pop(cmd, cl))
			n++;
		off += ll + 1;
	}
	return n;
}

long pf_redis_info_blocked(const char *info, size_t len)
{
	static const char key[] = "blocked_clients:";

	for (size_t off = 0; off + sizeof key - 1 < len;) {
		const char *line = info + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t ll = nl ? (size_t)(nl - line) : len - off;

		if (ll > sizeof key - 1 && memcmp(line, key, sizeof key - 1) == 0) {
			char num[24];
			size_t d = ll - (sizeof key - 1);
			char *end;
			if (d >= sizeof num)
				return -1;
			memcpy(num, line + sizeof key - 1, d);
			num[d] = '\0';
			long v = strtol(num, &end, 10);
			return end != num && (*end == '\0' || *end == '\r') && v >= 0 ? v : -1;
		}
		off += ll + 1;
	}
	return -1;
}

/* 64-bit FNV-1a: the jobs carry a unique correlation id, so equal hashes
 * of equal length mean the same item. */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

double pf_redis_oldest_age(struct pf_redis_memory *m, const char *item,
			   size_t len, double now_ms)
{
	uint64_t h;

	if (!item) {
		m->seen = false;
		return 0;
	}
	h = fnv1a(item, len);
	if (m->seen && m->hash == h && m->len == len && now_ms >= m->first_seen_ms)
		return now_ms - m->first_seen_ms;
	m->seen = true;
	m->hash = h;
	m->len = len;
	m->first_seen_ms = now_ms;
	return 0;
}

enum pf_reason pf_redis_queue_verdict(const char *key, long long depth,
				      long max_depth, double age_ms,
				      uint64_t stall_after_ms, long consumers,
				      char *err, size_t errlen)
{
	char age[32], stall[32], who[64];

	if (consumers >= 0)
		snprintf(who, sizeof who, "%ld consumer%s blocked on a pop",
			 consumers, consumers == 1 ? "" : "s");
	else
		pf_strlcpy(who, "consumers unknown", sizeof who);
	if (stall_after_ms > 0 && depth > 0 && age_ms >= (double)stall_after_ms) {
		snprintf(err, errlen, "queue %s holds %lld item%s and its oldest has"
			 " not moved for %s (stall_after %s; %s)", key, depth,
			 depth == 1 ? "" : "s",
			 pf_duration_format((uint64_t)age_ms / 1000 * 1000, age,
					    sizeof age),
			 pf_duration_format(stall_after_ms, stall, sizeof stall), who);
		return PF_REASON_QUEUE_STALLED;
	}
	if (max_depth >= 0 && depth > max_depth) {
		snprintf(err, errlen, "queue %s holds %lld items, above max_depth %ld"
			 " (%s)", key, depth, max_depth, who);
		return PF_REASON_QUEUE_BACKLOG;
	}
	return PF_REASON_NONE;
}
