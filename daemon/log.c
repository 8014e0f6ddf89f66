/*
 * Structured log records as JSON lines or text (log.h), and the JSON
 * string escaping / UTF-8 repair they need.  The only I/O is writing to
 * the configured FILE*, flushed per record so containers see it at once.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "log_sink.h"
#include "pf_text.h"
#include "pf_util.h"

#define PF_LOG_INLINE_MAX 1024

static const char *const severity_names[] = {
	"DEBUG", "INFO", "WARNING", "ERROR"
};

void pf_log_init(struct pf_log *lg)
{
	lg->out = NULL;
	lg->sink = NULL;
	lg->journal = false;
	lg->format = PF_LOG_JSON;
	lg->level = PF_LOG_INFO;
}

const char *pf_severity_name(enum pf_severity sev)
{
	if ((unsigned)sev > PF_LOG_ERROR)
		return "ERROR";
	return severity_names[sev];
}

int pf_log_parse_format(const char *s, enum pf_log_format *out)
{
	if (!s)
		return -1;
	if (strcasecmp(s, "json") == 0)
		*out = PF_LOG_JSON;
	else if (strcasecmp(s, "text") == 0)
		*out = PF_LOG_TEXT;
	else
		return -1;
	return 0;
}

int pf_log_parse_level(const char *s, enum pf_severity *out)
{
	if (!s)
		return -1;
	for (unsigned i = 0; i <= PF_LOG_ERROR; i++) {
		if (strcasecmp(s, severity_names[i]) == 0) {
			*out = (enum pf_severity)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warn") == 0) {
		*out = PF_LOG_WARNING;
		return 0;
	}
	return -1;
}

static void json_escape_byte(FILE *f, unsigned char c)
{
	switch (c) {
	case '"': fputs("\\\"", f); break;
	case '\\': fputs("\\\\", f); break;
	case '\n': fputs("\\n", f); break;
	case '\r': fputs("\\r", f); break;
	case '\t': fputs("\\t", f); break;
	case '\b': fputs("\\b", f); break;
	case '\f': fputs("\\f", f); break;
	default:
		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
}

void pf_json_write_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n;

	fputc('"', f);
	size_t len = strlen((const char *)p);

	for (size_t i = 0; p[i]; i += n ? n : 1) {
		n = pf_text_utf8_len((const char *)p + i, len - i);
		if (n == 1)
			json_escape_byte(f, p[i]);
		else if (n)
			fwrite(p + i, 1, n, f);
		else
			fputs("\xef\xbf\xbd", f);
	}
	fputc('"', f);
}

/* Text format: one record per line, so control characters are shown
 * escaped rather than breaking the line. */
static void text_write(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fputc('?', f);
		else
			fputc(*p, f);
	}
}

/* One record's fields; NULL / negative ones are left out. */
struct rec {
	enum pf_severity sev;
	const char *time_s, *check, *reason, *hint, *caused_by, *msg;
	double duration_ms;
};

static void json_field(FILE *f, const char *key, const char *value)
{
	if (!value)
		return;
	fprintf(f, ",\"%s\":", key);
	pf_json_write_string(f, value);
}

static int priority(enum pf_severity sev);

static void write_json(FILE *f, const struct rec *r, bool journal)
{
	if (journal)	/* journald strips it: the message stays JSON */
		fprintf(f, "<%d>", priority(r->sev));
	fputs("{\"severity\":\"", f);
	fputs(pf_severity_name(r->sev), f);
	fputs("\",\"message\":", f);
	pf_json_write_string(f, r->msg);
	fputs(",\"time\":\"", f);
	fputs(r->time_s, f);
	fputc('"', f);
	json_field(f, "check", r->check);
	json_field(f, "reason", r->reason);
	json_field(f, "hint", r->hint);
	json_field(f, "caused_by", r->caused_by);
	if (isfinite(r->duration_ms) && r->duration_ms >= 0)
		fprintf(f, ",\"duration_ms\":%.3f", r->duration_ms);
	fputs("}\n", f);
}

static void text_field(FILE *f, const char *key, const char *value)
{
	if (!value)
		return;
	fprintf(f, " %s=", key);
	text_write(f, value);
}

/* syslog priorities, as journald reads them from a "<N>" prefix */
static int priority(enum pf_severity sev)
{
	return sev == PF_LOG_DEBUG ? 7 : sev == PF_LOG_INFO ? 6 :
	       sev == PF_LOG_WARNING ? 4 : 3;
}

static void write_text(FILE *f, const struct rec *r, bool journal)
{
	if (journal)
		fprintf(f, "<%d>", priority(r->sev));
	fprintf(f, "%s %-7s ", r->time_s, pf_severity_name(r->sev));
	if (r->check) {
		fputc('[', f);
		text_write(f, r->check);
		fputs("] ", f);
	}
	text_write(f, r->msg);
	text_field(f, "reason", r->reason);
	text_field(f, "caused_by", r->caused_by);
	text_field(f, "hint", r->hint);
	if (isfinite(r->duration_ms) && r->duration_ms >= 0)
		fprintf(f, " duration_ms=%.3f", r->duration_ms);
	fputc('\n', f);
}

/* One record to the sink (formatted in memory first: a record is kept
 * or dropped whole), else straight to the FILE. */
static void write_record(const struct pf_log *lg, const struct rec *r)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = lg->sink ? open_memstream(&buf, &n) : lg->out ? lg->out : stdout;

	if (!f)
		return;
	if (lg->format == PF_LOG_TEXT)
		write_text(f, r, lg->journal);
	else
		write_json(f, r, lg->journal);
	if (!lg->sink) {
		fflush(f);
		return;
	}
	if (fclose(f) == 0)
		pf_log_sink_write(lg->sink, buf, n);
	free(buf);
}

/* Formats the message (kept whole when long) and writes the record. */
static void vlog(const struct pf_log *lg, struct rec *r, const char *fmt,
		 va_list ap)
{
	char inline_buf[PF_LOG_INLINE_MAX], time_s[40], *big = NULL;
	struct timespec now;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(inline_buf, sizeof inline_buf, fmt, ap);
	r->msg = inline_buf;
	if (n < 0) {
		pf_strlcpy(inline_buf, "(unformattable log message)", sizeof inline_buf);
	} else if ((size_t)n >= sizeof inline_buf && (big = malloc((size_t)n + 1))) {
		/* long messages (a peer's whole error) are kept whole */
		vsnprintf(big, (size_t)n + 1, fmt, again);
		r->msg = big;
	}
	va_end(again);
	clock_gettime(CLOCK_REALTIME, &now);
	r->time_s = pf_time_rfc3339(&now, time_s, sizeof time_s);
	write_record(lg, r);
	free(big);
}

void pf_log_change(const struct pf_log *lg, enum pf_severity sev,
		   const char *check, const char *reason, double duration_ms,
		   const char *hint, const char *caused_by, const char *fmt, ...)
{
	struct rec r = { sev, NULL, check, reason, hint, caused_by, NULL,
			 duration_ms };
	va_list ap;

	if (!pf_log_enabled(lg, sev))
		return;
	va_start(ap, fmt);
	vlog(lg, &r, fmt, ap);
	va_end(ap);
}

/* pf_log_change without a hint or cause. */
void pf_log(const struct pf_log *lg, enum pf_severity sev, const char *check,
	    const char *reason, double duration_ms, const char *fmt, ...)
{
	struct rec r = { sev, NULL, check, reason, NULL, NULL, NULL, duration_ms };
	va_list ap;

	if (pf_log_enabled(lg, sev)) {
		va_start(ap, fmt);
		vlog(lg, &r, fmt, ap);
		va_end(ap);
	}
}
