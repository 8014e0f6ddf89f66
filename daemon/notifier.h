/*
 * Notifications on status transitions (SPEC §6a): each configured
 * notifier gets a bounded queue of messages (notify_msg.c builds them)
 * sent one at a time through the shared libcurl multi handle, retried
 * with backoff for up to 5 minutes.  Nothing here blocks the loop.  The
 * notifier copies what it needs of the configuration, so a reload
 * replaces its settings and keeps the queues of notifiers that stay.
 */
#ifndef PF_NOTIFIER_H
#define PF_NOTIFIER_H

#include <stddef.h>

#include "check.h"
#include "render.h"

struct pf_engine;
struct pf_notifier;


#define PF_NOTIFY_QUEUE_MAX 100		/* messages per notifier */
#define PF_NOTIFY_RETRY_FOR_MS 300000	/* then a message counts as failed */

/* NULL when out of memory.  The engine's curl multi must exist when the
 * configuration has notifiers (pf_engine_ensure_curl). */
struct pf_notifier *pf_notifier_new(struct pf_engine *e);

/* (Re)reads e->cfg's notifiers; queues of those still configured (by
 * name) are kept.  -1 when out of memory. */
int pf_notifier_configure(struct pf_notifier *n);

/* Check i changed from before to its current status. */
void pf_notifier_transition(struct pf_notifier *n, size_t i,
			    enum pf_status before);

const struct pf_notify_stat *pf_notifier_stats(const struct pf_notifier *n,
					       size_t *count);

/* Drops what is queued; in-flight requests are cancelled.  NULL ignored. */
void pf_notifier_free(struct pf_notifier *n);

#endif
