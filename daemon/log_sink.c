/*
 * The log sink (log_sink.h): one buffer of whole records in front of a
 * non-blocking descriptor, drained when the descriptor turns writable.
 * Owns its buffer, its event and, when it reopened stdout, that
 * descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "log_sink.h"

struct pf_log_sink {
	int fd;			/* the descriptor written */
	bool own_fd;		/* fd was reopened here: close it */
	bool sock;		/* fd is a socket: send(MSG_DONTWAIT) */
	char *buf;		/* owned: pending bytes, whole records */
	size_t len;
	unsigned long dropped;	/* records lost, in total */
	unsigned long unreported;	/* lost since the last "dropped" record */
	struct event *ev;	/* owned: fd writable, armed while buf holds bytes */
};

/* A descriptor of our own for a pipe or terminal, opened non-blocking;
 * the shared open file of stdout keeps its flags. */
static void make_nonblocking(struct pf_log_sink *s)
{
	struct stat st;
	char path[64];
	int fd;

	if (fstat(s->fd, &st) != 0 || S_ISREG(st.st_mode))
		return;		/* a file: the disk does not stall for long */
	if (S_ISSOCK(st.st_mode)) {
		s->sock = true;	/* journald's stream: send() per call */
		return;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", s->fd);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0) {
		s->fd = fd;
		s->own_fd = true;
	}
}

struct pf_log_sink *pf_log_sink_new(int fd)
{
	struct pf_log_sink *s = calloc(1, sizeof *s);

	if (!s || !(s->buf = malloc(PF_LOG_SINK_MAX))) {
		free(s);
		return NULL;
	}
	s->fd = fd;
	make_nonblocking(s);
	return s;
}

static ssize_t put(struct pf_log_sink *s, const char *p, size_t n)
{
	if (s->sock)
		return send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(s->fd, p, n);
}

/* Writes what the descriptor takes now; false on a hard error (the
 * reader is gone: everything pending is dropped). */
static bool drain(struct pf_log_sink *s)
{
	while (s->len > 0) {
		ssize_t n = put(s, s->buf, s->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			s->len = 0;
			return false;
		}
		memmove(s->buf, s->buf + n, s->len - (size_t)n);
		s->len -= (size_t)n;
	}
	return true;
}

static void append(struct pf_log_sink *s, const char *rec, size_t len)
{
	if (len > PF_LOG_SINK_MAX - s->len) {
		s->dropped++;
		s->unreported++;
		return;
	}
	memcpy(s->buf + s->len, rec, len);
	s->len += len;
}

/* Once the reader caught up: how many records it missed. */
static void report_drops(struct pf_log_sink *s)
{
	char rec[200];
	int n;

	if (s->unreported == 0 || s->len > 0)
		return;
	n = snprintf(rec, sizeof rec, "{\"severity\":\"WARNING\",\"message\":"
		     "\"log: %lu records dropped while the log reader was not"
		     " reading (preflight_log_dropped_total)\"}\n", s->unreported);
	s->unreported = 0;
	append(s, rec, (size_t)n);
	drain(s);
}

static void arm(struct pf_log_sink *s)
{
	if (s->ev && s->len > 0 && !event_pending(s->ev, EV_WRITE, NULL))
		event_add(s->ev, NULL);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct pf_log_sink *s = arg;

	(void)fd;
	(void)what;
	drain(s);
	report_drops(s);
	arm(s);
}

int pf_log_sink_attach(struct pf_log_sink *s, struct event_base *base)
{
	if (!s || s->ev)
		return 0;
	s->ev = event_new(base, s->fd, EV_WRITE, on_writable, s);
	if (!s->ev)
		return -1;
	arm(s);
	return 0;
}

void pf_log_sink_write(struct pf_log_sink *s, const char *rec, size_t len)
{
	/* records keep their order: nothing skips what is buffered */
	if (s->len == 0) {
		append(s, rec, len);
		drain(s);
		report_drops(s);
	} else {
		append(s, rec, len);
	}
	arm(s);
}

unsigned long pf_log_sink_dropped(const struct pf_log_sink *s)
{
	return s ? s->dropped : 0;
}

void pf_log_sink_flush(struct pf_log_sink *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };

	while (s->len > 0 && drain(s) && s->len > 0 && poll(&p, 1, timeout_ms) > 0)
		;
}

void pf_log_sink_detach(struct pf_log_sink *s)
{
	if (!s)
		return;
	pf_log_sink_flush(s, 100);
	if (s->ev)
		event_free(s->ev);
	s->ev = NULL;
}

void pf_log_sink_free(struct pf_log_sink *s)
{
	if (!s)
		return;
	pf_log_sink_detach(s);
	pf_log_sink_flush(s, 100);
	if (s->own_fd)
		close(s->fd);
	free(s->buf);
	free(s);
}
