/*
 * A tiny unit-test harness: pf_test() runs one case, PF_EXPECT records a
 * failed expectation with file and line, pf_test_summary() prints
 * "N passed, N failed" and returns the exit status.
 */
#ifndef PF_TEST_HARNESS_H
#define PF_TEST_HARNESS_H

#include <stdbool.h>

#define PF_EXPECT(cond) pf_expect((cond), #cond, __FILE__, __LINE__)
#define PF_EXPECT_STR(a, b) pf_expect_str((a), (b), #a, __FILE__, __LINE__)

bool pf_expect(bool ok, const char *expr, const char *file, int line);
bool pf_expect_str(const char *got, const char *want, const char *expr,
		   const char *file, int line);
void pf_test(const char *name, void (*fn)(void));
int pf_test_summary(void);

#endif
