/* Placeholder until the chat kind lands: refuses configs that use it. */
#include <stdio.h>

#include "pf_check.h"

static int parse(const struct cJSON *obj, const char *path, void **cfg,
		 char *err, size_t errlen)
{
	(void)obj;
	(void)cfg;
	snprintf(err, errlen, "%s.kind: the chat check is not built yet", path);
	return -1;
}

const struct check_ops pf_check_chat = {
	.kind = "chat",
	.parse = parse,
};
