/*
 * `preflightd healthcheck` tests: a forked test-owned HTTP server on
 * 127.0.0.1 answers one request (200, 503, garbage or silence); the probe
 * must pass only on 200 for GET /healthz and give up within its 2 s bound.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "healthcheck.h"

struct server {
	int fd;
	unsigned port;
	pid_t pid;
};

/* Listens on a free port below 32768 (the project's port rule). */
static int server_listen(struct server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srand((unsigned)getpid() ^ (unsigned)time(NULL));
	for (int i = 0; i < 200; i++) {
		s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		s->port = 20000 + (unsigned)(rand() % 12000);
		a.sin_port = htons((uint16_t)s->port);
		if (s->fd >= 0 && bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    listen(s->fd, 8) == 0)
			return 0;
		if (s->fd >= 0)
			close(s->fd);
	}
	return -1;
}

/* Child: serve one connection the way `mode` says, then exit. */
static void serve_one(int lfd, const char *mode)
{
	char req[512] = "";
	const char *reply;
	int c = accept(lfd, NULL, NULL);

	if (c < 0)
		_exit(1);
	if (recv(c, req, sizeof(req) - 1, 0) < 0)
		_exit(1);
	if (strcmp(mode, "silent") == 0) {
		sleep(5);
		_exit(0);
	}
	if (strncmp(req, "GET /healthz HTTP/1.", 20) != 0)
		reply = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	else if (strcmp(mode, "200") == 0)
		reply = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
	else if (strcmp(mode, "503") == 0)
		reply = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
	else
		reply = "SSH-2.0-OpenSSH_9.2\r\n";
	if (send(c, reply, strlen(reply), MSG_NOSIGNAL) < 0)
		_exit(1);
	close(c);
	_exit(0);
}

static int server_start(struct server *s, const char *mode)
{
	if (server_listen(s) != 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0)
		serve_one(s->fd, mode);
	return 0;
}

static void server_stop(struct server *s)
{
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	close(s->fd);
}

static int probe(const char *host, unsigned port, char *err, size_t errlen)
{
	char listen[64];

	snprintf(listen, sizeof(listen), "%s:%u", host, port);
	err[0] = '\0';
	return pf_healthcheck_probe(listen, err, errlen);
}

static void test_ok(void)
{
	struct server s;
	char err[256];

	PF_EXPECT(server_start(&s, "200") == 0);
	PF_EXPECT(probe("127.0.0.1", s.port, err, sizeof(err)) == 0);
	server_stop(&s);
	/* A wildcard listen address is reached over loopback. */
	PF_EXPECT(server_start(&s, "200") == 0);
	PF_EXPECT(probe("0.0.0.0", s.port, err, sizeof(err)) == 0);
	server_stop(&s);
	PF_EXPECT(server_start(&s, "200") == 0);
	PF_EXPECT(probe("", s.port, err, sizeof(err)) == 0);	/* ":port" */
	server_stop(&s);
}

static void test_unhealthy_answers(void)
{
	struct server s;
	char err[256];

	PF_EXPECT(server_start(&s, "503") == 0);
	PF_EXPECT(probe("127.0.0.1", s.port, err, sizeof(err)) == -1);
	PF_EXPECT(strstr(err, "answered 503") != NULL);
	server_stop(&s);

	PF_EXPECT(server_start(&s, "garbage") == 0);
	PF_EXPECT(probe("127.0.0.1", s.port, err, sizeof(err)) == -1);
	PF_EXPECT(strstr(err, "no HTTP answer") != NULL);
	server_stop(&s);
}

static void test_refused(void)
{
	struct server s;
	char err[256];
	unsigned port;

	PF_EXPECT(server_listen(&s) == 0);
	port = s.port;
	close(s.fd);		/* nothing listens there now */
	PF_EXPECT(probe("127.0.0.1", port, err, sizeof(err)) == -1);
	PF_EXPECT(strstr(err, "cannot connect") != NULL);
}

static void test_silent_server_is_bounded(void)
{
	struct server s;
	char err[256];
	time_t t0;

	PF_EXPECT(server_start(&s, "silent") == 0);
	t0 = time(NULL);
	PF_EXPECT(probe("127.0.0.1", s.port, err, sizeof(err)) == -1);
	PF_EXPECT(time(NULL) - t0 <= 4);
	PF_EXPECT(strstr(err, "within 2 s") != NULL);
	server_stop(&s);
}

static void test_bad_listen(void)
{
	char err[256];

	PF_EXPECT(pf_healthcheck_probe("127.0.0.1:notaport", err, sizeof(err)) == -1);
	PF_EXPECT(strstr(err, "invalid listen address") != NULL);
	PF_EXPECT(pf_healthcheck_probe("[::1", err, sizeof(err)) == -1);
	PF_EXPECT(pf_healthcheck_main("127.0.0.1:99999") == 1);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	pf_test("200 from /healthz is healthy", test_ok);
	pf_test("503 or a non-HTTP answer is unhealthy", test_unhealthy_answers);
	pf_test("refused connection is unhealthy", test_refused);
	pf_test("a silent server fails within the bound", test_silent_server_is_bounded);
	pf_test("malformed listen address", test_bad_listen);
	return pf_test_summary();
}
