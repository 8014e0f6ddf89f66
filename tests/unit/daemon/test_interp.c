/*
 * Unit tests of ${...} expansion in configuration strings (daemon/interp.c):
 * variables, defaults, the $$ escape, literal '$' and every error.  The
 * ${file:} form and expansion inside whole documents are in test_config.c.
 */
#include <stdlib.h>

#include "harness.h"
#include "interp.h"

static void test_interp_strings(void)
{
	char *s = NULL;
	char err[512];

	setenv("PF_T_HOST", "db.internal", 1);
	setenv("PF_T_EMPTY", "", 1);
	unsetenv("PF_T_UNSET");
	PF_EXPECT(pf_interp_string("pg://${PF_T_HOST}:5432", "p", &s, err, sizeof err) == 0);
	PF_EXPECT_STR(s, "pg://db.internal:5432");
	free(s);
	PF_EXPECT(pf_interp_string("${PF_T_UNSET:-fallback}/${PF_T_EMPTY:-e}/${PF_T_EMPTY}",
				   "p", &s, err, sizeof err) == 0);
	PF_EXPECT_STR(s, "fallback/e/");
	free(s);
	PF_EXPECT(pf_interp_string("$$HOME $5 cost$ $${PF_T_HOST}", "p", &s, err, sizeof err) == 0);
	PF_EXPECT_STR(s, "$HOME $5 cost$ ${PF_T_HOST}");
	free(s);
	PF_EXPECT(pf_interp_string("${PF_T_UNSET:-}", "p", &s, err, sizeof err) == 0);
	PF_EXPECT_STR(s, "");
	free(s);
	PF_EXPECT(pf_interp_string("${PF_T_UNSET}", "checks[1].url", &s, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "checks[1].url: environment variable PF_T_UNSET is not set (use ${PF_T_UNSET:-default} for a default)");
	PF_EXPECT(pf_interp_string("x${PF_T_HOST", "p", &s, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "p: unterminated \"${\" (missing '}')");
	PF_EXPECT(pf_interp_string("${1X}", "p", &s, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "p: \"${1X}\" is not a valid variable name");
	PF_EXPECT(pf_interp_string("${A:x}", "p", &s, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "p: \"${A:x}\": use ${VAR}, ${VAR:-default} or ${file:/path}");
	PF_EXPECT(pf_interp_string("${}", "p", &s, err, sizeof err) == -1);
	PF_EXPECT_STR(err, "p: \"${}\" is not a valid variable name");
}

int main(void)
{
	pf_test("interpolation of strings", test_interp_strings);
	return pf_test_summary();
}
