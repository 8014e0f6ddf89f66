/* Small socket-address helpers shared by the probes. */
#ifndef PF_NET_H
#define PF_NET_H

#include <stddef.h>
#include <sys/socket.h>

#include "pf_check.h"

enum pf_addr_class {
	PF_ADDR_UNKNOWN = 0,	/* not resolved (yet) */
	PF_ADDR_LOOPBACK,
	PF_ADDR_PRIVATE,	/* RFC 1918, CGNAT 100.64/10, link-local, IPv6 ULA fc00::/7 and fe80::/10 */
	PF_ADDR_PUBLIC
};

enum pf_addr_class pf_addr_class(const struct sockaddr *sa);
const char *pf_addr_class_name(enum pf_addr_class c);

/* Numeric address without port ("10.0.0.5", "::1") into buf. */
const char *pf_addr_str(const struct sockaddr *sa, char *buf, size_t len);

/* Port of an AF_INET/AF_INET6 address (host order), 0 otherwise. */
unsigned pf_addr_port(const struct sockaddr *sa);

/* The reason for a failed connect's errno: no answer at all (timed out,
 * no route) is connect_timeout, anything else (a reset) connect_refused. */
enum pf_reason pf_connect_reason(int err);

/* Starts a non-blocking connect of fd to sa: 1 when the handshake is
 * already done, 0 when the socket's writability will tell, -1 with errno
 * when it failed.  To a local peer the kernel has done the whole
 * handshake by the time connect() says EINPROGRESS, and asking again
 * says so (0, or EISCONN): no event, no SO_ERROR, no extra turn.  A
 * remote peer says EALREADY (one cheap system call).  A refusal that came
 * meanwhile is the second connect's errno (SO_ERROR would then read 0). */
int pf_connect_now(int fd, const struct sockaddr *sa, socklen_t len);

/* Closes fd; an established connection with a reset (SO_LINGER 0), as
 * HAProxy's checks do: no FIN exchange and no TIME_WAIT left on our side,
 * where 1,000 probes a second would otherwise hold 60,000 sockets and run
 * the ephemeral ports of a remote target out. */
void pf_close_probe_socket(int fd, int established);

/* Splits "host:port", "[v6]:port" or "host" (then *port = defport).
 * host is written into hostbuf.  Returns -1 on a malformed address. */
int pf_split_hostport(const char *s, char *hostbuf, size_t hostlen,
		      unsigned *port, unsigned defport);

#endif
