/*
 * The table of check kinds.  The kinds are named once, in check_kinds of
 * checks/meson.build; the build writes registry_kinds.h from that list,
 * so adding a kind is its file and that one line.
 */
#include <string.h>

#include "registry.h"
#include "registry_kinds.h"	/* kinds[]: every kind, NULL-terminated */

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
