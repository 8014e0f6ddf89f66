/*
 * Structured logging (SPEC §8): one JSON object per line by default with
 * the fields Cloud Logging understands (severity, message, time) plus
 * check, reason and duration_ms when relevant; a text format for people.
 * No global state: a struct pf_log lives in the daemon context.  The
 * daemon writes through a log sink (log_sink.h) so that a slow reader of
 * stdout never blocks the loop.
 */
#ifndef PF_LOG_H
#define PF_LOG_H

#include <stdbool.h>
#include <stdio.h>

enum pf_severity {
	PF_LOG_DEBUG = 0,
	PF_LOG_INFO,
	PF_LOG_WARNING,
	PF_LOG_ERROR
};

enum pf_log_format {
	PF_LOG_JSON = 0,
	PF_LOG_TEXT
};

struct pf_log_sink;

struct pf_log {
	FILE *out;			/* borrowed; NULL means stdout */
	/* borrowed; when set, records go to it (never blocking) instead of
	 * out */
	struct pf_log_sink *sink;
	/* lines start with journald's "<N>" priority (stdout is the
	 * journal: JOURNAL_STREAM names it) */
	bool journal;
	enum pf_log_format format;
	enum pf_severity level;		/* records below it are dropped */
};

/* Defaults: stdout, JSON, INFO. */
void pf_log_init(struct pf_log *lg);

/* Cheap test so callers skip building expensive messages (debug). */
static inline bool pf_log_enabled(const struct pf_log *lg, enum pf_severity sev)
{
	return lg && sev >= lg->level;
}

/* Writes one record.  check and reason may be NULL; duration_ms < 0 means
 * absent.  The message is a printf format.  Never fails visibly. */
void pf_log(const struct pf_log *lg, enum pf_severity sev, const char *check,
	    const char *reason, double duration_ms, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* A status change: pf_log plus the hint and the root cause, since on
 * Cloud Run and Kubernetes the log is where an operator learns why a
 * probe fails (SPEC §8).  hint and caused_by may be NULL. */
void pf_log_change(const struct pf_log *lg, enum pf_severity sev,
		   const char *check, const char *reason, double duration_ms,
		   const char *hint, const char *caused_by, const char *fmt, ...)
	__attribute__((format(printf, 8, 9)));

/* "DEBUG", "INFO", "WARNING", "ERROR". */
const char *pf_severity_name(enum pf_severity sev);

/* CLI parsers: "json"|"text" and "debug"|"info"|"warning"|"error"
 * (case-insensitive, "warn" accepted).  Return -1 on anything else. */
int pf_log_parse_format(const char *s, enum pf_log_format *out);
int pf_log_parse_level(const char *s, enum pf_severity *out);

/* Writes s as a JSON string literal (quotes included) to f: escapes quotes,
 * backslashes and control characters; invalid UTF-8 becomes U+FFFD. */
void pf_json_write_string(FILE *f, const char *s);


#endif
