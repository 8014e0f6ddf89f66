/* The one place in daemon/ that names check kinds: add a kind here. */
#include <string.h>

#include "registry.h"

extern const struct check_ops pf_check_tcp;
extern const struct check_ops pf_check_postgres;
extern const struct check_ops pf_check_redis;
extern const struct check_ops pf_check_chat;
extern const struct check_ops pf_check_http;

static const struct check_ops *const kinds[] = {
	&pf_check_tcp,
	&pf_check_postgres,
	&pf_check_redis,
	&pf_check_chat,
	&pf_check_http,
	NULL
};

const struct check_ops *pf_registry_find(const char *kind)
{
	for (size_t i = 0; kinds[i]; i++)
		if (strcmp(kinds[i]->kind, kind) == 0)
			return kinds[i];
	return NULL;
}

const struct check_ops *const *pf_registry_all(void)
{
	return kinds;
}
