/*
 * Liveness probe for container HEALTHCHECKs: GET /healthz on the local
 * listener (a wildcard address is reached over loopback).  Blocking, with
 * a 2 s bound per step: for its own process, never inside the daemon loop.
 */
#ifndef PF_HEALTHCHECK_H
#define PF_HEALTHCHECK_H

#include <stddef.h>

/* 0 when /healthz answers 200; -1 with a message in err otherwise. */
int pf_healthcheck_probe(const char *listen, char *err, size_t errlen);

/* `preflightd healthcheck [--listen ADDR]`: listen NULL means
 * $PREFLIGHT_LISTEN, else PF_DEFAULT_LISTEN.  Returns the exit status:
 * 0 healthy, 1 not (with one line on stderr). */
int pf_healthcheck_main(const char *listen);

#endif
