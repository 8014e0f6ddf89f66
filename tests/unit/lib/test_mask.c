/* Unit tests for lib/mask.c, the one masking function: known secrets of
 * any length wherever they reappear, cut-short copies, connection strings
 * shown as targets, header names that carry secrets. */
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

int main(void)
{
	pf_test("known secrets, any length", test_secret);
	pf_test("url: connection strings", test_redact);
	pf_test("url: trailing whitespace in a DSN", test_redact_trailing_space);
	pf_test("names whose values are secrets", test_header_secret);
	return pf_test_summary();
}
