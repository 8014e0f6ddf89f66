/*
 * Building one notification's body (notify_msg.c).
 */
#ifndef PF_NOTIFY_MSG_H
#define PF_NOTIFY_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

enum pf_notify_format { PF_NOTIFY_JSON, PF_NOTIFY_SLACK, PF_NOTIFY_PAGERDUTY };

struct pf_notify_event {
	enum pf_notify_format format;
	const char *check;
	bool recover;		/* back to pass; else turned fail (or warn) */
	const char *instance;
	const char *link;	/* public_url, or NULL */
};

/* The JSON body for check i of v; malloc'd, NULL when out of memory.
 * routing_key: PagerDuty's (format pagerduty), else NULL. */
char *pf_notify_body(const struct pf_notify_event *ev, const struct pf_view *v,
		     size_t i, const char *routing_key);

#endif
