/*
 * Spare TCP sockets for the kinds that connect their own (tcp, redis).
 * A probe's connection ends with connect(AF_UNSPEC): the kernel sends the
 * reset, frees the local port and leaves the socket ready to connect
 * again, so the next probe makes a whole new handshake from a new port
 * without a socket() and a close() (~15 % of a loopback tcp probe's
 * CPU).  Only sockets whose connection was established are kept, and
 * only for a family whose self-test at start passed (a sandboxed network
 * stack need not support disconnecting a TCP socket).  Owned by the
 * engine, lent to probes through pf_env.
 */
#ifndef PF_SOCKETS_H
#define PF_SOCKETS_H

#include <stdbool.h>
#include <sys/socket.h>

/* Most spare sockets kept per address family. */
#define PF_SOCKETS_SPARE 32

struct pf_sockets {
	int spare[2][PF_SOCKETS_SPARE];	/* owned: [0] AF_INET, [1] AF_INET6 */
	unsigned n[2];
	bool reuse[2];			/* that family's self-test passed */
};

/* A pool (self-tested), or NULL out of memory. */
struct pf_sockets *pf_sockets_new(void);
/* Closes the spare sockets; s may be NULL. */
void pf_sockets_free(struct pf_sockets *s);

/* Spare sockets held now (both families); 0 for NULL. */
unsigned pf_sockets_spare(const struct pf_sockets *s);

/* A non-blocking, close-on-exec TCP socket for connecting to sa: a spare
 * one or a new one.  -1 with errno set.  s may be NULL (a new one). */
int pf_sockets_take(struct pf_sockets *s, const struct sockaddr *sa);

/* What to give the socket back as, once it was connected to sa: sa's
 * family, or AF_UNSPEC (never kept) for a v4-mapped IPv6 address, after
 * which a disconnected AF_INET6 socket stays on the IPv4 path and cannot
 * reach a native IPv6 peer, and for a scoped (link-local) one, which
 * stays bound to its interface.  pf_sockets_take opens a new socket for
 * such an address instead of spending a spare. */
int pf_sockets_family(const struct sockaddr *sa);

/* Ends fd's use (family: pf_sockets_family's).  An established
 * connection ends with a reset (no TIME_WAIT here) and the socket is
 * kept when it may be and there is room; anything else is closed.
 * fd < 0 is ignored; s may be NULL. */
void pf_sockets_give(struct pf_sockets *s, int fd, int family, bool established);

#endif
