/*
 * One Redis connection for a probe (pf_redis_conn.h): socket, connect,
 * the pipelined commands out, hiredis' reader in, one callback per reply.
 * To a local peer a probe costs two connects, one send, one epoll
 * registration and its removal, one read and the disconnect that keeps
 * the socket for the next probe (pf_sockets.h); on hiredis' async context it made five
 * system calls more (and a socket() and a close()) and cost ~15 % more
 * CPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "pf_net.h"
#include "pf_redis_conn.h"
#include "pf_sockets.h"

static void conn_on_read(evutil_socket_t fd, short what, void *arg);
static void conn_on_write(evutil_socket_t fd, short what, void *arg);

int pf_redis_conn_init(struct pf_redis_conn *c, size_t cap,
		       const struct pf_redis_conn_ops *ops, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->ops = ops;
	c->arg = arg;
	c->budget.cap = cap;
	if (!(c->reader = redisReaderCreate()))
		return -1;
	pf_redis_meter_install(c->reader, &c->meter, &c->budget);
	return 0;
}

void pf_redis_conn_close(struct pf_redis_conn *c)
{
	if (c->rev)
		event_free(c->rev);	/* deletes a pending event first */
	if (c->wev)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	/* Every command was answered or the probe gave up on them: a reset
	 * loses nothing (Redis logs one only at its verbose level). */
	pf_sockets_give(c->sockets, c->fd, c->family, c->connected);
	c->fd = -1;
	if (c->reader) {
		/* hiredis' own table frees a partial reply */
		pf_redis_meter_remove(c->reader, &c->meter);
		redisReaderFree(c->reader);
	}
	c->reader = NULL;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_sent = 0;
	c->head = c->tail = 0;
}

/* ---- commands out ------------------------------------------------------ */

/* Waits for writability (the connect's end, or room for the rest of
 * the commands): 0, or -1 out of memory. */
static int conn_want_write(struct pf_redis_conn *c)
{
	if (!c->wev)
		c->wev = event_new(c->base, c->fd, EV_WRITE | EV_PERSIST, conn_on_write, c);
	return c->wev && event_add(c->wev, NULL) == 0 ? 0 : -1;
}

/* Appends "<prefix><n>\r\n" at the end of out (room was made). */
static void put_len(struct pf_redis_conn *c, char prefix, size_t n)
{
	c->out_len += (size_t)sprintf(c->out + c->out_len, "%c%zu\r\n", prefix, n);
}

int pf_redis_conn_command(struct pf_redis_conn *c, pf_redis_reply_fn *fn,
			  int argc, const char **argv)
{
	size_t need = 24, len;
	char *out;

	if (!c->reader || c->tail - c->head >= PF_REDIS_CONN_CMDS)
		return -1;
	for (int i = 0; i < argc; i++)
		need += strlen(argv[i]) + 24;	/* "$<len>\r\n" arg "\r\n" */
	if (!(out = realloc(c->out, c->out_len + need)))
		return -1;
	c->out = out;
	put_len(c, '*', (size_t)argc);
	for (int i = 0; i < argc; i++) {
		len = strlen(argv[i]);
		put_len(c, '$', len);
		memcpy(c->out + c->out_len, argv[i], len);
		memcpy(c->out + c->out_len + len, "\r\n", 2);
		c->out_len += len + 2;
	}
	c->waiting[c->tail++ % PF_REDIS_CONN_CMDS] = fn;
	if (!c->connected || c->fd < 0)
		return 0;	/* the connect sends it */
	return conn_want_write(c);
}

/* Writes what is queued: 0 (all of it, or the rest waits for the write
 * event), or an errno.  MSG_NOSIGNAL: a reset peer is an error, not a
 * SIGPIPE. */
static int conn_send(struct pf_redis_conn *c)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent,
				 c->out_len - c->out_sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return errno;
		c->out_sent += (size_t)n;
	}
	if (c->out_sent == c->out_len) {
		c->out_len = c->out_sent = 0;	/* keeps the buffer */
		if (c->wev)
			event_del(c->wev);
		return 0;
	}
	return conn_want_write(c) == 0 ? 0 : ENOMEM;
}

/* The handshake is done: tell the owner, send the pipeline, then wait for
 * the replies.  0 or an errno. */
static int conn_established(struct pf_redis_conn *c)
{
	int err;

	c->connected = true;
	c->ops->connected(c->arg);
	if ((err = conn_send(c)) != 0)
		return err;
	c->rev = event_new(c->base, c->fd, EV_READ | EV_PERSIST, conn_on_read, c);
	if (!c->rev || event_add(c->rev, NULL) < 0)
		return ENOMEM;
	return 0;
}

/* A failure with an errno after the socket exists: out of memory is
 * ours, anything else the connection's. */
static void conn_failed_errno(struct pf_redis_conn *c, enum pf_redis_conn_error e,
			      int err)
{
	bool ours = err == ENOMEM || err == ENOBUFS;

	c->ops->failed(c->arg, ours ? PF_REDIS_CONN_RESOURCE : e, err, "");
}

void pf_redis_conn_connect(struct pf_redis_conn *c, const struct pf_env *env,
			   const struct sockaddr *sa, socklen_t salen)
{
	int err, started;

	c->base = env->base;
	c->sockets = env->sockets;
	c->family = pf_sockets_family(sa);
	if ((c->fd = pf_sockets_take(c->sockets, sa)) < 0) {
		c->ops->failed(c->arg, PF_REDIS_CONN_RESOURCE, errno, "");
		return;
	}
	started = pf_connect_now(c->fd, sa, salen);	/* as the tcp kind */
	if (started < 0) {
		c->ops->failed(c->arg, PF_REDIS_CONN_CONNECT, errno, "");
	} else if (started == 1) {
		if ((err = conn_established(c)) != 0)
			conn_failed_errno(c, PF_REDIS_CONN_IO, err);
	} else if (conn_want_write(c) < 0) {
		c->ops->failed(c->arg, PF_REDIS_CONN_RESOURCE, ENOMEM, "");
	}
}

/* ---- events ------------------------------------------------------------ */

/* libevent: writable.  Before the handshake that is the connect's end,
 * one way or the other; after it, room for the rest of the commands. */
static void conn_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct pf_redis_conn *c = arg;
	int err = 0;
	socklen_t sl = sizeof(err);

	(void)what;
	if (!c->connected) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (err != 0) {
			c->ops->failed(c->arg, PF_REDIS_CONN_CONNECT, err, "");
			return;
		}
		err = conn_established(c);
	} else {
		err = conn_send(c);
	}
	if (err != 0)
		conn_failed_errno(c, PF_REDIS_CONN_IO, err);
}

/* The reader failed: the budget's refusal, or hiredis' words for what it
 * could not parse (copied: the owner frees the reader). */
static void conn_reader_failed(struct pf_redis_conn *c)
{
	char text[sizeof(c->reader->errstr)];

	if (c->budget.exceeded) {
		c->ops->failed(c->arg, PF_REDIS_CONN_BUDGET, 0, "");
		return;
	}
	snprintf(text, sizeof(text), "%s", c->reader->errstr);
	c->ops->failed(c->arg, PF_REDIS_CONN_PROTOCOL, 0, text);
}

/* Hands every complete reply to its command's callback, in order; false
 * when the connection was closed meanwhile (by a callback, or here). */
static bool conn_dispatch(struct pf_redis_conn *c)
{
	void *reply;
	pf_redis_reply_fn *fn;

	while (c->fd >= 0) {
		if (redisReaderGetReply(c->reader, &reply) != REDIS_OK) {
			conn_reader_failed(c);
			return false;
		}
		if (!reply)
			return true;
		if (c->head == c->tail) {
			freeReplyObject(reply);
			c->ops->failed(c->arg, PF_REDIS_CONN_PROTOCOL, 0,
				       "a reply to no command");
			return false;
		}
		fn = c->waiting[c->head++ % PF_REDIS_CONN_CMDS];
		fn(c->arg, reply);
		freeReplyObject(reply);
	}
	return false;
}

/* libevent: readable (level-triggered: one read a turn is enough). */
static void conn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct pf_redis_conn *c = arg;
	char buf[16 * 1024];
	ssize_t n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n < 0) {
		conn_failed_errno(c, PF_REDIS_CONN_IO, errno);
		return;
	}
	if (n == 0) {
		c->ops->failed(c->arg, PF_REDIS_CONN_EOF, 0, "");
		return;
	}
	if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
		conn_reader_failed(c);
		return;
	}
	if (conn_dispatch(c) && pf_redis_over_budget(c->reader, &c->budget))
		c->ops->failed(c->arg, PF_REDIS_CONN_BUDGET, 0, "");
}
