/* Unit tests for /metrics (daemon/metrics.c): families, label escaping,
 * per-kind gauges, and the real `promtool check metrics` on the output. */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "view_fixture.h"

static const char *const names[] = { "chat-db", "redis", "plain" };
static const char *const members[] = { "chat-db", "redis" };

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A view with passes, failures of two reasons, a gauge and odd group names. */
static void build(struct fx *f)
{
	fx_init(f, names, 3);
	f->ccfg[2].ops = &fx_plain_ops;
	fx_depends(f, 1, "chat-db");
	fx_group(f, "chat-worker", members, 2);
	fx_group(f, "we\"ird\\group\nname", members, 1);
	fx_result(f, 0, PF_REASON_NONE, NULL, 3, 99000);
	fx_result(f, 1, PF_REASON_TIMEOUT, "slow", NAN, 98000);
	fx_result(f, 1, PF_REASON_TIMEOUT, "slow", NAN, 98500);
	fx_result(f, 1, PF_REASON_QUEUE_BACKLOG, "deep", 5000, 99000);
	/* loop turns of 50 us, 1.5 ms, 3 ms and 1 s */
	pf_loop_record(&f->loop, 0.00005);
	pf_loop_record(&f->loop, 0.0015);
	pf_loop_record(&f->loop, 0.003);
	pf_loop_record(&f->loop, 1.0);
	f->v.loop = &f->loop;
}

static void test_families(void)
{
	struct fx f;
	char *m;

	build(&f);
	m = pf_render_metrics(&f.v);
	PF_EXPECT(m != NULL);
	if (!m)
		return;
	PF_EXPECT(count(m, "# TYPE preflight_check_up gauge\n") == 1);
	PF_EXPECT(count(m, "# HELP preflight_check_up ") == 1);
	PF_EXPECT(strstr(m, "preflight_check_up{check=\"chat-db\",kind=\"fake\"} 1\n"));
	PF_EXPECT(strstr(m, "preflight_check_up{check=\"redis\",kind=\"fake\"} 0\n"));
	PF_EXPECT(strstr(m, "preflight_check_up{check=\"plain\",kind=\"plain\"} 0\n"));
	PF_EXPECT(strstr(m, "preflight_check_duration_seconds{check=\"chat-db\",kind=\"fake\"} 0.0125\n"));
	/* never ran: no duration sample */
	PF_EXPECT(!strstr(m, "preflight_check_duration_seconds{check=\"plain\""));
	/* fx_result probes take 12.5 ms: bucket 0.025 and up hold them all */
	PF_EXPECT(strstr(m, "# TYPE preflight_probe_duration_seconds histogram\n"));
	PF_EXPECT(strstr(m, "preflight_probe_duration_seconds_bucket{check=\"redis\",kind=\"fake\",le=\"0.01\"} 0\n"));
	PF_EXPECT(strstr(m, "preflight_probe_duration_seconds_bucket{check=\"redis\",kind=\"fake\",le=\"0.025\"} 3\n"));
	PF_EXPECT(strstr(m, "preflight_probe_duration_seconds_bucket{check=\"redis\",kind=\"fake\",le=\"+Inf\"} 3\n"));
	PF_EXPECT(strstr(m, "preflight_probe_duration_seconds_count{check=\"redis\",kind=\"fake\"} 3\n"));
	PF_EXPECT(strstr(m, "preflight_probe_duration_seconds_sum{check=\"redis\",kind=\"fake\"} 0.0375\n"));
	PF_EXPECT(strstr(m, "preflight_check_last_success_timestamp_seconds{check=\"chat-db\",kind=\"fake\"}"));
	PF_EXPECT(!strstr(m, "preflight_check_last_success_timestamp_seconds{check=\"redis\""));
	PF_EXPECT(strstr(m, "# TYPE preflight_check_runs_total counter\n"));
	PF_EXPECT(strstr(m, "preflight_check_runs_total{check=\"redis\",kind=\"fake\"} 3\n"));
	PF_EXPECT(strstr(m, "preflight_check_runs_total{check=\"plain\",kind=\"plain\"} 0\n"));
	PF_EXPECT(strstr(m, "# TYPE preflight_check_failures_total counter\n"));
	PF_EXPECT(strstr(m, "preflight_check_failures_total{check=\"redis\",kind=\"fake\",reason=\"timeout\"} 2\n"));
	PF_EXPECT(strstr(m, "preflight_check_failures_total{check=\"redis\",kind=\"fake\",reason=\"queue_backlog\"} 1\n"));
	PF_EXPECT(!strstr(m, "reason=\"dns\""));
	PF_EXPECT(strstr(m, "preflight_group_ready{group=\"chat-worker\"} 0\n"));
	/* loop turns: cumulative buckets, the 1 s turn only in +Inf */
	PF_EXPECT(strstr(m, "# TYPE preflight_loop_turn_cpu_seconds histogram\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_seconds_bucket{le=\"0.0001\"} 1\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_seconds_bucket{le=\"0.001\"} 1\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_seconds_bucket{le=\"0.002\"} 2\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_seconds_bucket{le=\"0.005\"} 3\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_seconds_bucket{le=\"0.25\"} 3\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_seconds_bucket{le=\"+Inf\"} 4\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_seconds_count 4\n"));
	PF_EXPECT(strstr(m, "preflight_loop_turn_cpu_max_seconds 1\n"));
	PF_EXPECT(strstr(m, "preflight_group_ready{group=\"we\\\"ird\\\\group\\nname\"} 1\n"));
	PF_EXPECT(strstr(m, "preflight_ready 0\n"));
	PF_EXPECT(count(m, "# TYPE preflight_fake_depth gauge\n") == 1);
	PF_EXPECT(strstr(m, "# HELP preflight_fake_depth Depth of the fake \\\\ queue\\nsecond line.\n"));
	PF_EXPECT(strstr(m, "preflight_fake_depth{check=\"chat-db\"} 3\n"));
	PF_EXPECT(strstr(m, "preflight_fake_depth{check=\"redis\"} 5000\n"));
	PF_EXPECT(!strstr(m, "preflight_fake_depth{check=\"plain\""));
	PF_EXPECT(strstr(m, "preflight_build_info{version=\"" PF_VERSION "\"} 1\n"));
	PF_EXPECT(!strstr(m, "hunter2"));
	free(m);
	fx_free(&f);
}

static void test_ready_gauge(void)
{
	struct fx f;
	char *m;

	build(&f);
	fx_result(&f, 1, PF_REASON_NONE, NULL, 0, 99500);
	fx_result(&f, 2, PF_REASON_NONE, NULL, NAN, 99500);
	m = pf_render_metrics(&f.v);
	PF_EXPECT(m && strstr(m, "preflight_ready 1\n"));
	PF_EXPECT(m && strstr(m, "preflight_group_ready{group=\"chat-worker\"} 1\n"));
	PF_EXPECT(m && strstr(m, "preflight_fake_depth{check=\"redis\"} 0\n"));
	free(m);
	f.v.stopping = true;
	m = pf_render_metrics(&f.v);
	PF_EXPECT(m && strstr(m, "preflight_ready 0\n"));
	free(m);
	fx_free(&f);
}

/* Runs promtool on text; returns its exit status (-1: could not run). */
static int promtool(const char *text, char *out, size_t outlen)
{
	char path[] = "/tmp/pf_metrics_XXXXXX";
	char cmd[128];
	int fd = mkstemp(path), rc;
	FILE *p;
	size_t n = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	if (p) {
		n = fread(out, 1, outlen - 1, p);
		rc = pclose(p);
	} else {
		rc = -1;
	}
	out[n] = '\0';
	unlink(path);
	return rc;
}

static void test_promtool(void)
{
	struct fx f;
	char out[4096] = "";
	char *m;
	int rc;

	build(&f);
	m = pf_render_metrics(&f.v);
	PF_EXPECT(m != NULL);
	rc = m ? promtool(m, out, sizeof out) : -1;
	if (!PF_EXPECT(rc == 0))
		fprintf(stderr, "    promtool (status %d; missing?): %s\n", rc, out);
	/* promtool is strict about lint problems too: any output is one */
	if (!PF_EXPECT(out[0] == '\0'))
		fprintf(stderr, "    promtool said: %s\n", out);
	free(m);
	/* and it really checks: a broken exposition is refused */
	rc = promtool("preflight_ready{ 1\n", out, sizeof out);
	PF_EXPECT(rc != 0);
	fx_free(&f);
}

/* Rendered a few lines a step, the body is byte for byte the one-call
 * render: families stay whole and in order across steps. */
static void test_steps_match_one_call(void)
{
	struct fx f;
	char *whole, *sliced;
	size_t len = 0, steps = 0;
	struct pf_metrics_job *j;

	build(&f);
	whole = pf_render_metrics(&f.v);
	j = pf_metrics_begin(&f.v, 0);
	PF_EXPECT(j != NULL && pf_metrics_generation(j) == f.v.generation);
	while (j && !pf_metrics_step(j, &f.v, 3))
		steps++;
	sliced = j ? pf_metrics_end(j, &len) : NULL;
	PF_EXPECT(steps > 5);
	PF_EXPECT(whole && sliced && strcmp(whole, sliced) == 0);
	PF_EXPECT(sliced && len == strlen(sliced));
	free(whole);
	free(sliced);
	/* abandoned half way (a reload): nothing leaks (ASan) */
	j = pf_metrics_begin(&f.v, 0);
	PF_EXPECT(j && !pf_metrics_step(j, &f.v, 2));
	pf_metrics_abort(j);
	pf_metrics_abort(NULL);
	fx_free(&f);
}

static void test_empty_view(void)
{
	struct fx f;
	char out[4096];
	char *m;

	fx_init(&f, names, 0);
	m = pf_render_metrics(&f.v);
	PF_EXPECT(m && strstr(m, "preflight_ready 1\n"));
	PF_EXPECT(m && promtool(m, out, sizeof out) == 0);
	free(m);
	fx_free(&f);
}

int main(void)
{
	pf_test("metric families", test_families);
	pf_test("ready gauges", test_ready_gauge);
	pf_test("promtool check metrics", test_promtool);
	pf_test("steps match one call", test_steps_match_one_call);
	pf_test("empty view", test_empty_view);
	return pf_test_summary();
}
