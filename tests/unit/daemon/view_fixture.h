/*
 * Hand-built daemon views for the rendering tests (test_render.c,
 * test_metrics.c): a fake check kind with a redacted target and a gauge
 * metric, checks configured in code and results applied through the real
 * state machine.  Everything lives in one struct fx the test owns.
 */
#ifndef PF_VIEW_FIXTURE_H
#define PF_VIEW_FIXTURE_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "render.h"

#define FX_MAX 8

/* kind_cfg of the fake kind is a string holding a "secret" that target()
 * redacts, so the tests can assert it never reaches any output. */
static void fx_target(const void *cfg, char *buf, size_t len)
{
	(void)cfg;
	snprintf(buf, len, "fake://app:***@127.0.0.1:5432/db");
}

static const struct check_ops fx_ops = {
	.kind = "fake",
	.gauges = { { "preflight_fake_depth",
		      "Depth of the fake \\ queue\nsecond line." } },
	.target = fx_target,
};

static const struct check_ops fx_plain_ops = {
	.kind = "plain",
};

struct fx {
	struct pf_config cfg;
	struct pf_check_cfg ccfg[FX_MAX];
	struct pf_group_cfg groups[FX_MAX];
	char *group_members[FX_MAX][FX_MAX + 1];
	char *deps[FX_MAX][FX_MAX + 1];
	struct check checks[FX_MAX];
	struct pf_view v;
};

/* n checks named names[i], all of the fake kind, critical, 10s/5s. */
static void fx_init(struct fx *f, const char *const *names, size_t n)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < n && i < FX_MAX; i++) {
		struct pf_check_cfg *c = &f->ccfg[i];

		c->name = (char *)names[i];
		c->ops = &fx_ops;
		c->kind_cfg = (void *)"hunter2-secret";
		c->interval_ms = 10000;
		c->timeout_ms = 5000;
		c->failure_threshold = 1;
		c->success_threshold = 1;
		c->critical = true;
		c->fingerprint = "{\"password\":\"hunter2-secret\"}";
		c->depends_on = f->deps[i];
		f->checks[i].cfg = c;
		pf_result_reset(&f->checks[i].state.last);
	}
	f->cfg.source = "test";
	f->cfg.checks = f->ccfg;
	f->cfg.n_checks = n;
	f->cfg.groups = f->groups;
	f->v.cfg = &f->cfg;
	f->v.checks = f->checks;
	f->v.n_checks = n;
	f->v.instance = "test-instance";
	f->v.started_at.tv_sec = 1700000000;
	f->v.now.tv_sec = 1700000100;
	f->v.now_mono_ms = 100000;
}

static void fx_group(struct fx *f, const char *name, const char *const *members,
		     size_t n)
{
	size_t g = f->cfg.n_groups++;

	for (size_t i = 0; i < n; i++)
		f->group_members[g][i] = (char *)members[i];
	f->groups[g].name = (char *)name;
	f->groups[g].checks = f->group_members[g];
	f->groups[g].n_checks = n;
}

static void fx_depends(struct fx *f, size_t i, const char *dep)
{
	f->deps[i][f->ccfg[i].n_depends_on++] = (char *)dep;
}

/* Applies one probe result to check i at monotonic time mono. */
static void fx_result(struct fx *f, size_t i, enum pf_reason r,
		      const char *error, double gauge, double mono)
{
	struct pf_result res;
	struct timespec wall = { .tv_sec = 1700000000 + (time_t)(mono / 1000) };

	pf_result_reset(&res);
	res.reason = r;
	res.gauge[0] = gauge;
	if (error)
		snprintf(res.error, sizeof res.error, "%s", error);
	res.details = cJSON_CreateObject();
	cJSON_AddNumberToObject(res.details, "latency_ms", 1.5);
	pf_state_apply(&f->checks[i].state, &f->ccfg[i], &res, 12.5, &wall, mono);
}

static void fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->cfg.n_checks; i++)
		pf_state_clear(&f->checks[i].state);
}

#endif
