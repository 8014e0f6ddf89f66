/* Unit tests for lib/mask.c, the one masking function: known secrets of
 * any length wherever they reappear, cut-short copies, connection strings
 * shown as targets, header names that carry secrets. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "pf_mask.h"

static void test_secret(void)
{
	char buf[128], small[12];

	strcpy(buf, "a pw12 b pw12");
	pf_mask_secret(buf, sizeof buf, "pw12");
	PF_EXPECT_STR(buf, "a *** b ***");
	/* whatever its length (SPEC §4): a 1-byte secret masks every copy */
	strcpy(buf, "not provided");
	pf_mask_secret(buf, sizeof buf, "p");
	PF_EXPECT_STR(buf, "not *rovided");
	strcpy(buf, "id=ab; x");
	pf_mask_secret(buf, sizeof buf, "ab");
	PF_EXPECT_STR(buf, "id=**; x");
	strcpy(buf, "nothing here");
	pf_mask_secret(buf, sizeof buf, "");
	pf_mask_secret(buf, sizeof buf, NULL);
	PF_EXPECT_STR(buf, "nothing here");
	/* a message that quoted the secret cut short (%.12s and more) */
	strcpy(buf, "value \"correct-horse-b\" is not a duration");
	pf_mask_secret(buf, sizeof buf, "correct-horse-battery-staple");
	PF_EXPECT_STR(buf, "value \"***\" is not a duration");
	/* a text that filled its buffer must not end in a prefix of it */
	strcpy(small, "xxxxx hunt");
	pf_mask_secret(small, sizeof small, "hunter2");
	PF_EXPECT_STR(small, "xxxxx hunt");	/* not full: untouched */
	strcpy(small, "0123 hunter");
	pf_mask_secret(small, sizeof small, "hunter2");
	PF_EXPECT(strstr(small, "hunter") == NULL);
	/* several secrets */
	const char *const both[] = { "alpha1", "beta22" };
	strcpy(buf, "alpha1 and beta22");
	pf_mask_secrets(buf, sizeof buf, both, 2);
	PF_EXPECT_STR(buf, "*** and ***");
}

static void test_redact(void)
{
	char out[256];

	PF_EXPECT_STR(pf_mask_url("postgresql://mobius_app:s3cret@10.0.0.5:5432/mobius_chat", out, sizeof(out)),
		      "postgresql://mobius_app:***@10.0.0.5:5432/mobius_chat");
	PF_EXPECT_STR(pf_mask_url("redis://:pw@127.0.0.1:6379/0", out, sizeof(out)),
		      "redis://:***@127.0.0.1:6379/0");
	PF_EXPECT_STR(pf_mask_url("redis://127.0.0.1", out, sizeof(out)), "redis://127.0.0.1");
	PF_EXPECT_STR(pf_mask_url("postgresql://u@/db?host=/cloudsql/p:r:i&password=x", out, sizeof(out)),
		      "postgresql://u@/db?host=/cloudsql/p:r:i&password=***");
	PF_EXPECT_STR(pf_mask_url("host=db user=u password=secret dbname=x", out, sizeof(out)),
		      "host=db user=u password=*** dbname=x");
	PF_EXPECT_STR(pf_mask_url("host=db password = 'a b\\' c' dbname=x", out, sizeof(out)),
		      "host=db password = *** dbname=x");
	PF_EXPECT_STR(pf_mask_url("postgresql://u:p%40ss@h/db", out, sizeof(out)),
		      "postgresql://u:***@h/db");
	pf_mask_url("postgresql://u:secretsecret@h/db", out, 16);
	PF_EXPECT(strstr(out, "secret") == NULL && strlen(out) == 15);
}

/* Found by fuzz_redact: a DSN ending in whitespace ("...dbname=x\n" from an
 * env file) made the scanner step past its NUL and go on reading. */
static void test_redact_trailing_space(void)
{
	static const char in[] = "host=db dbname=x \n\0password=after-the-end";
	char out[128];

	/* the overrun copied the NUL and went on writing behind it */
	memset(out, 'X', sizeof(out));
	PF_EXPECT_STR(pf_mask_url(in, out, sizeof(out)), "host=db dbname=x \n");
	PF_EXPECT(out[strlen(out) + 1] == 'X');
	PF_EXPECT_STR(pf_mask_url(" ", out, sizeof(out)), " ");
}

static void test_header_secret(void)
{
	PF_EXPECT(pf_mask_name_is_secret("Authorization"));
	PF_EXPECT(pf_mask_name_is_secret("cookie"));
	PF_EXPECT(pf_mask_name_is_secret("X-Api-Key"));
	PF_EXPECT(pf_mask_name_is_secret("X-Access-Token"));
	PF_EXPECT(!pf_mask_name_is_secret("Accept"));
	PF_EXPECT(!pf_mask_name_is_secret("X-Request-Id"));
}

/* The forms the secrets sweep found (SPEC §4). */
static void test_redact_more_forms(void)
{
	char out[256];

	PF_EXPECT_STR(pf_mask_url("http://h/x?token=t1&key=k2&api_key=a3&page=2&sig=s4",
				  out, sizeof(out)),
		      "http://h/x?token=***&key=***&api_key=***&page=2&sig=***");
	PF_EXPECT_STR(pf_mask_url("host=db sslpassword=p1 sslmode=require", out, sizeof(out)),
		      "host=db sslpassword=*** sslmode=require");
	PF_EXPECT_STR(pf_mask_url("https://TOKEN123@api.example/x", out, sizeof(out)),
		      "https://***@api.example/x");
	/* a role name alone is no secret */
	PF_EXPECT_STR(pf_mask_url("postgresql://app@db/x", out, sizeof(out)),
		      "postgresql://app@db/x");
	PF_EXPECT_STR(pf_mask_url("postgresql+asyncpg://app@db/x", out, sizeof(out)),
		      "postgresql+asyncpg://app@db/x");
	PF_EXPECT_STR(pf_mask_url("redis://default@r:6379", out, sizeof(out)),
		      "redis://default@r:6379");
}

struct seen {
	char v[8][64];
	int n;
};

static void collect(void *arg, const char *secret)
{
	struct seen *s = arg;

	if (s->n < 8)
		snprintf(s->v[s->n++], sizeof s->v[0], "%s", secret);
}

/* What pf_mask_url_secrets lists is what pf_mask_url masks. */
static void test_url_secrets_match_the_mask(void)
{
	static const char *const urls[] = {
		"http://TOK@h/x?api_key=AK&page=2",
		"host=db password='p w' sslpassword=SP user=u",
		"postgresql://u:PW@h/db?sslpassword=SP2",
		"postgresql://role@h/db",
	};
	char out[256];

	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		struct seen s = { .n = 0 };

		pf_mask_url(urls[i], out, sizeof out);
		pf_mask_url_secrets(urls[i], collect, &s);
		for (int k = 0; k < s.n; k++)
			PF_EXPECT(strstr(out, s.v[k]) == NULL);
		PF_EXPECT(i == 3 ? s.n == 0 : s.n >= 1);
	}
}

static void test_header_allow_list(void)
{
	PF_EXPECT(pf_mask_header_is_public("Accept"));
	PF_EXPECT(pf_mask_header_is_public("user-agent"));
	PF_EXPECT(!pf_mask_header_is_public("X-Signature"));
	PF_EXPECT(!pf_mask_header_is_public("X-Custom"));
	PF_EXPECT(pf_mask_name_is_secret("X-Signature"));
	PF_EXPECT(pf_mask_name_is_secret("sslpassword"));
}

int main(void)
{
	pf_test("known secrets, any length", test_secret);
	pf_test("url: connection strings", test_redact);
	pf_test("url: trailing whitespace in a DSN", test_redact_trailing_space);
	pf_test("names whose values are secrets", test_header_secret);
	pf_test("url: query names, sslpassword, user-info", test_redact_more_forms);
	pf_test("url: the secrets listed are the ones masked", test_url_secrets_match_the_mask);
	pf_test("headers: the allow-list", test_header_allow_list);
	return pf_test_summary();
}
