/* Unit tests for lib/hint.c, the hint policy: the order of the rule
 * tables (address class first, then the kind's, then shared causes, then
 * the built-in hint), reason/class/cause matching, placeholders filled
 * from vars and details, and skipped when they cannot be. */
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "pf_hint.h"
#include "pf_net.h"
#include "pf_probe.h"

static const struct pf_hint_rule toy_rules[] = {
	/* the kind's own connect-timeout advice: a private peer still gets
	 * the VPC hint, which comes first */
	{ PF_REASON_CONNECT_TIMEOUT, PF_HINT_ANY_ADDR, NULL, "toy: check {where}" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "code:*", "toy auth {code}" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, NULL, "toy auth for {user}" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, NULL, "toy auth" },
	{ PF_REASON_NONE, PF_HINT_ANY_ADDR, "any_reason", "toy any {port}" },
	{ PF_REASON_NONE, 0, NULL, NULL },
};

static struct pf_result res;

static const char *choose(enum pf_reason reason, int aclass, const char *cause)
{
	cJSON_Delete(res.details);
	memset(&res, 0, sizeof res);
	pf_result_reset(&res);
	res.reason = reason;
	res.aclass = aclass;
	if (cause)
		pf_result_cause(&res, "%s", cause);
	pf_result_var(&res, "where", "10.0.0.5:5432");
	res.details = cJSON_CreateObject();
	cJSON_AddStringToObject(res.details, "address", "10.0.0.5");
	cJSON_AddNumberToObject(res.details, "port", 5432);
	pf_hint_choose(toy_rules, &res);
	return res.hint;
}

static void test_order(void)
{
	PF_EXPECT_STR(choose(PF_REASON_CONNECT_TIMEOUT, PF_ADDR_PRIVATE, NULL),
		      "no route to private IP 10.0.0.5: deploy with Direct VPC"
		      " egress (--network, --subnet,"
		      " --vpc-egress=private-ranges-only) or a Serverless VPC"
		      " Access connector");
	PF_EXPECT_STR(choose(PF_REASON_CONNECT_TIMEOUT, PF_ADDR_PUBLIC, NULL),
		      "toy: check 10.0.0.5:5432");
	/* the shared TLS causes come after the kind's (it has none here) */
	PF_EXPECT(strstr(choose(PF_REASON_TLS, 0, "tls:plain"), "http://") != NULL);
	/* nothing of the kind's: the built-in hint */
	PF_EXPECT_STR(choose(PF_REASON_DNS, 0, NULL), pf_hint_builtin(PF_REASON_DNS));
	PF_EXPECT_STR(choose(PF_REASON_NONE, 0, NULL), "");
}

static void test_matching(void)
{
	/* a placeholder without a value ({code}, {user}) skips its rule */
	PF_EXPECT_STR(choose(PF_REASON_AUTH, 0, "code:28P01"), "toy auth");
	pf_result_var(&res, "code", "%s", "");
	pf_hint_choose(toy_rules, &res);
	PF_EXPECT_STR(res.hint, "toy auth ");	/* "" is a value */
	PF_EXPECT_STR(choose(PF_REASON_AUTH, 0, "other"), "toy auth");
	/* reason NONE in a rule: any reason; numbers come from details */
	PF_EXPECT_STR(choose(PF_REASON_TIMEOUT, 0, "any_reason"), "toy any 5432");
	/* a private address the kind could not name */
	cJSON_Delete(res.details);
	memset(&res, 0, sizeof res);
	res.reason = PF_REASON_CONNECT_TIMEOUT;
	res.aclass = PF_ADDR_PRIVATE;
	pf_hint_choose(NULL, &res);
	PF_EXPECT(strncmp(res.hint, "no route to the private address", 31) == 0);
}

static void test_vars(void)
{
	struct pf_result r;

	memset(&r, 0, sizeof r);
	for (int i = 0; i < PF_HINT_VARS + 2; i++)
		pf_result_var(&r, i % 2 ? "b" : "a", "%d", i);
	PF_EXPECT(strcmp(r.vars[0].name, "a") == 0 && strcmp(r.vars[1].name, "b") == 0);
	PF_EXPECT(strcmp(r.vars[0].value, "6") == 0 && strcmp(r.vars[1].value, "5") == 0);
	for (int i = 0; i < PF_HINT_VARS + 2; i++) {
		char name[8] = { (char)('c' + i), 0 };

		pf_result_var(&r, name, "x");	/* a full table keeps the first */
	}
	PF_EXPECT(strcmp(r.vars[PF_HINT_VARS - 1].name, "e") == 0);
	/* a brace that is no placeholder stays as it is */
	static const struct pf_hint_rule braces[] = {
		{ PF_REASON_DNS, PF_HINT_ANY_ADDR, NULL, "json {} and {" },
		{ PF_REASON_NONE, 0, NULL, NULL },
	};
	r.reason = PF_REASON_DNS;
	pf_hint_choose(braces, &r);
	PF_EXPECT_STR(r.hint, "json {} and {");
}

static void test_builtin(void)
{
	PF_EXPECT(pf_hint_builtin(PF_REASON_NONE) == NULL);
	PF_EXPECT(pf_hint_builtin(PF_REASON_COUNT) == NULL);
	for (int r = PF_REASON_NONE + 1; r < PF_REASON_COUNT; r++) {
		const char *h = pf_hint_builtin((enum pf_reason)r);

		PF_EXPECT(h && strlen(h) > 20);
	}
	PF_EXPECT(strstr(pf_hint_builtin(PF_REASON_CONNECT_TIMEOUT),
			 "--vpc-egress=private-ranges-only") != NULL);
	PF_EXPECT(strstr(pf_hint_builtin(PF_REASON_MISSING_TABLE),
			 "run the migrations") != NULL);
	PF_EXPECT(strstr(pf_hint_builtin(PF_REASON_JOB_TIMEOUT),
			 "no worker completed it") != NULL);
}

int main(void)
{
	pf_test("order: address class, kind, shared causes, built-in", test_order);
	pf_test("matching and placeholders", test_matching);
	pf_test("vars", test_vars);
	pf_test("every reason has a built-in hint", test_builtin);
	cJSON_Delete(res.details);
	return pf_test_summary();
}
