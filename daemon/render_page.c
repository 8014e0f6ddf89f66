/*
 * GET /: the status page for people (SPEC §6).  One self-contained HTML
 * document, no external assets and no script: it reloads itself with a
 * meta refresh.  Built from the same objects as /status (each check's
 * object from render.c, so the page and the API never disagree) plus the
 * history (history.h).  Every text it shows is escaped; the HTTP layer
 * adds a Content-Security-Policy that forbids scripts anyway.  Pure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "history.h"
#include "pf_util.h"
#include "render_int.h"

/* The strip shows this many of the most recent runs. */
#define STRIP_RUNS 40

static const char STYLE[] =
	"body{font:15px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}"
	"header{padding:16px 20px;color:#fff}"
	"header.pass{background:#1f7a45}header.warn{background:#9a6a00}"
	"header.fail,header.unknown{background:#b3261e}"
	"h1{margin:0;font-size:24px}header p{margin:4px 0 0}"
	"header a{color:#fff}main{padding:12px 20px;max-width:1100px}"
	".groups span{display:inline-block;margin:2px 6px 2px 0;padding:2px 8px;"
	"border-radius:10px;color:#fff}"
	".check{background:#fff;border:1px solid #d9dde3;border-radius:6px;"
	"margin:10px 0;padding:10px 14px}"
	".check h2{font-size:17px;margin:0 0 4px;overflow-wrap:anywhere}"
	".badge{font-size:12px;padding:1px 7px;border-radius:9px;color:#fff;"
	"margin-left:6px;vertical-align:middle}"
	".pass .badge,.b-pass{background:#1f7a45}.warn .badge,.b-warn{background:#9a6a00}"
	".fail .badge,.b-fail{background:#b3261e}.unknown .badge,.b-unknown{background:#69707d}"
	"dl{margin:4px 0;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}"
	"dt{color:#5b6270}dd{margin:0;overflow-wrap:anywhere}"
	".strip{display:flex;gap:2px;margin-top:6px;align-items:flex-end;height:22px}"
	".strip i{display:block;width:6px;min-height:4px;border-radius:1px}"
	"@media(max-width:600px){dl{grid-template-columns:1fr}dt{margin-top:4px}}";

static void put_escaped(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One <dt>/<dd> row when the value is set. */
static void row(FILE *f, const char *label, const char *value)
{
	if (!value)
		return;
	fprintf(f, "<dt>%s</dt><dd>", label);
	put_escaped(f, value);
	fputs("</dd>", f);
}

static void uptime_row(FILE *f, const struct pf_history *h, time_t now)
{
	static const struct { const char *name; unsigned s; } w[] = {
		{ "1h", 3600 }, { "24h", 86400 }, { "7d", 604800 } };

	fputs("<dt>uptime</dt><dd>", f);
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		double r = pf_history_uptime(h, now, w[i].s);

		if (isnan(r))
			fprintf(f, "%s%s –", i ? " · " : "", w[i].name);
		else
			fprintf(f, "%s%s %.2f%%", i ? " · " : "", w[i].name, r * 100.0);
	}
	fputs("</dd>", f);
}

/* The recent runs as bars: colour is the status, height the latency
 * (log scale), the tooltip says both. */
static void strip(FILE *f, const struct pf_history *h)
{
	unsigned n = h ? h->n_runs : 0;

	if (n == 0)
		return;
	fputs("<div class=\"strip\" aria-label=\"recent results\">", f);
	for (unsigned k = n < STRIP_RUNS ? n : STRIP_RUNS; k > 0; k--) {
		struct pf_history_run r;
		double ms;
		int px;
		char when[40];
		struct timespec ts;

		if (!pf_history_run_at(h, k - 1, &r))
			break;
		ms = r.duration_ms > 0 ? r.duration_ms : 0;
		px = 4 + (int)(log10(1.0 + ms) * 5.0);
		ts = (struct timespec){ .tv_sec = (time_t)r.t };
		fprintf(f, "<i class=\"b-%s\" style=\"height:%dpx\" title=\"%s %s %.1f ms%s%s\"></i>",
			pf_status_name(r.status), px > 22 ? 22 : px,
			pf_time_rfc3339(&ts, when, sizeof when),
			pf_status_name(r.status), ms, r.reason ? " " : "",
			r.reason ? pf_reason_name(r.reason) : "");
	}
	fputs("</div>", f);
}

static void check_card(FILE *f, const struct pf_view *v, size_t i)
{
	cJSON *o = pf_render_check_obj(v, i);
	const struct pf_history *h = v->checks[i].state.history;
	const char *status = o ? str(o, "status") : "unknown";

	fprintf(f, "<section class=\"check %s\"><h2>", status);
	put_escaped(f, v->cfg->checks[i].name);
	fprintf(f, "<span class=\"badge\">%s</span></h2><dl>", status);
	row(f, "kind", o ? str(o, "kind") : NULL);
	row(f, "target", o ? str(o, "target") : NULL);
	row(f, "reason", o ? str(o, "reason") : NULL);
	row(f, "error", o ? str(o, "error") : NULL);
	row(f, "hint", o ? str(o, "hint") : NULL);
	row(f, "caused by", o ? str(o, "caused_by") : NULL);
	row(f, "last success", o && str(o, "last_success") ? str(o, "last_success") :
	    "never");
	uptime_row(f, h, v->now.tv_sec);
	fputs("</dl>", f);
	strip(f, h);
	fputs("</section>\n", f);
	cJSON_Delete(o);
}

static void groups(FILE *f, const struct pf_view *v)
{
	if (v->cfg->n_groups == 0)
		return;
	fputs("<p class=\"groups\">", f);
	for (size_t g = 0; g < v->cfg->n_groups; g++) {
		enum pf_status s = pf_render_overall(v, (int)g);

		fprintf(f, "<span class=\"b-%s\">", pf_status_name(s));
		put_escaped(f, v->cfg->groups[g].name);
		fprintf(f, ": %s</span>", pf_status_name(s));
	}
	fputs("</p>", f);
}

char *pf_render_page(const struct pf_view *v)
{
	struct pf_set s;
	char *buf = NULL, when[40];
	size_t len = 0;
	FILE *f;
	bool ready;
	enum pf_status overall;

	if (pf_set_init(&s, v, -1) < 0)
		return NULL;
	if (!(f = open_memstream(&buf, &len))) {
		pf_set_free(&s);
		return NULL;
	}
	ready = pf_set_ready(v, &s);
	overall = pf_set_overall(v, &s);
	fprintf(f, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
		"<meta http-equiv=\"refresh\" content=\"10\"><title>preflightd: %s</title>"
		"<style>%s</style></head><body><header class=\"%s\"><h1>%s</h1><p>",
		ready ? "ready" : "not ready", STYLE, pf_status_name(overall),
		ready ? "Ready" : "Not ready");
	put_escaped(f, v->instance ? v->instance : "");
	fprintf(f, " · preflightd %s · %s · <a href=\"/status\">/status</a> · "
		"<a href=\"/metrics\">/metrics</a></p></header><main>",
		PF_VERSION, pf_time_rfc3339(&v->now, when, sizeof when));
	groups(f, v);
	for (size_t k = 0; k < s.n; k++)
		check_card(f, v, s.idx[k]);
	if (s.n == 0)
		fputs("<p>No checks are configured.</p>", f);
	fputs("</main></body></html>\n", f);
	pf_set_free(&s);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
