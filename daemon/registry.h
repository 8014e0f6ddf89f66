/* The one table that names every check kind. */
#ifndef PF_REGISTRY_H
#define PF_REGISTRY_H

#include "pf_check.h"

/* The ops of a kind, or NULL when no kind has that name. */
const struct check_ops *pf_registry_find(const char *kind);
/* NULL-terminated list of every kind, in a stable order. */
const struct check_ops *const *pf_registry_all(void);

#endif
