/*
 * libFuzzer target for the text parsers of the postgres kind
 * (checks/postgres_query.c, postgres_error.c): `expect` and number parsing,
 * the libpq message cleaner, the one masking function (lib/mask.c), the
 * assertion verdict and the connect classifier.  Input: a selector byte
 * (output size), then "text\0secret".  Invariants: no overrun, one
 * NUL-terminated line, and a secret of any length never survives in the
 * cleaned or masked text.  Secrets containing '*' are exempt: the mask
 * itself may then rebuild them.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pf_mask.h"
#include "postgres_query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_expect(const char *text)
{
	struct pf_pg_expect e;
	double v;
	char err[256];

	if (pf_pg_number(text, &v) == 0 && !isfinite(v))
		abort();
	if (pf_pg_expect_parse(text, &e) < 0)
		return;
	if (!isfinite(e.value) || e.op > PF_PG_GE)
		abort();
	cJSON *out = cJSON_CreateArray();
	err[0] = '\0';
	if (pf_pg_assert_eval("fuzz", text, &e, 1, 1, text, out, err,
			      sizeof err) < 0 && !err[0])
		abort();
	cJSON_Delete(out);
}

static void check_clean(const char *msg, const char *secret, size_t len)
{
	char *dst = malloc(len ? len : 1);	/* exact size for ASan */

	if (!dst)
		return;
	pf_pg_clean_message(dst, len, msg, secret);
	if (len) {
		if (!memchr(dst, '\0', len) || strpbrk(dst, "\r\n"))
			abort();
		if (secret[0] && !strchr(secret, '*') &&
		    !strpbrk(secret, "\r\n") && strstr(dst, secret))
			abort();
	}
	free(dst);
}

/* The masking function alone, on a copy that fills its buffer exactly. */
static void check_mask(const char *text, const char *secret)
{
	size_t len = strlen(text) + 1;
	char *s = malloc(len);

	if (!s)
		return;
	memcpy(s, text, len);
	pf_mask_secret(s, len, secret);
	if (!memchr(s, '\0', len))
		abort();
	if (secret[0] && !strchr(secret, '*') && strstr(s, secret))
		abort();
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* text, NUL, secret, NUL: both exact-size C strings */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	buf[size] = '\0';
	const char *text = buf;
	const char *secret = buf + strlen(buf) + 1;
	if (secret > buf + size)
		secret = buf + size;
	check_expect(text);
	check_clean(text, secret, data[0]);
	check_mask(text, secret);
	(void)pf_pg_classify_connect(text);
	(void)pf_pg_classify_sqlstate(text, PF_REASON_PROTOCOL);
	free(buf);
	return 0;
}
