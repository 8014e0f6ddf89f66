/*
 * The built-in profile (SPEC §5): the checks and groups preflightd creates
 * from the services' own environment when no config file is given.  The
 * tables and columns it requires are documented in docs/profile.md.
 */
#ifndef PF_DAEMON_PROFILE_H
#define PF_DAEMON_PROFILE_H

#include <stddef.h>

struct cJSON;

/* The profile as a configuration document (same shape as a config file),
 * built from the environment; every variable may also be given as
 * NAME_FILE.  Returns the document (caller owns it), or NULL with err
 * filled ("environment: REDIS_URL_FILE: ...").  pf_config_from_env()
 * loads this document through the same validation as a file. */
struct cJSON *pf_profile_document(char *err, size_t errlen);

#endif
