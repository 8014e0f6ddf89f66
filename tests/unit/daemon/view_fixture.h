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

#include <stddef.h>

#include "check.h"
#include "pf_keys.h"
#include "render.h"

#define FX_MAX 8

/* The fake kind's config is a URL holding a "secret" that the target
 * masks, so the tests can assert it never reaches any output. */
struct fx_kind_cfg {
	char *url;
};

static const struct pf_key fx_key_list[] = {
	{ .name = "url", .type = PF_KEY_URL,
	  .offset = offsetof(struct fx_kind_cfg, url) },
	{ 0 }
};

static const struct pf_keys fx_keys = {
	.name = "fake", .keys = fx_key_list, .size = sizeof(struct fx_kind_cfg),
	.target = "url",
};

static struct fx_kind_cfg fx_kind_cfg = {
	.url = "fake://app:hunter2-secret@127.0.0.1:5432/db",
};

static const struct check_ops fx_ops = {
	.kind = "fake", .config = &fx_keys,
	.gauges = { { "preflight_fake_depth",
		      "Depth of the fake \\ queue\nsecond line." } },
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
	size_t dep_idx[FX_MAX][FX_MAX + 1];
	size_t member_idx[FX_MAX][FX_MAX + 1];
	struct check checks[FX_MAX];
	struct pf_loop_stats loop;
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
		c->kind_cfg = &fx_kind_cfg;
		c->interval_ms = 10000;
		c->timeout_ms = 5000;
		c->failure_threshold = 1;
		c->success_threshold = 1;
		c->critical = true;
		/* made from secrets: renders must never show it */
		memcpy(c->fingerprint, "hunter2-secret", sizeof "hunter2-secret");
		c->depends_on = f->deps[i];
		c->dep_idx = f->dep_idx[i];
		f->checks[i].cfg = c;
		pf_last_reset(&f->checks[i].state.last);
	}
	f->cfg.source = "test";
	f->cfg.checks = f->ccfg;
	f->cfg.n_checks = n;
	f->cfg.groups = f->groups;
	f->v.cfg = &f->cfg;
	f->v.checks = f->checks;
	f->v.n_checks = n;
	f->v.generation = 1;
	f->v.instance = "test-instance";
	f->v.started_at.tv_sec = 1700000000;
	f->v.now.tv_sec = 1700000100;
	f->v.now_mono_ms = 100000;
}

/* What the loader does: a name resolved to its index (FX_MAX: none). */
static size_t fx_index(const struct fx *f, const char *name)
{
	for (size_t i = 0; i < f->cfg.n_checks; i++)
		if (strcmp(f->ccfg[i].name, name) == 0)
			return i;
	return FX_MAX;
}

static void fx_group(struct fx *f, const char *name, const char *const *members,
		     size_t n)
{
	size_t g = f->cfg.n_groups++;

	for (size_t i = 0; i < n; i++) {
		f->group_members[g][i] = (char *)members[i];
		f->member_idx[g][i] = fx_index(f, members[i]);
	}
	f->groups[g].name = (char *)name;
	f->groups[g].checks = f->group_members[g];
	f->groups[g].idx = f->member_idx[g];
	f->groups[g].n_checks = n;
}

static void fx_depends(struct fx *f, size_t i, const char *dep)
{
	f->dep_idx[i][f->ccfg[i].n_depends_on] = fx_index(f, dep);
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
