/*
 * The command line (SPEC §7): run the daemon, `check` (probe once and
 * report), `config` (print the effective configuration), `schema DIR`,
 * --version and --help.  Usage and configuration errors exit 2.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "daemon.h"
#include "engine.h"
#include "log_sink.h"
#include "progress.h"
#include "healthcheck.h"
#include "log.h"
#include "pf_schema.h"
#include "pf_util.h"
#include "render.h"
#include "verdict.h"

static const char USAGE[] =
	"usage: preflightd [--config FILE] [--listen ADDR:PORT]\n"
	"                  [--log-format json|text] [--log-level debug|info|warning|error]\n"
	"       preflightd check [--config FILE] [--group G | --check C]\n"
	"                  [--format text|json|junit|tap] [--wait DURATION]\n"
	"       preflightd config [--config FILE]\n"
	"       preflightd config --reference | --json-schema\n"
	"       preflightd schema [--schema S] DIR|DUMP.sql\n"
	"       preflightd healthcheck [--listen ADDR:PORT]   (GET /healthz, for HEALTHCHECK)\n"
	"       preflightd --version | --help\n"
	"\n"
	"The configuration comes from --config, else $PREFLIGHT_CONFIG, else the\n"
	"built-in profile read from the environment.  The listen address comes\n"
	"from --listen, else $PREFLIGHT_LISTEN, else the configuration.\n";

enum command { CMD_RUN, CMD_CHECK, CMD_CONFIG, CMD_SCHEMA, CMD_HEALTHCHECK };

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_JUNIT, REPORT_TAP };

static int parse_format(const char *s, enum report_format *out)
{
	static const char *const names[] = { "text", "json", "junit", "tap" };

	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum report_format)i;
			return 0;
		}
	return -1;
}

struct cli {
	enum command cmd;
	const char *config;	/* borrowed from argv */
	const char *listen;
	const char *group;
	const char *check;
	const char *dir;
	const char *schema;	/* schema: where unqualified names go */
	enum report_format format;	/* check --format */
	bool has_wait;
	uint64_t wait_ms;
	bool level_set;
	bool reference;		/* config --reference */
	bool json_schema;	/* config --json-schema */
	struct pf_log log;
};

/* The one-shot run: what it probes and reports, and its stop rule,
 * evaluated after every result. */
struct oneshot {
	int group;		/* -1: no --group */
	bool wait;		/* --wait: stop only when ready */
	bool *report;		/* owned, per check: reported (when group < 0) */
	bool *run;		/* owned, per check: probed (report + dependencies) */
};

/* Prints "preflightd: <msg> <arg>" and the usage; returns exit status 2. */
static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "preflightd: %s%s%s\n\n", msg, arg ? " " : "", arg ? arg : "");
	fputs(USAGE, stderr);
	return 2;
}

/* One "--name value" or "--name=value" option; returns 0 or exit status 2. */
static int apply_option(struct cli *c, const char *name, const char *val)
{
	bool run = c->cmd == CMD_RUN, check = c->cmd == CMD_CHECK;

	if (strcmp(name, "--config") == 0 && c->cmd != CMD_SCHEMA &&
	    c->cmd != CMD_HEALTHCHECK)
		c->config = val;
	else if (strcmp(name, "--listen") == 0 && (run || c->cmd == CMD_HEALTHCHECK))
		c->listen = val;
	else if (strcmp(name, "--group") == 0 && check)
		c->group = val;
	else if (strcmp(name, "--check") == 0 && check)
		c->check = val;
	else if (strcmp(name, "--schema") == 0 && c->cmd == CMD_SCHEMA)
		c->schema = val;
	else if (strcmp(name, "--format") == 0 && check) {
		if (parse_format(val, &c->format) < 0)
			return usage_error("--format must be text, json, junit or tap,"
					   " not", val);
	} else if (strcmp(name, "--wait") == 0 && check) {
		if (pf_duration_parse(val, &c->wait_ms) < 0)
			return usage_error("--wait needs a duration such as 30s or 2m, not", val);
		c->has_wait = true;
	} else if (strcmp(name, "--log-format") == 0 && (run || check)) {
		if (pf_log_parse_format(val, &c->log.format) < 0)
			return usage_error("--log-format must be json or text, not", val);
	} else if (strcmp(name, "--log-level") == 0 && (run || check)) {
		if (pf_log_parse_level(val, &c->log.level) < 0)
			return usage_error("--log-level must be debug, info, warning "
					   "or error, not", val);
		c->level_set = true;
	} else {
		return usage_error("unknown option", name);
	}
	return 0;
}

static int parse_command(struct cli *c, int argc, char **argv, int *i)
{
	if (argc < 2 || argv[1][0] == '-')
		return 0;
	*i = 2;
	if (strcmp(argv[1], "check") == 0)
		c->cmd = CMD_CHECK;
	else if (strcmp(argv[1], "config") == 0)
		c->cmd = CMD_CONFIG;
	else if (strcmp(argv[1], "schema") == 0)
		c->cmd = CMD_SCHEMA;
	else if (strcmp(argv[1], "healthcheck") == 0)
		c->cmd = CMD_HEALTHCHECK;
	else
		return usage_error("unknown command", argv[1]);
	return 0;
}

/* Returns -1 to continue, else the exit status (help, version, errors). */
static int parse_args(struct cli *c, int argc, char **argv)
{
	int i = 1, rc = parse_command(c, argc, argv, &i);

	if (rc)
		return rc;
	for (; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		char name[64];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(USAGE, stdout);
			return 0;
		}
		if (strcmp(a, "--version") == 0) {
			printf("preflightd %s\n", PF_VERSION);
			return 0;
		}
		if (c->cmd == CMD_CONFIG && (strcmp(a, "--reference") == 0 ||
					     strcmp(a, "--json-schema") == 0)) {
			c->reference |= a[2] == 'r';
			c->json_schema |= a[2] == 'j';
			continue;
		}
		if (c->cmd == CMD_SCHEMA && a[0] != '-' && !c->dir) {
			c->dir = a;
			continue;
		}
		if (strncmp(a, "--", 2) != 0)
			return usage_error("unexpected argument", a);
		pf_strlcpy(name, a, eq && (size_t)(eq - a) < sizeof(name) ?
			   (size_t)(eq - a) + 1 : sizeof(name));
		if (!eq && i + 1 >= argc)
			return usage_error("this option needs a value:", a);
		rc = apply_option(c, name, eq ? eq + 1 : argv[++i]);
		if (rc)
			return rc;
	}
	if (c->cmd == CMD_SCHEMA && !c->dir)
		return usage_error("schema needs a directory", NULL);
	return -1;
}

/* --config, else $PREFLIGHT_CONFIG, else the environment profile. */
static const char *config_path(const struct cli *c)
{
	const char *env = getenv("PREFLIGHT_CONFIG");

	if (c->config)
		return c->config;
	return env && env[0] ? env : NULL;
}

/* A fatal error: in the daemon's log format (SPEC §8: a JSON log stream
 * gets a JSON record), else as a plain line; on stderr either way. */
static void fatal(const struct cli *c, const char *msg)
{
	struct pf_log lg = c->log;

	if (c->cmd != CMD_RUN || lg.format != PF_LOG_JSON) {
		fprintf(stderr, "preflightd: %s\n", msg);
		return;
	}
	lg.out = stderr;
	lg.sink = NULL;
	lg.level = PF_LOG_ERROR;
	pf_log(&lg, PF_LOG_ERROR, NULL, "config", -1, "%s", msg);
}

/* journald reads a "<N>" priority from the start of each line of a
 * stream it owns; JOURNAL_STREAM names that stream (device:inode). */
static bool stdout_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	       fstat(STDOUT_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static struct pf_config *load_config(const struct cli *c)
{
	const char *path = config_path(c);
	struct pf_config *cfg = NULL;
	char err[1024];
	int rc;

	rc = path ? pf_config_load_file(path, &cfg, err, sizeof(err))
		  : pf_config_from_env(&cfg, err, sizeof(err));
	if (rc < 0) {
		fatal(c, err);
		return NULL;
	}
	return cfg;
}

/* Prints j (taken; NULL: out of memory) on stdout; the exit status. */
static int print_json(cJSON *j)
{
	char *text = j ? cJSON_Print(j) : NULL;

	cJSON_Delete(j);
	if (!text) {
		fputs("preflightd: out of memory\n", stderr);
		return 2;
	}
	puts(text);
	free(text);
	return 0;
}

/* --reference and --json-schema: what the key tables document. */
static int cmd_config_doc(const struct cli *c)
{

	if (c->reference) {
		pf_config_reference(stdout);
		return 0;
	}
	return print_json(pf_config_schema());
}

static int cmd_config(const struct cli *c)
{
	struct pf_config *cfg;
	cJSON *j;

	if (c->reference || c->json_schema)
		return cmd_config_doc(c);
	if (!(cfg = load_config(c)))
		return 2;
	j = pf_config_describe(cfg);
	pf_config_free(cfg);
	return print_json(j);
}

/* Serve mode.  Logs go through a sink that never blocks the loop: a
 * log reader that stops reading costs log lines, never probes or answers. */
static int cmd_run(struct cli *c)
{
	struct pf_config *cfg = load_config(c);
	const char *env = getenv("PREFLIGHT_LISTEN");
	struct pf_log_sink *sink = NULL;
	const char *listen;
	struct pf_daemon d;
	char err[512];
	int rc;

	if (!cfg)
		return 2;
	if (!c->log.out && !(sink = pf_log_sink_new(STDOUT_FILENO))) {
		fputs("preflightd: out of memory\n", stderr);
		pf_config_free(cfg);
		return 2;
	}
	c->log.sink = sink;
	c->log.journal = stdout_is_journal();
	if (pf_daemon_init(&d, cfg, config_path(c), &c->log, false, err, sizeof(err)) < 0) {
		fatal(c, err);
		pf_log_sink_free(sink);
		return 2;
	}
	if (sink && pf_log_sink_attach(sink, d.eng.base) < 0)
		fputs("preflightd: cannot watch stdout: logs may be dropped\n", stderr);
	listen = c->listen ? c->listen : env && env[0] ? env : d.eng.cfg->listen;
	rc = pf_daemon_serve(&d, listen);
	pf_log_sink_detach(sink);	/* its event belongs to the loop */
	pf_daemon_free(&d);
	pf_log_sink_free(sink);
	return rc;
}

/* Whether every reported check has a result (its dependencies, probed
 * only so that caused_by can name them, need not). */
static bool all_reported(const struct pf_daemon *d, const struct oneshot *o)
{
	for (size_t i = 0; i < d->eng.n_checks; i++)
		if (o->report[i] && !d->eng.checks[i].state.has_run)
			return false;
	return true;
}

static void oneshot_view(const struct pf_daemon *d, const struct oneshot *o,
			 struct pf_view *v)
{
	pf_engine_view(&d->eng, v);
	if (o->group < 0)
		v->only = o->report;
}

static enum pf_status overall(const struct pf_daemon *d, const struct oneshot *o)
{
	struct pf_view v;

	oneshot_view(d, o, &v);
	return pf_render_overall(&v, o->group);
}

/* Result hook: stop once everything reported (and, with --wait, is ready). */
static void oneshot_on_result(struct pf_daemon *d, void *arg)
{
	const struct oneshot *o = arg;

	if (!all_reported(d, o))
		return;
	if (o->wait && overall(d, o) == PF_STATUS_FAIL)
		return;
	event_base_loopexit(d->eng.base, NULL);
}

/* Marks check i and, transitively, the periodic checks it depends on (free
 * to probe; on-demand ones are probed only when selected themselves). */
static void select_with_deps(const struct pf_config *cfg, size_t i, bool *run,
			     size_t depth)
{
	run[i] = true;
	for (size_t k = 0; depth < cfg->n_checks && k < cfg->checks[i].n_depends_on; k++) {
		size_t j = cfg->checks[i].dep_idx[k];

		if (!run[j] && !cfg->checks[j].on_demand)
			select_with_deps(cfg, j, run, depth + 1);
	}
}

/* What `check` probes and reports (SPEC §7): --group G its members, --check
 * C that check, else every periodic check; on-demand checks only when
 * selected by name or group. */
static int oneshot_select(const struct pf_config *cfg, const struct cli *c,
			  struct oneshot *o)
{
	size_t n = cfg->n_checks ? cfg->n_checks : 1;
	int one = c->check ? pf_config_find_check(cfg, c->check) : -1;

	o->report = calloc(n, sizeof(bool));
	o->run = calloc(n, sizeof(bool));
	if (!o->report || !o->run)
		return -1;
	for (size_t i = 0; i < cfg->n_checks; i++) {
		if (o->group >= 0)
			o->report[i] = false;
		else if (c->check)
			o->report[i] = (int)i == one;
		else
			o->report[i] = !cfg->checks[i].on_demand;
	}
	for (size_t k = 0; o->group >= 0 && k < cfg->groups[o->group].n_checks; k++) {
		int i = pf_config_find_check(cfg, cfg->groups[o->group].checks[k]);
		if (i >= 0)
			o->report[i] = true;
	}
	for (size_t i = 0; i < cfg->n_checks; i++)
		if (o->report[i])
			select_with_deps(cfg, i, o->run, 0);
	return 0;
}

/* --wait's end: report whatever we have. */
static void on_wait_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

/* The text report names the on-demand checks it left out, and how to
 * run them, so nobody mistakes "READY" for "the round trip works". */
static void report_skipped(const struct pf_daemon *d, const struct oneshot *o)
{
	const struct pf_config *cfg = d->eng.cfg;

	for (size_t i = 0; o->group < 0 && i < d->eng.n_checks; i++) {
		const char *name = d->eng.checks[i].cfg->name, *group = NULL;

		if (!d->eng.checks[i].cfg->on_demand || o->report[i])
			continue;
		for (size_t g = 0; !group && g < cfg->n_groups; g++)
			for (size_t k = 0; k < cfg->groups[g].n_checks; k++)
				if (strcmp(cfg->groups[g].checks[k], name) == 0)
					group = cfg->groups[g].name;
		if (group)
			printf("on demand, not run: %s (run it: preflightd check"
			       " --group %s, or --check %s)\n", name, group, name);
		else
			printf("on demand, not run: %s (run it: preflightd check"
			       " --check %s)\n", name, name);
	}
}

static int report(const struct pf_daemon *d, const struct oneshot *o,
		  enum report_format format)
{
	struct pf_view v;
	char *text;

	oneshot_view(d, o, &v);
	text = format == REPORT_JSON ? pf_render_report_json(&v, o->group) :
	       format == REPORT_JUNIT ? pf_render_report_junit(&v, o->group) :
	       format == REPORT_TAP ? pf_render_report_tap(&v, o->group) :
	       pf_render_report_text(&v, o->group);
	if (!text) {
		fputs("preflightd: out of memory\n", stderr);
		return 2;
	}
	fputs(text, stdout);
	if (text[0] && text[strlen(text) - 1] != '\n')
		putchar('\n');
	free(text);
	if (format == REPORT_TEXT)
		report_skipped(d, o);
	return pf_render_overall(&v, o->group) == PF_STATUS_FAIL ? 1 : 0;
}

static int run_oneshot(struct pf_daemon *d, const struct cli *c, struct oneshot *o)
{
	struct timeval tv = { (time_t)(c->wait_ms / 1000),
			      (suseconds_t)(c->wait_ms % 1000 * 1000) };
	struct event *wait_ev = NULL;
	struct pf_progress *progress = NULL;
	int rc;

	d->on_result = oneshot_on_result;
	d->on_result_arg = o;
	if (c->has_wait) {
		wait_ev = evtimer_new(d->eng.base, on_wait_over, d->eng.base);
		if (!wait_ev || evtimer_add(wait_ev, &tv) < 0) {
			fputs("preflightd: out of memory\n", stderr);
			if (wait_ev)
				event_free(wait_ev);
			return 2;
		}
		progress = pf_progress_new(&d->eng, o->group, o->report,
					   pf_mono_ms() + (double)c->wait_ms, stderr,
					   isatty(STDERR_FILENO));
	}
	pf_daemon_schedule(d, o->run);
	/* Nothing selected (an empty configuration): report at once. */
	if (all_reported(d, o))
		event_base_loopexit(d->eng.base, NULL);
	pf_loop_run(d->eng.base, &d->eng.loop);
	pf_progress_free(progress);
	rc = report(d, o, c->format);
	if (wait_ev)
		event_free(wait_ev);
	/* o dies with the caller's frame: the daemon must not call back. */
	d->on_result = NULL;
	d->on_result_arg = NULL;
	return rc;
}

static int cmd_check(struct cli *c)
{
	struct pf_config *cfg = load_config(c);
	struct oneshot o = { .group = -1, .wait = c->has_wait };
	struct pf_daemon d;
	char err[512];
	int rc;

	if (!cfg)
		return 2;
	if (c->group && c->check) {
		pf_config_free(cfg);
		return usage_error("--group and --check cannot be combined", NULL);
	}
	if (c->group && (o.group = pf_config_find_group(cfg, c->group)) < 0) {
		fprintf(stderr, "preflightd: --group: unknown group %s\n", c->group);
		pf_config_free(cfg);
		return 2;
	}
	if (c->check && pf_config_find_check(cfg, c->check) < 0) {
		fprintf(stderr, "preflightd: --check: unknown check %s\n", c->check);
		pf_config_free(cfg);
		return 2;
	}
	if (oneshot_select(cfg, c, &o) < 0) {
		fputs("preflightd: out of memory\n", stderr);
		free(o.report);
		free(o.run);
		pf_config_free(cfg);
		return 2;
	}
	/* stdout carries the report: logs go to stderr, quiet by default. */
	c->log.out = stderr;
	if (!c->level_set)
		c->log.level = PF_LOG_ERROR;
	if (pf_daemon_init(&d, cfg, config_path(c), &c->log, true, err, sizeof(err)) < 0) {
		fprintf(stderr, "preflightd: %s\n", err);
		free(o.report);
		free(o.run);
		return 2;
	}
	rc = run_oneshot(&d, c, &o);
	pf_daemon_free(&d);
	free(o.report);
	free(o.run);
	return rc;
}

/* libevent's own warnings (it prints "[warn] ..." on stderr by default) as
 * JSON log lines, so nothing unstructured reaches the log stream.  The
 * callback takes no context argument, so it is stateless: stderr, WARNING
 * and ERROR only. */
static void on_libevent_log(int severity, const char *msg)
{
	struct timespec now;
	char ts[40], text[512];

	if (severity < EVENT_LOG_WARN)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(text, sizeof(text), "libevent: %s", msg);
	fprintf(stderr, "{\"severity\":\"%s\",\"time\":\"%s\",\"message\":",
		severity >= EVENT_LOG_ERR ? "ERROR" : "WARNING",
		pf_time_rfc3339(&now, ts, sizeof(ts)));
	pf_json_write_string(stderr, text);
	fputs("}\n", stderr);
}

int main(int argc, char **argv)
{
	struct cli c;
	int rc;

	memset(&c, 0, sizeof(c));
	pf_log_init(&c.log);
	rc = parse_args(&c, argc, argv);
	if (rc >= 0)
		return rc;
	/* libevent's bufferevents (the HTTP side) write with plain writev(): a
	 * peer that went away must be an error value, not a signal that kills
	 * us. */
	signal(SIGPIPE, SIG_IGN);
	event_set_log_callback(on_libevent_log);
	switch (c.cmd) {
	case CMD_CHECK:
		return cmd_check(&c);
	case CMD_CONFIG:
		return cmd_config(&c);
	case CMD_SCHEMA:
		return pf_schema_main(c.dir, c.schema, stdout, stderr);
	case CMD_HEALTHCHECK:
		return pf_healthcheck_main(c.listen);
	case CMD_RUN:
	default:
		return cmd_run(&c);
	}
}
