/* Names of reasons and statuses: the one table used by logs, JSON and metrics. */
#include <string.h>

#include "pf_check.h"

static const char *const reason_names[PF_REASON_COUNT] = {
	[PF_REASON_NONE] = NULL,
	[PF_REASON_DNS] = "dns",
	[PF_REASON_CONNECT_REFUSED] = "connect_refused",
	[PF_REASON_CONNECT_TIMEOUT] = "connect_timeout",
	[PF_REASON_TIMEOUT] = "timeout",
	[PF_REASON_TLS] = "tls",
	[PF_REASON_AUTH] = "auth",
	[PF_REASON_PROTOCOL] = "protocol",
	[PF_REASON_WRONG_DATABASE] = "wrong_database",
	[PF_REASON_MISSING_TABLE] = "missing_table",
	[PF_REASON_MISSING_COLUMN] = "missing_column",
	[PF_REASON_ASSERTION] = "assertion",
	[PF_REASON_HTTP_STATUS] = "http_status",
	[PF_REASON_BAD_RESPONSE] = "bad_response",
	[PF_REASON_JOB_FAILED] = "job_failed",
	[PF_REASON_JOB_TIMEOUT] = "job_timeout",
	[PF_REASON_QUEUE_BACKLOG] = "queue_backlog",
	[PF_REASON_QUEUE_STALLED] = "queue_stalled",
	[PF_REASON_READ_ONLY] = "read_only",
	[PF_REASON_CONFIG] = "config",
	[PF_REASON_INTERNAL] = "internal",
};

const char *pf_reason_name(enum pf_reason r)
{
	if ((int)r <= PF_REASON_NONE || r >= PF_REASON_COUNT)
		return NULL;
	return reason_names[r];
}

int pf_reason_from_name(const char *name)
{
	for (int r = PF_REASON_NONE + 1; r < PF_REASON_COUNT; r++)
		if (strcmp(reason_names[r], name) == 0)
			return r;
	return -1;
}

const char *pf_status_name(enum pf_status s)
{
	switch (s) {
	case PF_STATUS_PASS:
		return "pass";
	case PF_STATUS_WARN:
		return "warn";
	case PF_STATUS_FAIL:
		return "fail";
	case PF_STATUS_UNKNOWN:
		break;
	}
	return "unknown";
}
