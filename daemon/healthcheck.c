/*
 * `preflightd healthcheck [--listen ADDR]`: a liveness probe for container
 * HEALTHCHECKs in images without curl or a shell.  It GETs /healthz on the
 * local listener with a blocking socket bounded to 2 s per step; it runs
 * outside the daemon's loop, in its own short-lived process.
 */
#include "healthcheck.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "config.h"
#include "pf_net.h"
#include "pf_util.h"

#define PF_HC_TIMEOUT_S 2

/* A wildcard listen address is reached through loopback of its family. */
static const char *connect_host(const char *host)
{
	if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ||
	    strcmp(host, "*") == 0)
		return "127.0.0.1";
	if (strcmp(host, "::") == 0)
		return "::1";
	return host;
}

/* Blocking connect with SO_SNDTIMEO/SO_RCVTIMEO set first: on Linux the
 * send timeout also bounds connect(), so nothing here waits forever. */
static int connect_bounded(const struct addrinfo *ai)
{
	struct timeval tv = { .tv_sec = PF_HC_TIMEOUT_S, .tv_usec = 0 };
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			ai->ai_protocol);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int open_connection(const char *host, unsigned port, char *err,
			   size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char portstr[16];
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
			 gai_strerror(rc));
		return -1;
	}
	for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_bounded(ai);
	if (fd < 0)
		snprintf(err, errlen, "cannot connect to %s port %u: %s", host,
			 port, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, buf, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads until the status line is complete; returns the HTTP status code or
 * -1.  Only the first line matters, so the buffer stays small. */
static int read_status(int fd)
{
	char buf[256];
	size_t used = 0;
	int code = -1;

	while (used < sizeof(buf) - 1 && memchr(buf, '\n', used) == NULL) {
		ssize_t r = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		used += (size_t)r;
	}
	buf[used] = '\0';
	if (sscanf(buf, "HTTP/1.%*1[01] %3d", &code) != 1)
		return -1;
	return code;
}

int pf_healthcheck_probe(const char *listen, char *err, size_t errlen)
{
	char host[256], req[384], full[300];
	unsigned port = 0;
	const char *target;
	int fd, code;

	/* ":8089" means every address, like an empty host. */
	if (listen[0] == ':') {
		snprintf(full, sizeof(full), "0.0.0.0%s", listen);
		listen = full;
	}
	if (pf_split_hostport(listen, host, sizeof(host), &port, 8089) != 0 ||
	    port == 0) {
		snprintf(err, errlen, "invalid listen address \"%s\": expected "
			 "host:port or [v6]:port", listen);
		return -1;
	}
	target = connect_host(host);
	fd = open_connection(target, port, err, errlen);
	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "GET /healthz HTTP/1.0\r\nHost: %s\r\n"
		 "User-Agent: preflightd-healthcheck\r\n\r\n", target);
	if (send_all(fd, req, strlen(req)) != 0) {
		snprintf(err, errlen, "cannot send to %s port %u: %s", target,
			 port, strerror(errno));
		close(fd);
		return -1;
	}
	code = read_status(fd);
	close(fd);
	if (code != 200) {
		if (code < 0)
			snprintf(err, errlen, "no HTTP answer from %s port %u "
				 "within %d s", target, port, PF_HC_TIMEOUT_S);
		else
			snprintf(err, errlen, "GET /healthz on %s port %u "
				 "answered %d", target, port, code);
		return -1;
	}
	return 0;
}

int pf_healthcheck_main(const char *listen)
{
	char err[512];

	if (listen == NULL || listen[0] == '\0')
		listen = getenv("PREFLIGHT_LISTEN");
	if (listen == NULL || listen[0] == '\0')
		listen = PF_DEFAULT_LISTEN;
	if (pf_healthcheck_probe(listen, err, sizeof(err)) != 0) {
		fprintf(stderr, "preflightd healthcheck: %s\n", err);
		return 1;
	}
	return 0;
}
