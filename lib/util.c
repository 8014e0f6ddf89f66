/* Pure helpers: durations, bounded string copies, time formatting. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "pf_util.h"

/* Largest duration we accept: a week is far beyond any sane interval. */
#define PF_DURATION_MAX_MS (7ULL * 24 * 3600 * 1000)

static int unit_ms(const char *u, size_t n, double *mult)
{
	static const struct { const char *name; double ms; } units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == n && memcmp(u, units[i].name, n) == 0) {
			*mult = units[i].ms;
			return 0;
		}
	}
	return -1;
}

/* A sequence of <number><unit> parts, e.g. "1m30s". */
int pf_duration_parse(const char *s, uint64_t *ms)
{
	double total = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		char num[32], *end;
		double v, mult;
		size_t n = 0, d = 0;

		/* Decimal digits and one '.' only: strtod alone would also take
		 * "0x10" (hex), "1e3" and "inf". */
		while ((s[d] >= '0' && s[d] <= '9') || s[d] == '.')
			d++;
		if (d == 0 || d >= sizeof(num) || memchr(s, '.', d) != memrchr(s, '.', d))
			return -1;
		memcpy(num, s, d);
		num[d] = '\0';
		v = strtod(num, &end);
		if (end != num + d || !isfinite(v) || v < 0)
			return -1;
		end = (char *)s + d;
		while (end[n] >= 'a' && end[n] <= 'z')
			n++;
		if (n == 0 || unit_ms(end, n, &mult) < 0)
			return -1;
		total += v * mult;
		if (total > (double)PF_DURATION_MAX_MS)
			return -1;
		s = end + n;
	}
	*ms = (uint64_t)llround(total);
	return 0;
}

int pf_duration_from_seconds(double s, uint64_t *ms)
{
	if (!isfinite(s) || s < 0 || s * 1000 > (double)PF_DURATION_MAX_MS)
		return -1;
	*ms = (uint64_t)llround(s * 1000);
	return 0;
}

const char *pf_duration_format(uint64_t ms, char *buf, size_t len)
{
	uint64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60;
	uint64_t rest = ms % 1000;
	size_t off = 0;

	buf[0] = '\0';
	if (ms == 0 || rest) {
		snprintf(buf, len, "%llums", (unsigned long long)ms);
		return buf;
	}
	if (h)
		off += (size_t)snprintf(buf + off, off < len ? len - off : 0, "%lluh", (unsigned long long)h);
	if (m && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%llum", (unsigned long long)m);
	if (s && off < len)
		snprintf(buf + off, len - off, "%llus", (unsigned long long)s);
	return buf;
}

size_t pf_strlcpy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len) {
		size_t c = n < len - 1 ? n : len - 1;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t pf_strlcat(char *dst, const char *src, size_t len)
{
	size_t d = strnlen(dst, len);

	if (d == len)
		return len + strlen(src);
	return d + pf_strlcpy(dst + d, src, len - d);
}

const char *pf_time_rfc3339(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char base[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", base, ts->tv_nsec / 1000000);
	return buf;
}

double pf_ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1000.0 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

double pf_mono_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)now.tv_sec * 1000.0 + (double)now.tv_nsec / 1e6;
}

void pf_instance_name(char *buf, size_t len)
{
	const char *rev = getenv("K_REVISION");

	if (len == 0)
		return;
	if (rev && rev[0])
		pf_strlcpy(buf, rev, len);
	else if (gethostname(buf, len - 1) < 0)
		pf_strlcpy(buf, "unknown", len);
	buf[len - 1] = '\0';
}
