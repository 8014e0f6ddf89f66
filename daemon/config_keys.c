/*
 * The configuration document's own key tables: the top level, "defaults"
 * and the common keys of every check, with the types only they use
 * (interval or "off", a map of reason names to hint text).  Values are
 * checked here; config.c and config_check.c decide what they mean.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config_keys.h"
#include "config_notify.h"
#include "config_priv.h"
#include "pf_check.h"
#include "pf_net.h"
#include "pf_util.h"
#include "pf_xfer.h"

/* interval: a duration longer than 0, or "off" (SPEC §3). */
static int interval_parse(const cJSON *v, const char *path, void *field,
			  char *err, size_t errlen)
{
	struct pf_interval *iv = field;

	iv->set = true;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "off") == 0) {
		iv->off = true;
		return 0;
	}
	if (cJSON_IsNumber(v) && pf_duration_from_seconds(v->valuedouble, &iv->ms) < 0) {
		snprintf(err, errlen, "%s: %g is not a duration (seconds, 0 to one"
			 " week)", path, v->valuedouble);
		return -1;
	}
	if (cJSON_IsString(v) && pf_duration_parse(v->valuestring, &iv->ms) < 0) {
		snprintf(err, errlen, "%s: \"%.64s\" is not a duration (e.g."
			 " \"30s\", \"5m\", or \"off\")", path, v->valuestring);
		return -1;
	}
	if (!cJSON_IsNumber(v) && !cJSON_IsString(v)) {
		snprintf(err, errlen, "%s: must be a duration such as \"10s\","
			 " a number of seconds, or \"off\"", path);
		return -1;
	}
	if (iv->ms == 0) {
		snprintf(err, errlen, "%s: must be longer than 0 (or \"off\""
			 " for an on-demand check)", path);
		return -1;
	}
	return 0;
}

static cJSON *interval_describe(const void *field)
{
	const struct pf_interval *iv = field;
	char buf[32];

	if (!iv->set)
		return NULL;
	return cJSON_CreateString(iv->off ? "off" :
				  pf_duration_format(iv->ms, buf, sizeof buf));
}

static const struct pf_key_custom interval_type = {
	.parse = interval_parse, .describe = interval_describe,
	.type_doc = "duration or \"off\"",
	.schema = "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"number\","
		  "\"minimum\":0}]}",
};

/* hints: reason name -> text that replaces the built-in hint. */
static int hints_parse(const cJSON *v, const char *path, void *field,
		       char *err, size_t errlen)
{
	const cJSON *it;

	if (!cJSON_IsObject(v)) {
		snprintf(err, errlen, "%s: must be an object: failure reason -> hint"
			 " text", path);
		return -1;
	}
	cJSON_ArrayForEach(it, v) {
		if (pf_reason_from_name(it->string) < 0) {
			snprintf(err, errlen, "%s.%.64s: not a failure reason (e.g."
				 " dns, connect_timeout, missing_table)", path,
				 it->string);
			return -1;
		}
		if (!cJSON_IsString(it)) {
			snprintf(err, errlen, "%s.%.64s: must be a string", path,
				 it->string);
			return -1;
		}
	}
	if (cJSON_GetArraySize(v) > 0 &&
	    !(*(cJSON **)field = cJSON_Duplicate(v, 1))) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

static void hints_free(void *field)
{
	cJSON_Delete(*(cJSON **)field);
	*(cJSON **)field = NULL;
}

static cJSON *hints_describe(const void *field)
{
	const cJSON *h = *(cJSON *const *)field;

	return h ? cJSON_Duplicate(h, 1) : NULL;
}

static const struct pf_key_custom hints_type = {
	.parse = hints_parse, .free = hints_free, .describe = hints_describe,
	.type_doc = "object: reason -> text",
	.schema = "{\"type\":\"object\",\"propertyNames\":{\"enum\":[\"dns\","
		  "\"connect_refused\",\"connect_timeout\",\"timeout\",\"tls\","
		  "\"auth\",\"protocol\",\"wrong_database\",\"missing_table\","
		  "\"missing_column\",\"assertion\",\"http_status\","
		  "\"bad_response\",\"job_failed\",\"job_timeout\","
		  "\"queue_backlog\",\"queue_stalled\",\"read_only\",\"config\","
		  "\"internal\"]},\"additionalProperties\":{\"type\":\"string\"}}",
};

/* A present timeout or max_age of 0 would never let a probe finish. */
static int defaults_check(void *obj, const cJSON *json, const char *path,
			  char *err, size_t errlen)
{
	const struct pf_check_defaults *d = obj;
	const char *zero = cJSON_GetObjectItemCaseSensitive(json, "timeout") &&
		d->timeout_ms == 0 ? "timeout" :
		cJSON_GetObjectItemCaseSensitive(json, "max_age") &&
		d->max_age_ms == 0 ? "max_age" : NULL;

	if (zero)
		snprintf(err, errlen, "%s%s%s: must be longer than 0", path,
			 *path ? "." : "", zero);
	return zero ? -1 : 0;
}

static const struct pf_key defaults_key_list[] = {
	{ .name = "interval", .type = PF_KEY_CUSTOM, .custom = &interval_type,
	  .offset = offsetof(struct pf_check_defaults, interval),
	  .doc = "time between probes; \"off\": on demand only (POST /run,"
		 " `preflightd check`). Default 10s (chat: off)" },
	{ .name = "timeout", .type = PF_KEY_DURATION,
	  .offset = offsetof(struct pf_check_defaults, timeout_ms),
	  .doc = "hard deadline of one probe; shorter than interval. Default 5s"
		 " (chat: 5m30s)" },
	{ .name = "max_age", .type = PF_KEY_DURATION,
	  .offset = offsetof(struct pf_check_defaults, max_age_ms),
	  .doc = "on-demand checks: how long a result counts for readiness."
		 " Default 1h" },
	{ .name = "failure_threshold", .type = PF_KEY_INT, .def = "1",
	  .min = 1, .max = 1000,
	  .offset = offsetof(struct pf_check_defaults, failure_threshold),
	  .doc = "consecutive failures that turn a passing check to fail" },
	{ .name = "success_threshold", .type = PF_KEY_INT, .def = "1",
	  .min = 1, .max = 1000,
	  .offset = offsetof(struct pf_check_defaults, success_threshold),
	  .doc = "consecutive passes that turn a failing check to pass" },
	{ .name = "critical", .type = PF_KEY_BOOL, .def = "true",
	  .offset = offsetof(struct pf_check_defaults, critical),
	  .doc = "false: a failure shows warn and never blocks readiness" },
	{ .name = "hints", .type = PF_KEY_CUSTOM, .custom = &hints_type,
	  .offset = offsetof(struct pf_check_defaults, hints),
	  .doc = "your own hint per failure reason, replacing the built-in one" },
	{ 0 }
};

const struct pf_keys pf_defaults_keys = {
	.name = "defaults", .keys = defaults_key_list,
	.size = sizeof(struct pf_check_defaults), .check = defaults_check,
	.doc = "Common check keys applied to every check that does not set"
	       " them (hints merge per reason).",
};

static int common_check(void *obj, const cJSON *json, const char *path,
			char *err, size_t errlen)
{
	const struct pf_check_common *c = obj;

	(void)json;
	if (!pf_config_valid_name(c->name))
		return pf_keys_fail(err, errlen, path, "name", "\"%.64s\" must be 1-%d characters"
			 " of a-z, 0-9, '_', '.', '-'", c->name, PF_NAME_MAX);
	return 0;
}

static const struct pf_key common_key_list[] = {
	{ .name = "name", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct pf_check_common, name),
	  .doc = "unique name: [a-z0-9_.-], up to 128 characters" },
	{ .name = "kind", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct pf_check_common, kind),
	  .doc = "tcp, http, postgres, redis or chat" },
	{ .name = "depends_on", .type = PF_KEY_STRINGS,
	  .offset = offsetof(struct pf_check_common, depends_on),
	  .doc = "checks this one needs: their failure is shown as caused_by" },
	{ .name = "defaults", .type = PF_KEY_INLINE, .sub = &pf_defaults_keys,
	  .offset = offsetof(struct pf_check_common, d) },
	{ 0 }
};

const struct pf_keys pf_common_keys = {
	.name = "check", .keys = common_key_list,
	.size = sizeof(struct pf_check_common), .check = common_check,
	.doc = "Keys every check has, whatever its kind.",
};

/* "checks" and "groups" are loaded by config.c: only their shape here. */
static int checks_parse(const cJSON *v, const char *path, void *field,
			char *err, size_t errlen)
{
	(void)field;
	if (cJSON_IsArray(v))
		return 0;
	snprintf(err, errlen, "%s: must be an array of objects", path);
	return -1;
}

static int groups_parse(const cJSON *v, const char *path, void *field,
			char *err, size_t errlen)
{
	(void)field;
	if (cJSON_IsObject(v))
		return 0;
	snprintf(err, errlen, "%s: must be an object (group -> array of check"
		 " names)", path);
	return -1;
}

static const struct pf_key_custom checks_type = {
	.parse = checks_parse, .type_doc = "array of checks",
	.schema = "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/check\"}}",
};

static const struct pf_key_custom groups_type = {
	.parse = groups_parse, .type_doc = "object: group -> [checks]",
	.schema = "{\"type\":\"object\",\"additionalProperties\":{\"type\":"
		  "\"array\",\"minItems\":1,\"items\":{\"type\":\"string\"}}}",
};

static int top_check(void *obj, const cJSON *json, const char *path,
		     char *err, size_t errlen)
{
	struct pf_top_cfg *t = obj;
	char host[256];
	unsigned port = 0;

	(void)path;
	t->run_spacing_set = cJSON_GetObjectItemCaseSensitive(json,
						"run_min_spacing") != NULL;
	if (pf_split_hostport(t->listen, host, sizeof host, &port, 0) < 0 ||
	    port == 0) {
		snprintf(err, errlen, "listen: \"%.64s\" must be host:port (e.g."
			 " \"0.0.0.0:8089\")", t->listen);
		return -1;
	}
	if (t->run_token && (strlen(t->run_token) < 16 ||
			     strpbrk(t->run_token, " \t\r\n"))) {
		snprintf(err, errlen, "run_token: must be a string of at least"
			 " 16 characters without spaces");
		return -1;
	}
	return 0;
}

static const struct pf_key top_key_list[] = {
	{ .name = "listen", .type = PF_KEY_STRING, .def = "\"" PF_DEFAULT_LISTEN "\"",
	  .offset = offsetof(struct pf_top_cfg, listen),
	  .doc = "host:port of /status, /readyz, /healthz, /metrics, /run" },
	{ .name = "run_token", .type = PF_KEY_STRING, .secret = true,
	  .offset = offsetof(struct pf_top_cfg, run_token),
	  .doc = "bearer token POST /run needs from a non-loopback peer (16+"
		 " characters; or PREFLIGHT_RUN_TOKEN)" },
	{ .name = "run_min_spacing", .type = PF_KEY_DURATION,
	  .offset = offsetof(struct pf_top_cfg, run_spacing_ms),
	  .doc = "POST /run starts a check at most once per this; later"
		 " requests coalesce" },
	{ .name = "defaults", .type = PF_KEY_OBJECT, .sub = &pf_defaults_keys,
	  .offset = offsetof(struct pf_top_cfg, defaults),
	  .doc = "common check keys for every check" },
	{ .name = "notify", .type = PF_KEY_OBJECTS, .sub = &pf_notify_keys,
	  .offset = offsetof(struct pf_top_cfg, notify),
	  .doc = "notifications on status transitions (slack, pagerduty, json)" },
	{ .name = "public_url", .type = PF_KEY_URL, .valid = pf_url_check,
	  .offset = offsetof(struct pf_top_cfg, public_url),
	  .doc = "where people reach this daemon's status page; notifications link"
		 " to it" },
	{ .name = "checks", .type = PF_KEY_CUSTOM, .custom = &checks_type,
	  .doc = "the checks: common keys plus their kind's" },
	{ .name = "groups", .type = PF_KEY_CUSTOM, .custom = &groups_type,
	  .doc = "named sets of checks, each with its own readiness" },
	{ 0 }
};

const struct pf_keys pf_top_keys = {
	.name = "top", .keys = top_key_list, .size = sizeof(struct pf_top_cfg),
	.check = top_check,
	.doc = "The configuration document.",
};
