/*
 * Notifications in the configuration (SPEC §6a): the top-level `notify`
 * array and `public_url`.  config_notify.c holds their key table and
 * resolves each notifier's check and group filters once the checks are
 * loaded.  The notifier config is owned by struct pf_config.
 */
#ifndef PF_CONFIG_NOTIFY_H
#define PF_CONFIG_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf_keys.h"

struct pf_config;
struct pf_secret;

struct pf_notify_cfg {
	char *name;
	struct pf_secret *url;		/* owned: a webhook URL is a secret (Slack's are) */
	char *format;			/* "slack", "json" or "pagerduty" */
	struct pf_strv on;		/* "fail", "recover" */
	struct pf_strv checks, groups;	/* filters; none: every check */
	uint64_t min_interval_ms;	/* fail messages of one check at most this often */
	struct pf_secret *routing_key;	/* owned: PagerDuty's integration key */
	/* derived */
	bool on_fail, on_recover;
	bool *match;			/* owned, one per check of the config, at load */
};

extern const struct pf_keys pf_notify_keys;

/* Resolves every notifier's filters against cfg's checks and groups;
 * -1 with err ("SOURCE: notify[1].checks[0]: no check is named ..."). */
int pf_config_notify_resolve(struct pf_config *cfg, char *err, size_t errlen);

#endif
