/*
 * libFuzzer target for the small text helpers every check leans on:
 * pf_mask_url (any output size: NUL-terminated, never past the buffer, a
 * short buffer gets a prefix of the full answer), pf_split_hostport and
 * pf_duration_parse / pf_duration_format (a formatted duration parses back
 * to itself).  The first input byte picks the output size; the rest is text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pf_net.h"
#include "pf_util.h"
#include "pf_mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Redacts into an exact-size heap buffer so ASan flags any overrun. */
static char *redact(const char *in, size_t len)
{
	char *out = malloc(len ? len : 1);

	if (!out)
		return NULL;
	memset(out, 'X', len ? len : 1);
	if (pf_mask_url(in, out, len) != out)
		abort();
	if (len && !memchr(out, '\0', len))
		abort();
	return out;
}

static void check_redact(const char *in, size_t small)
{
	size_t big_len = 2 * strlen(in) + 64;	/* "***" never triples the text */
	char *big = redact(in, big_len);
	char *part = redact(in, small);

	if (big && part && small) {
		size_t n = strlen(part);
		if (strlen(big) + 1 >= big_len || strncmp(big, part, n) != 0)
			abort();	/* a truncated answer is a prefix of the whole */
	}
	free(big);
	free(part);
}

static void check_hostport(const char *in, size_t hostlen)
{
	char *host = malloc(hostlen ? hostlen : 1);
	unsigned port = 0;

	if (!host)
		return;
	if (pf_split_hostport(in, host, hostlen, &port, hostlen & 1 ? 0 : 8089) == 0) {
		if (!hostlen || !memchr(host, '\0', hostlen) || !host[0] ||
		    port == 0 || port > 65535)
			abort();
	}
	free(host);
}

static void check_duration(const char *in)
{
	uint64_t ms = 0, back = 0;
	char buf[64];

	if (pf_duration_parse(in, &ms) < 0)
		return;
	if (ms > 7ULL * 24 * 3600 * 1000)
		abort();
	pf_duration_format(ms, buf, sizeof buf);
	if (pf_duration_parse(buf, &back) < 0 || back != ms)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *in = malloc(size);
	if (!in)
		return 0;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	check_redact(in, data[0]);
	check_hostport(in, data[0]);
	check_duration(in);
	free(in);
	return 0;
}
