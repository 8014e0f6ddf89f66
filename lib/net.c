/* Socket-address helpers: classification, printing, host:port splitting. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pf_net.h"
#include "pf_util.h"

static enum pf_addr_class class_v4(uint32_t a)
{
	if ((a >> 24) == 127)
		return PF_ADDR_LOOPBACK;
	if ((a >> 24) == 10 ||			/* 10/8 */
	    (a >> 20) == 0xAC1 ||		/* 172.16/12 */
	    (a >> 16) == 0xC0A8 ||		/* 192.168/16 */
	    (a >> 22) == (100u << 2 | 1) ||	/* 100.64/10 CGNAT */
	    (a >> 16) == 0xA9FE)		/* 169.254/16 link-local */
		return PF_ADDR_PRIVATE;
	return PF_ADDR_PUBLIC;
}

static enum pf_addr_class class_v6(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;
	uint32_t v4;

	if (IN6_IS_ADDR_LOOPBACK(a))
		return PF_ADDR_LOOPBACK;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		memcpy(&v4, b + 12, 4);
		return class_v4(ntohl(v4));
	}
	if ((b[0] & 0xFE) == 0xFC ||			/* fc00::/7 ULA */
	    (b[0] == 0xFE && (b[1] & 0xC0) == 0x80))	/* fe80::/10 */
		return PF_ADDR_PRIVATE;
	return PF_ADDR_PUBLIC;
}

enum pf_addr_class pf_addr_class(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return class_v4(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6)
		return class_v6(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	/* AF_UNIX and friends never leave the machine. */
	return PF_ADDR_LOOPBACK;
}

const char *pf_addr_class_name(enum pf_addr_class c)
{
	switch (c) {
	case PF_ADDR_LOOPBACK:
		return "loopback";
	case PF_ADDR_PRIVATE:
		return "private";
	case PF_ADDR_UNKNOWN:
		return "unknown";
	case PF_ADDR_PUBLIC:
		break;
	}
	return "public";
}

const char *pf_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *src = NULL;

	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (!src || !inet_ntop(sa->sa_family, src, buf, (socklen_t)len))
		pf_strlcpy(buf, "?", len);
	return buf;
}

unsigned pf_addr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

static int parse_port(const char *s, unsigned *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

int pf_split_hostport(const char *s, char *hostbuf, size_t hostlen,
		      unsigned *port, unsigned defport)
{
	const char *colon, *hend;

	if (!s || !*s)
		return -1;
	if (s[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		hend = strchr(s, ']');
		if (!hend || hend == s + 1)
			return -1;
		colon = hend[1] == ':' ? hend + 1 : NULL;
		if (hend[1] != '\0' && !colon)
			return -1;
		s++;
	} else {
		colon = strrchr(s, ':');
		/* More than one colon without brackets: a bare IPv6 address. */
		if (colon && strchr(s, ':') != colon)
			colon = NULL;
		hend = colon ? colon : s + strlen(s);
	}
	if (hend == s || (size_t)(hend - s) >= hostlen)
		return -1;
	memcpy(hostbuf, s, (size_t)(hend - s));
	hostbuf[hend - s] = '\0';
	if (!colon) {
		*port = defport;
		return defport ? 0 : -1;
	}
	return parse_port(colon + 1, port);
}

enum pf_reason pf_connect_reason(int err)
{
	switch (err) {
	case ETIMEDOUT:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return PF_REASON_CONNECT_TIMEOUT;
	default:
		return PF_REASON_CONNECT_REFUSED;
	}
}

int pf_connect_now(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (connect(fd, sa, len) == 0)
		return 1;
	if (errno != EINPROGRESS)
		return -1;
	if (connect(fd, sa, len) == 0 || errno == EISCONN)
		return 1;
	return errno == EALREADY || errno == EINPROGRESS ? 0 : -1;
}

void pf_close_probe_socket(int fd, int established)
{
	if (fd < 0)
		return;
	if (established)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER,
				 &(struct linger){ .l_onoff = 1, .l_linger = 0 },
				 sizeof(struct linger));
	close(fd);
}
