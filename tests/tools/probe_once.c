/*
 * probe_once: runs probes of one check kind outside the daemon, for the
 * kinds' integration tests.
 *
 *   probe_once '<check JSON object>' [--repeat N]
 *
 * Prints the last result as JSON on stdout; with --repeat also the open fd
 * count and RSS before and after, so soak tests can see growth.  Exit 0 on
 * pass, 1 on a probe failure, 2 on a config or usage error.
 */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/dns.h>
#include <event2/event.h>

#include "pf_check.h"
#include "pf_config.h"
#include "pf_resolve.h"
#include "pf_sockets.h"
#include "pf_util.h"
#include "config_keys.h"
#include "interp.h"
#include "pf_keys.h"
#include "registry.h"
#if __has_include("pf_curl.h")
#include "pf_curl.h"
#define HAVE_PF_CURL 1
#endif

struct run {
	struct event_base *base;
	bool finished;
	struct pf_result res;		/* copy of the last result; details owned */
	double started_ms, duration_ms;
};

static void on_done(void *arg, struct pf_result *res)
{
	struct run *r = arg;

	cJSON_Delete(r->res.details);
	r->res = *res;
	res->details = NULL;
	r->duration_ms = pf_mono_ms() - r->started_ms;
	r->finished = true;
}

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static int run_one(const struct check_ops *ops, const void *cfg,
		   const struct pf_env *env, void *memory, uint64_t timeout_ms,
		   struct run *r)
{
	void *probe;

	r->finished = false;
	r->started_ms = pf_mono_ms();
	probe = ops->start(&(struct pf_start){ .cfg = cfg, .env = env,
		.memory = memory, .timeout_ms = timeout_ms, .done = on_done, .arg = r });
	if (!probe)
		return -1;
	while (!r->finished)
		event_base_loop(env->base, EVLOOP_ONCE);
	/* Let the probe's deferred release run. */
	event_base_loop(env->base, EVLOOP_NONBLOCK);
	return 0;
}

static void print_result(const struct run *r, cJSON *extra)
{
	cJSON *out = extra ? extra : cJSON_CreateObject();
	const char *reason = pf_reason_name(r->res.reason);
	char *text;

	cJSON_AddItemToObject(out, "reason", reason ? cJSON_CreateString(reason) : cJSON_CreateNull());
	cJSON_AddStringToObject(out, "error", r->res.error);
	cJSON_AddStringToObject(out, "hint", r->res.hint);
	cJSON_AddItemToObject(out, "details", r->res.details ? cJSON_Duplicate(r->res.details, 1) : cJSON_CreateNull());
	cJSON *gauges = cJSON_AddArrayToObject(out, "gauges");
	for (int g = 0; g < PF_GAUGE_MAX; g++) {
		double x = r->res.gauge[g];
		cJSON *item = isnan(x) ? cJSON_CreateNull() : cJSON_CreateNumber(x);
		if (g == 0)
			cJSON_AddItemToObject(out, "gauge", cJSON_Duplicate(item, 1));
		cJSON_AddItemToArray(gauges, item);
	}
	cJSON_AddBoolToObject(out, "warn", r->res.warn);
	cJSON_AddNumberToObject(out, "duration_ms", r->duration_ms);
	text = cJSON_PrintUnformatted(out);
	puts(text ? text : "{}");
	free(text);
	cJSON_Delete(out);
}

static int load(const char *json, const struct check_ops **ops, void **cfg,
		uint64_t *timeout_ms)
{
	char err[512];
	cJSON *obj = cJSON_Parse(json), *raw = NULL;
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	int rc = -1;

	if (!cJSON_IsObject(obj) || !cJSON_IsString(kind)) {
		fprintf(stderr, "probe_once: need a JSON object with \"kind\"\n");
		goto out;
	}
	*ops = pf_registry_find(kind->valuestring);
	if (!*ops) {
		fprintf(stderr, "probe_once: unknown kind %s\n", kind->valuestring);
		goto out;
	}
	*timeout_ms = (*ops)->default_timeout_ms ? (*ops)->default_timeout_ms : 5000;
	/* ${VAR} and ${file:} as the daemon's loader expands them. */
	raw = cJSON_Duplicate(obj, 1);
	if (!raw || pf_interp_tree(obj, "check", err, sizeof(err)) < 0 ||
	    pf_cfg_duration(obj, "check", "timeout", timeout_ms, err, sizeof(err)) < 0 ||
	    !(*cfg = pf_keys_new((*ops)->config, &pf_common_keys, obj, raw, "check", err,
				 sizeof(err)))) {
		fprintf(stderr, "probe_once: %s\n", err);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(raw);
	cJSON_Delete(obj);
	return rc;
}

static int setup_env(struct pf_env *env)
{
	env->base = event_base_new();
	if (!env->base)
		return -1;
	env->dns = pf_dns_new(env->base);
	env->curl = NULL;
	/* as the daemon's: --repeat runs reuse the spare sockets */
	if (!(env->sockets = pf_sockets_new()))
		return -1;
#ifdef HAVE_PF_CURL
	{
		char err[256];
		env->curl = pf_curlm_new(env->base, err, sizeof(err));
		if (!env->curl)
			fprintf(stderr, "probe_once: %s\n", err);
	}
#endif
	return env->dns ? 0 : -1;
}

static void teardown_env(struct pf_env *env)
{
#ifdef HAVE_PF_CURL
	if (env->curl)
		pf_curlm_free(env->curl);
#endif
	/* fail_requests=1: pending evdns callbacks run and free their state. */
	evdns_base_free(env->dns, 1);
	event_base_loop(env->base, EVLOOP_NONBLOCK);
	pf_sockets_free(env->sockets);	/* the probes have given theirs back */
	event_base_free(env->base);
}

int main(int argc, char **argv)
{
	const struct check_ops *ops = NULL;
	struct pf_env env = { 0 };
	struct run r;
	cJSON *extra = NULL;
	uint64_t timeout_ms = 0;
	void *cfg = NULL, *memory = NULL;
	long repeat = 1, fds0, rss0;

	if (argc == 4 && strcmp(argv[2], "--repeat") == 0)
		repeat = strtol(argv[3], NULL, 10);
	if ((argc != 2 && argc != 4) || repeat < 1) {
		fprintf(stderr, "usage: probe_once '<check JSON>' [--repeat N]\n");
		return 2;
	}
	/* As the daemon: a reset peer must be an error, never a SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&r, 0, sizeof(r));
	pf_result_reset(&r.res);
	if (load(argv[1], &ops, &cfg, &timeout_ms) < 0)
		return 2;
	/* the kind's memory lives across --repeat probes, as in the daemon */
	if (ops->memory_size && !(memory = calloc(1, ops->memory_size)))
		return 2;
	if (setup_env(&env) < 0) {
		fprintf(stderr, "probe_once: cannot create the event loop\n");
		return 2;
	}
	fds0 = count_fds();
	rss0 = rss_kb();
	for (long i = 0; i < repeat; i++) {
		if (run_one(ops, cfg, &env, memory, timeout_ms, &r) < 0) {
			fprintf(stderr, "probe_once: start failed\n");
			return 2;
		}
	}
	if (repeat > 1) {
		extra = cJSON_CreateObject();
		cJSON_AddNumberToObject(extra, "runs", (double)repeat);
		cJSON_AddNumberToObject(extra, "fds_before", (double)fds0);
		/* the spare sockets are the pool's, not a leak; counted apart */
		cJSON_AddNumberToObject(extra, "fds_after", (double)(count_fds() -
					(long)pf_sockets_spare(env.sockets)));
		cJSON_AddNumberToObject(extra, "spare_sockets",
					(double)pf_sockets_spare(env.sockets));
		cJSON_AddNumberToObject(extra, "rss_kb_before", (double)rss0);
		cJSON_AddNumberToObject(extra, "rss_kb_after", (double)rss_kb());
	}
	print_result(&r, extra);
	cJSON_Delete(r.res.details);
	pf_keys_delete(ops->config, cfg);
	free(memory);
	teardown_env(&env);
	curl_global_cleanup();
	return r.res.reason == PF_REASON_NONE ? 0 : 1;
}
