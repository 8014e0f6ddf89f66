/*
 * sd_notify without libsystemd: one AF_UNIX datagram per state change to
 * $NOTIFY_SOCKET (a filesystem path or an abstract "@name"), plus the
 * watchdog period from $WATCHDOG_USEC / $WATCHDOG_PID.  Owns one socket.
 */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Longest state string we send; STATUS= lines are truncated to fit. */
#define PF_NOTIFY_MAX 1024

struct pf_notify {
	int fd;				/* owned: SOCK_DGRAM, close-on-exec */
	struct sockaddr_un addr;	/* the $NOTIFY_SOCKET address */
	socklen_t addrlen;		/* exact length: abstract names have no NUL */
	uint64_t watchdog_usec;		/* half of WATCHDOG_USEC, 0 if off */
};

/* Fills addr from "/path" or "@abstract".  -1 if the value is unusable
 * (relative, empty abstract name, too long). */
static int parse_address(const char *v, struct sockaddr_un *addr,
			 socklen_t *addrlen)
{
	size_t len = strlen(v);

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (v[0] == '@') {
		/* Abstract names are byte strings of exactly this length; a
		 * trailing NUL would make it a different name. */
		if (len < 2 || len > sizeof(addr->sun_path))
			return -1;
		memcpy(addr->sun_path + 1, v + 1, len - 1);
		*addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
		return 0;
	}
	if (v[0] != '/' || len >= sizeof(addr->sun_path))
		return -1;
	memcpy(addr->sun_path, v, len);
	*addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

/* Strict unsigned decimal: no sign, no spaces, no trailing bytes. */
static int parse_u64(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* The watchdog applies to us only if WATCHDOG_PID is unset or is our pid:
 * the variables may have been inherited from a parent that systemd runs. */
static uint64_t watchdog_half(void)
{
	const char *pid = getenv("WATCHDOG_PID");
	uint64_t usec = 0, p = 0;

	if (parse_u64(getenv("WATCHDOG_USEC"), &usec) != 0 || usec == 0)
		return 0;
	if (pid != NULL && (parse_u64(pid, &p) != 0 || p != (uint64_t)getpid()))
		return 0;
	return usec / 2 > 0 ? usec / 2 : 1;
}

struct pf_notify *pf_notify_open(void)
{
	const char *v = getenv("NOTIFY_SOCKET");
	struct pf_notify *n;

	if (v == NULL || v[0] == '\0')
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	if (parse_address(v, &n->addr, &n->addrlen) != 0) {
		free(n);
		return NULL;
	}
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0) {
		free(n);
		return NULL;
	}
	n->watchdog_usec = watchdog_half();
	return n;
}

void pf_notify_close(struct pf_notify *n)
{
	if (n == NULL)
		return;
	close(n->fd);
	free(n);
}

int pf_notify_send(struct pf_notify *n, const char *state)
{
	ssize_t sent;

	if (n == NULL)
		return 0;
	if (state == NULL || state[0] == '\0')
		return -1;
	/* MSG_DONTWAIT: a stuck or full manager queue must never stall the
	 * event loop; a lost notification is better than a blocked daemon. */
	do {
		sent = sendto(n->fd, state, strlen(state),
			      MSG_DONTWAIT | MSG_NOSIGNAL,
			      (const struct sockaddr *)&n->addr, n->addrlen);
	} while (sent < 0 && errno == EINTR);
	return sent == (ssize_t)strlen(state) ? 0 : -1;
}

/* Appends "STATUS=<text>" with newlines flattened: a newline inside the
 * text would otherwise start a new, unintended assignment. */
static void append_status(char *buf, size_t len, const char *status)
{
	size_t used = strlen(buf);
	int w;

	if (status == NULL || used + 1 >= len)
		return;
	w = snprintf(buf + used, len - used, "%sSTATUS=%s",
		     used > 0 ? "\n" : "", status);
	if (w < 0)
		return;
	/* Skip the separator we wrote; everything after it is ours. */
	for (char *p = buf + used + (used > 0); *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	}
}

int pf_notify_ready(struct pf_notify *n, const char *status)
{
	char buf[PF_NOTIFY_MAX] = "READY=1";

	if (n == NULL)
		return 0;
	append_status(buf, sizeof(buf), status);
	return pf_notify_send(n, buf);
}

int pf_notify_status(struct pf_notify *n, const char *status)
{
	char buf[PF_NOTIFY_MAX] = "";

	if (n == NULL)
		return 0;
	if (status == NULL)
		return -1;
	append_status(buf, sizeof(buf), status);
	return pf_notify_send(n, buf);
}

int pf_notify_reloading(struct pf_notify *n)
{
	char buf[96];
	struct timespec ts;

	if (n == NULL)
		return 0;
	/* systemd 253+ uses MONOTONIC_USEC to match this reload with the
	 * READY=1 that follows; older managers ignore the extra field. */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	return pf_notify_send(n, buf);
}

int pf_notify_stopping(struct pf_notify *n)
{
	return pf_notify_send(n, "STOPPING=1");
}

int pf_notify_watchdog(struct pf_notify *n)
{
	return pf_notify_send(n, "WATCHDOG=1");
}

uint64_t pf_notify_watchdog_usec(const struct pf_notify *n)
{
	return n == NULL ? 0 : n->watchdog_usec;
}
