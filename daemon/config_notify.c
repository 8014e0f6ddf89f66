/*
 * The `notify` entries' key table and the resolution of their filters
 * (config_notify.h).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_notify.h"
#include "config_priv.h"
#include "pf_config.h"
#include "pf_xfer.h"

static const char *const formats[] = { "slack", "json", "pagerduty", NULL };

static bool has(const struct pf_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

static int notify_check(void *obj, const cJSON *json, const char *path,
			char *err, size_t errlen)
{
	struct pf_notify_cfg *n = obj;
	char why[160];

	(void)json;
	if (!pf_config_valid_name(n->name))
		return pf_keys_fail(err, errlen, path, "name", "\"%.64s\" must be"
				    " 1-%d characters of a-z, 0-9, '_', '.', '-'",
				    n->name, PF_NAME_MAX);
	if (!n->url->value || pf_url_check(n->url->value, why, sizeof why) < 0)
		return pf_keys_fail(err, errlen, path, "url", "not an http(s) URL");
	for (size_t i = 0; i < n->on.n; i++)
		if (strcmp(n->on.v[i], "fail") && strcmp(n->on.v[i], "recover"))
			return pf_keys_fail(err, errlen, path, "on", "\"%.32s\" is not"
					    " \"fail\" or \"recover\"", n->on.v[i]);
	n->on_fail = has(&n->on, "fail");
	n->on_recover = has(&n->on, "recover");
	if (strcmp(n->format, "pagerduty") == 0 && !n->routing_key)
		return pf_keys_fail(err, errlen, path, "routing_key", "is required"
				    " with format pagerduty (the Events API v2"
				    " integration key)");
	return 0;
}

static void notify_free(void *obj)
{
	struct pf_notify_cfg *n = obj;

	free(n->match);
	n->match = NULL;
}

static const struct pf_key notify_key_list[] = {
	{ .name = "name", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct pf_notify_cfg, name),
	  .doc = "names the notifier in metrics and logs" },
	{ .name = "url", .type = PF_KEY_SECRET, .required = true,
	  .offset = offsetof(struct pf_notify_cfg, url),
	  .doc = "where messages are POSTed (a Slack incoming webhook, PagerDuty's"
		 " https://events.pagerduty.com/v2/enqueue, any JSON receiver);"
		 " a secret" },
	{ .name = "format", .type = PF_KEY_ENUM, .choices = formats, .def = "\"json\"",
	  .offset = offsetof(struct pf_notify_cfg, format),
	  .doc = "slack (text and blocks), pagerduty (Events API v2 trigger and"
		 " resolve) or json (the /status/{check} object plus event)" },
	{ .name = "on", .type = PF_KEY_STRINGS, .def = "[\"fail\",\"recover\"]",
	  .offset = offsetof(struct pf_notify_cfg, on),
	  .doc = "which transitions: a check turning fail, turning pass again" },
	{ .name = "checks", .type = PF_KEY_STRINGS,
	  .offset = offsetof(struct pf_notify_cfg, checks),
	  .doc = "only these checks (with groups: either)" },
	{ .name = "groups", .type = PF_KEY_STRINGS,
	  .offset = offsetof(struct pf_notify_cfg, groups),
	  .doc = "only the checks of these groups" },
	{ .name = "min_interval", .type = PF_KEY_DURATION, .def = "\"5m\"",
	  .offset = offsetof(struct pf_notify_cfg, min_interval_ms),
	  .doc = "a check's fail messages at most this often (a recover after a"
		 " sent fail always goes)" },
	{ .name = "routing_key", .type = PF_KEY_SECRET,
	  .offset = offsetof(struct pf_notify_cfg, routing_key),
	  .doc = "PagerDuty's integration key (format pagerduty)" },
	{ 0 }
};

const struct pf_keys pf_notify_keys = {
	.name = "notify[]", .keys = notify_key_list,
	.size = sizeof(struct pf_notify_cfg), .check = notify_check,
	.free = notify_free,
	.doc = "A receiver of messages on status transitions, after the"
	       " thresholds, retried with backoff for up to 5 minutes.",
};

/* The checks of one filter list (checks, else the members of groups). */
static int mark(const struct pf_config *cfg, const struct pf_strv *names,
		bool groups, bool *match, const char *where, char *err, size_t errlen)
{
	for (size_t k = 0; k < names->n; k++) {
		int i = groups ? pf_config_find_group(cfg, names->v[k])
			       : pf_config_find_check(cfg, names->v[k]);

		if (i < 0) {
			snprintf(err, errlen, "%s: %s[%zu]: no %s is named \"%.64s\"",
				 cfg->source, where, k, groups ? "group" : "check",
				 names->v[k]);
			return -1;
		}
		if (!groups) {
			match[i] = true;
			continue;
		}
		for (size_t m = 0; m < cfg->groups[i].n_checks; m++)
			match[cfg->groups[i].idx[m]] = true;
	}
	return 0;
}

int pf_config_notify_resolve(struct pf_config *cfg, char *err, size_t errlen)
{
	for (size_t n = 0; n < cfg->notify.n; n++) {
		struct pf_notify_cfg *c = (struct pf_notify_cfg *)cfg->notify.v + n;
		bool all = c->checks.n == 0 && c->groups.n == 0;
		char where[64];

		if (!(c->match = calloc(cfg->n_checks + 1, sizeof *c->match))) {
			snprintf(err, errlen, "%s: out of memory", cfg->source);
			return -1;
		}
		for (size_t i = 0; all && i < cfg->n_checks; i++)
			c->match[i] = true;
		snprintf(where, sizeof where, "notify[%zu].checks", n);
		if (mark(cfg, &c->checks, false, c->match, where, err, errlen) < 0)
			return -1;
		snprintf(where, sizeof where, "notify[%zu].groups", n);
		if (mark(cfg, &c->groups, true, c->match, where, err, errlen) < 0)
			return -1;
	}
	return 0;
}
