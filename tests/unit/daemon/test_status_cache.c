/* Unit tests for the incremental /status body (daemon/status_cache.c):
 * byte-for-byte equal to the full render (pf_render_status) across a
 * sequence of results, and only the fragments that changed re-rendered. */
#include <stdlib.h>

#include "harness.h"
#include "status_cache.h"
#include "view_fixture.h"

enum { DB, REDIS, API, RT, NC, WORKER, N_CHECKS };

/* RT's name needs JSON escaping (quote, backslash, non-ASCII). */
static const char *const names[N_CHECKS] = {
	"db", "redis", "chat-api", "chat \"rt\" \\ \xc3\xa9", "plain-nc", "worker",
};
static const char *const web[] = { "chat-api", "chat \"rt\" \\ \xc3\xa9", "db" };
static const char *const workers[] = { "worker", "redis", "no-such-check" };

/* The rendering fixture: RT -> API -> {DB, REDIS}, WORKER -> REDIS; NC is
 * non-critical with no target; API needs 2 failures and 2 passes to
 * change; DB has its own hint for connect_refused. */
static void setup(struct fx *f)
{
	fx_init(f, names, N_CHECKS);
	fx_depends(f, API, names[DB]);
	fx_depends(f, API, names[REDIS]);
	fx_depends(f, RT, names[API]);
	fx_depends(f, WORKER, names[REDIS]);
	fx_group(f, "web", web, 3);
	fx_group(f, "workers", workers, 3);
	f->ccfg[NC].critical = false;
	f->ccfg[NC].ops = &fx_plain_ops;
	f->ccfg[API].failure_threshold = 2;
	f->ccfg[API].success_threshold = 2;
	f->ccfg[DB].hints = cJSON_Parse("{\"connect_refused\":\"start \\\"db\\\"\"}");
}

static void teardown(struct fx *f)
{
	cJSON_Delete(f->ccfg[DB].hints);
	fx_free(f);
}

/* Compares the cached body with the full render for every group (and
 * one out of range); returns false on the first difference. */
static bool same_as_full(struct pf_status_cache *c, const struct fx *f)
{
	for (int g = -1; g <= (int)f->cfg.n_groups; g++) {
		char *want = pf_render_status(&f->v, g);
		size_t len = 0;
		char *got = pf_status_cache_render(c, &f->v, g, &len);
		bool ok = want && got && strcmp(want, got) == 0 && len == strlen(got);

		if (!ok)
			PF_EXPECT_STR(got, want);
		free(want);
		free(got);
		if (!ok)
			return false;
	}
	return true;
}

/* A deterministic pseudo-random walk of results (an LCG), so every run
 * covers the same transitions: failures with and without dependencies,
 * thresholds, recoveries and passes that change nothing shown. */
static void test_matches_full_render(void)
{
	static const enum pf_reason reasons[] = {
		PF_REASON_NONE, PF_REASON_NONE, PF_REASON_CONNECT_REFUSED,
		PF_REASON_TIMEOUT, PF_REASON_AUTH, PF_REASON_NONE,
	};
	struct pf_status_cache *c = pf_status_cache_new();
	unsigned long seed = 12345;
	struct fx f;
	int step;

	setup(&f);
	PF_EXPECT(c != NULL);
	PF_EXPECT(same_as_full(c, &f));		/* every check unknown */
	for (step = 0; step < 400; step++) {
		size_t i;
		enum pf_reason r;

		seed = seed * 1103515245UL + 12345UL;
		i = (seed >> 16) % N_CHECKS;
		r = reasons[(seed >> 8) % (sizeof reasons / sizeof reasons[0])];
		fx_result(&f, i, r, r ? "it \"broke\"\n badly" : NULL,
			  (double)(seed % 7), 100000.0 + step * 250.0);
		f.v.now.tv_sec += (step % 3 == 0);	/* generated_at moves */
		f.v.now.tv_nsec = (long)(seed % 1000) * 1000000L;
		if (!same_as_full(c, &f))
			break;
	}
	PF_EXPECT(step == 400);
	/* each step re-rendered the check that got a result and at most the
	 * three checks whose caused_by it can change (REDIS: API, RT,
	 * WORKER), never all six */
	PF_EXPECT(pf_status_cache_renders(c) <= N_CHECKS + 4 * 400);
	pf_status_cache_free(c);
	teardown(&f);
}

static void all_pass(struct fx *f, double mono)
{
	for (size_t i = 0; i < N_CHECKS; i++)
		fx_result(f, i, PF_REASON_NONE, NULL, 1, mono);
}

static void test_renders_only_changes(void)
{
	struct pf_status_cache *c = pf_status_cache_new();
	struct fx f;
	size_t n0, len = 0;

	setup(&f);
	all_pass(&f, 100000);
	all_pass(&f, 100500);	/* API needs two passes */
	PF_EXPECT(same_as_full(c, &f));
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS);
	PF_EXPECT(same_as_full(c, &f));		/* nothing changed: no render */
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS);
	fx_result(&f, WORKER, PF_REASON_NONE, NULL, 1, 101000);
	PF_EXPECT(same_as_full(c, &f));
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS + 1);
	/* API fails (twice: threshold 2), RT fails, both caused_by API... */
	fx_result(&f, API, PF_REASON_TIMEOUT, "slow", 1, 101100);
	fx_result(&f, API, PF_REASON_TIMEOUT, "slow", 1, 101200);
	fx_result(&f, RT, PF_REASON_TIMEOUT, "slow", 1, 101300);
	PF_EXPECT(same_as_full(c, &f));
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS + 3);
	/* ...then DB fails: DB is new, and API's and RT's root cause is now
	 * DB although neither got a result */
	n0 = pf_status_cache_renders(c);
	fx_result(&f, DB, PF_REASON_CONNECT_REFUSED, "refused", 1, 101400);
	PF_EXPECT(same_as_full(c, &f));
	PF_EXPECT(pf_status_cache_renders(c) == n0 + 3);
	/* a group request refreshes only its members */
	n0 = pf_status_cache_renders(c);
	fx_result(&f, WORKER, PF_REASON_NONE, NULL, 1, 101500);
	fx_result(&f, DB, PF_REASON_NONE, NULL, 1, 101600);
	free(pf_status_cache_render(c, &f.v, 0, &len));	/* web: DB, API, RT */
	PF_EXPECT(pf_status_cache_renders(c) == n0 + 3);
	pf_status_cache_free(c);
	teardown(&f);
}

/* Another config (a reload) or an explicit reset starts over. */
static void test_rebind_and_reset(void)
{
	static const char *const other[] = { "db", "x" };
	struct pf_status_cache *c = pf_status_cache_new();
	struct fx f, g;

	setup(&f);
	fx_init(&g, other, 2);
	g.v.generation = 2;	/* what a reload does */
	g.ccfg[0].critical = false;
	all_pass(&f, 100000);
	PF_EXPECT(same_as_full(c, &f));
	fx_result(&g, 0, PF_REASON_AUTH, "denied", 1, 100000);
	PF_EXPECT(same_as_full(c, &g));	/* "db" of g is not f's "db" */
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS + 2);
	pf_status_cache_reset(c);
	PF_EXPECT(same_as_full(c, &g));
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS + 4);
	/* an empty config: "checks":{} */
	g.v.n_checks = g.cfg.n_checks = 0;
	PF_EXPECT(same_as_full(c, &g));
	g.cfg.n_checks = 2;
	pf_status_cache_free(c);
	pf_status_cache_free(NULL);
	fx_free(&g);
	teardown(&f);
}

/* Refresh on one turn, assemble on the next: the same body when nothing
 * came between; a result in between shows on the next render, not in
 * the assembly (the fragments are the refresh's). */
/* Reads b out 7 bytes at a time (pieces end mid-read) into a string. */
static char *read_out(struct pf_status_body *b)
{
	size_t len = pf_status_body_len(b), at = 0, n;
	char *out = malloc(len + 8);

	if (!out)
		return NULL;
	while ((n = pf_status_body_read(b, out + at, len + 7 - at < 7 ? len + 7 - at : 7)) > 0)
		at += n;
	out[at] = '\0';
	PF_EXPECT(at == len);
	return out;
}

static void test_refresh_then_body(void)
{
	struct pf_status_cache *c = pf_status_cache_new();
	struct pf_status_body *b;
	struct fx f;
	char *want, *got, *later;
	size_t len = 0;

	setup(&f);
	all_pass(&f, 100000);
	PF_EXPECT(pf_status_cache_refresh(c, &f.v, -1, 2) > 0);	/* a slice */
	while (pf_status_cache_refresh(c, &f.v, -1, 2) > 0)
		;
	PF_EXPECT(pf_status_cache_bound(c, &f.v));
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS);
	/* a result between the refresh and the body: the body shows it in
	 * the head and in the check object alike */
	fx_result(&f, WORKER, PF_REASON_TIMEOUT, "slow", 1, 100100);
	want = pf_render_status(&f.v, -1);
	b = pf_status_cache_body(c, &f.v, -1);
	PF_EXPECT(b && want && pf_status_body_len(b) == strlen(want));
	PF_EXPECT(pf_status_cache_renders(c) == N_CHECKS + 1);
	/* another result, its fragment re-rendered, then a reset and the
	 * cache gone: the body still reads what it was made of (ASan: no
	 * use of a freed fragment) */
	fx_result(&f, WORKER, PF_REASON_NONE, NULL, 1, 100200);
	later = pf_status_cache_render(c, &f.v, -1, &len);
	PF_EXPECT(later && !strstr(later, "\"slow\"") && len == strlen(later));
	pf_status_cache_reset(c);
	PF_EXPECT(!pf_status_cache_bound(c, &f.v));
	pf_status_cache_free(c);
	got = b ? read_out(b) : NULL;
	PF_EXPECT(got && want && strcmp(got, want) == 0 && strstr(got, "\"slow\""));
	PF_EXPECT(b && pf_status_body_read(b, later, 1) == 0);	/* all read */
	pf_status_body_free(b);
	pf_status_body_free(NULL);
	free(want);
	free(got);
	free(later);
	teardown(&f);
}

int main(void)
{
	pf_test("matches the full render across results", test_matches_full_render);
	pf_test("re-renders only what changed", test_renders_only_changes);
	pf_test("rebinds on another config, reset", test_rebind_and_reset);
	pf_test("refresh, then a body that outlives its fragments", test_refresh_then_body);
	return pf_test_summary();
}
