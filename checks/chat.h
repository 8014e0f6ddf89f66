/*
 * The chat kind's configuration (SPEC §3 chat): parsed in chat_cfg.c,
 * used by the probe in chat.c.  Internal to checks/.
 */
#ifndef PF_CHECKS_CHAT_H
#define PF_CHECKS_CHAT_H

#include <stddef.h>
#include <stdint.h>

struct cJSON;

struct chat_cfg {
	char *base_url;		/* owned; may hold user:pass, shown redacted */
	char *message;		/* owned */
	char *thread_id;	/* owned, or NULL */
	char *token;		/* owned secret, or NULL: never printed */
	char *id_field;		/* owned */
	char *ca_file;		/* owned path, or NULL: system CA store */
	struct cJSON *headers;		/* owned copy, or NULL */
	char **done, **failed;	/* owned NULL-terminated status lists */
	size_t n_done, n_failed;
	uint64_t poll_ms;
	size_t max_body;
};

/* check_ops hooks (see pf_check.h). */
int pf_chat_cfg_parse(const struct cJSON *obj, const char *path, void **out,
		      char *err, size_t errlen);
void pf_chat_cfg_free(void *cfg);
void pf_chat_cfg_target(const void *cfg, char *buf, size_t len);
struct cJSON *pf_chat_cfg_describe(const void *cfg);

#endif
