/* See harness.h.  Counters are per test executable. */
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct {
	unsigned passed, failed;
	unsigned case_failures;
	const char *current;
} t;

bool pf_expect(bool ok, const char *expr, const char *file, int line)
{
	if (!ok) {
		t.case_failures++;
		fprintf(stderr, "  FAIL %s: %s:%d: %s\n", t.current ? t.current : "?",
			file, line, expr);
	}
	return ok;
}

bool pf_expect_str(const char *got, const char *want, const char *expr,
		   const char *file, int line)
{
	if (got && want && strcmp(got, want) == 0)
		return true;
	t.case_failures++;
	fprintf(stderr, "  FAIL %s: %s:%d: %s\n    got:  %s\n    want: %s\n",
		t.current ? t.current : "?", file, line, expr,
		got ? got : "(null)", want ? want : "(null)");
	return false;
}

void pf_test(const char *name, void (*fn)(void))
{
	t.current = name;
	t.case_failures = 0;
	fn();
	if (t.case_failures == 0) {
		t.passed++;
		printf("ok   %s\n", name);
	} else {
		t.failed++;
		printf("FAIL %s\n", name);
	}
	t.current = NULL;
}

int pf_test_summary(void)
{
	printf("%u passed, %u failed\n", t.passed, t.failed);
	return t.failed ? 1 : 0;
}
