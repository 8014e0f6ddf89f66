/*
 * systemd notification protocol (sd_notify) without libsystemd: datagrams
 * to $NOTIFY_SOCKET, a path or an abstract name ("@..."), and the watchdog
 * period from $WATCHDOG_USEC / $WATCHDOG_PID.  Every call is a no-op when
 * the daemon was not started by systemd.  SPEC §8.
 */
#ifndef PF_NOTIFY_H
#define PF_NOTIFY_H

#include <stdint.h>

struct pf_notify;

/* Reads the environment once; returns NULL when not under systemd (or out
 * of memory: then notifications are simply not sent). */
struct pf_notify *pf_notify_open(void);
void pf_notify_close(struct pf_notify *n);

/* Sends one state string such as "READY=1\nSTATUS=...".  0 on success. */
int pf_notify_send(struct pf_notify *n, const char *state);

int pf_notify_ready(struct pf_notify *n, const char *status);
int pf_notify_reloading(struct pf_notify *n);	/* RELOADING=1 + MONOTONIC_USEC */
int pf_notify_stopping(struct pf_notify *n);
int pf_notify_status(struct pf_notify *n, const char *status);
int pf_notify_watchdog(struct pf_notify *n);

/* Half of WATCHDOG_USEC in microseconds (how often to ping), 0 if off. */
uint64_t pf_notify_watchdog_usec(const struct pf_notify *n);

#endif
