/*
 * One Redis connection on the loop, for a probe: a non-blocking connect,
 * commands pipelined in RESP, replies parsed by hiredis' reader under a
 * byte budget (pf_redis_budget.h) and handed to each command's callback
 * in order.  No hiredis context: it would cost a probe two dictionaries,
 * a getaddrinfo() of the numeric address and five system calls
 * more than this does, and in 0.14 it asserts on a reply nobody asked for.
 */
#ifndef PF_REDIS_CONN_H
#define PF_REDIS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <hiredis/read.h>

#include "pf_check.h"
#include "pf_redis_budget.h"

/* Most commands one connection has waiting for replies. */
#define PF_REDIS_CONN_CMDS 8

/* A reply to one command.  r is the caller's for the call only (the
 * connection frees it after).  The callback may close the connection. */
typedef void pf_redis_reply_fn(void *arg, redisReply *r);

enum pf_redis_conn_error {
	PF_REDIS_CONN_RESOURCE,	/* no socket or no memory: err is the errno */
	PF_REDIS_CONN_CONNECT,	/* the connect failed: err is its errno */
	PF_REDIS_CONN_EOF,	/* the peer closed before every reply came */
	PF_REDIS_CONN_IO,	/* a read or write failed: err is its errno */
	PF_REDIS_CONN_PROTOCOL,	/* not RESP, or a reply nobody asked for: text */
	PF_REDIS_CONN_BUDGET,	/* a reply outgrew the budget (see budget) */
};

struct pf_redis_conn_ops {
	/* The handshake completed (once; must not close the connection). */
	void (*connected)(void *arg);
	/* The connection failed; nothing more comes.  The callee closes it.
	 * text is peer words for PF_REDIS_CONN_PROTOCOL, else "".  May run
	 * inside pf_redis_conn_connect. */
	void (*failed)(void *arg, enum pf_redis_conn_error e, int err,
		       const char *text);
};

/* Embedded in its owner (the probe), which must keep the memory until
 * the connection's callbacks have returned; closing from a callback is
 * fine.  Everything marked owned is freed by pf_redis_conn_close. */
struct pf_redis_conn {
	evutil_socket_t fd;		/* owned; -1 when closed */
	int family;			/* to give fd back as (pf_sockets_family) */
	struct pf_sockets *sockets;	/* borrowed: where fd goes back, or NULL */
	struct event *rev;		/* owned: persistent read event, or NULL */
	struct event *wev;		/* owned: write event while needed, or NULL */
	struct event_base *base;	/* borrowed */
	redisReader *reader;		/* owned */
	struct pf_redis_meter meter;	/* installed in reader */
	struct pf_redis_budget budget;	/* what the reply being read holds */
	char *out;			/* owned: commands not yet written */
	size_t out_len, out_sent;
	pf_redis_reply_fn *waiting[PF_REDIS_CONN_CMDS];	/* FIFO of callbacks */
	unsigned head, tail;		/* waiting[head % N] answers next */
	bool connected;			/* the handshake completed */
	const struct pf_redis_conn_ops *ops;	/* borrowed, static */
	void *arg;			/* borrowed: the owner */
};

/* Readies c (no socket yet): 0, or -1 out of memory (close is still
 * safe, as after any state of c). */
int pf_redis_conn_init(struct pf_redis_conn *c, size_t cap,
		       const struct pf_redis_conn_ops *ops, void *arg);

/* Queues one command (argv are NUL-terminated strings) and the callback
 * for its reply: 0, or -1 (out of memory, or PF_REDIS_CONN_CMDS already
 * waiting).  Before pf_redis_conn_connect, or once connected. */
int pf_redis_conn_command(struct pf_redis_conn *c, pf_redis_reply_fn *fn,
			  int argc, const char **argv);

/* Connects to sa on a socket from env->sockets and sends what is queued
 * once connected.  The ops tell the outcome, possibly before this returns
 * (a local peer completes the handshake inside it; a refusal or a lack of
 * descriptors is known at once). */
void pf_redis_conn_connect(struct pf_redis_conn *c, const struct pf_env *env,
			   const struct sockaddr *sa, socklen_t salen);

/* Frees what c owns; idempotent.  An established connection ends with a
 * reset (pf_sockets_give): no TIME_WAIT socket is left here, where
 * frequent probes would hold thousands. */
void pf_redis_conn_close(struct pf_redis_conn *c);

#endif
