/*
 * sd_notify protocol tests: a test-owned AF_UNIX datagram socket (a path in
 * a temporary directory, and an abstract name bound with its exact length)
 * receives what pf_notify_* send; the watchdog environment is parsed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "notify.h"

/* A receiving socket plus the NOTIFY_SOCKET value that reaches it. */
struct sink {
	int fd;
	char env[108];
	char dir[64];		/* temp dir of a path socket, "" if abstract */
};

static void clear_env(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

static int sink_open_path(struct sink *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/pf-notify-XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	snprintf(s->env, sizeof(s->env), "%s/notify", s->dir);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->env);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return -1;
	return setenv("NOTIFY_SOCKET", s->env, 1);
}

/* Bound with the exact length (no trailing NUL), as systemd does: a sender
 * that counted a NUL would address another name and get ECONNREFUSED. */
static int sink_open_abstract(struct sink *s)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	size_t len;

	memset(s, 0, sizeof(*s));
	snprintf(s->env, sizeof(s->env), "@pf-notify-test-%ld-%ld",
		 (long)getpid(), (long)time(NULL));
	len = strlen(s->env);
	memcpy(a.sun_path + 1, s->env + 1, len - 1);
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) != 0)
		return -1;
	return setenv("NOTIFY_SOCKET", s->env, 1);
}

static void sink_close(struct sink *s)
{
	char path[128];

	if (s->fd >= 0)
		close(s->fd);
	if (s->dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/notify", s->dir);
		unlink(path);
		rmdir(s->dir);
	}
	clear_env();
}

/* One datagram, without waiting: AF_UNIX delivers before sendto returns. */
static const char *sink_recv(struct sink *s, char *buf, size_t len)
{
	ssize_t r = recv(s->fd, buf, len - 1, MSG_DONTWAIT);

	if (r < 0)
		return "";
	buf[r] = '\0';
	return buf;
}

static void check_sequence(struct sink *s)
{
	struct pf_notify *n = pf_notify_open();
	char buf[1200];

	PF_EXPECT(n != NULL);
	PF_EXPECT(pf_notify_ready(n, "3 checks, 3 pass") == 0);
	PF_EXPECT_STR(sink_recv(s, buf, sizeof(buf)), "READY=1\nSTATUS=3 checks, 3 pass");
	PF_EXPECT(pf_notify_ready(n, NULL) == 0);
	PF_EXPECT_STR(sink_recv(s, buf, sizeof(buf)), "READY=1");
	PF_EXPECT(pf_notify_stopping(n) == 0);
	PF_EXPECT_STR(sink_recv(s, buf, sizeof(buf)), "STOPPING=1");
	PF_EXPECT(pf_notify_watchdog(n) == 0);
	PF_EXPECT_STR(sink_recv(s, buf, sizeof(buf)), "WATCHDOG=1");
	PF_EXPECT(pf_notify_status(n, "1 failing: chat-db") == 0);
	PF_EXPECT_STR(sink_recv(s, buf, sizeof(buf)), "STATUS=1 failing: chat-db");
	PF_EXPECT(pf_notify_send(n, "EXTEND_TIMEOUT_USEC=1000") == 0);
	PF_EXPECT_STR(sink_recv(s, buf, sizeof(buf)), "EXTEND_TIMEOUT_USEC=1000");
	/* Nothing else was sent. */
	PF_EXPECT_STR(sink_recv(s, buf, sizeof(buf)), "");
	pf_notify_close(n);
}

static void test_path_socket(void)
{
	struct sink s;

	PF_EXPECT(sink_open_path(&s) == 0);
	check_sequence(&s);
	sink_close(&s);
}

static void test_abstract_socket(void)
{
	struct sink s;

	PF_EXPECT(sink_open_abstract(&s) == 0);
	check_sequence(&s);
	sink_close(&s);
}

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void test_reloading_monotonic(void)
{
	struct sink s;
	struct pf_notify *n;
	char buf[256];
	uint64_t before, after, got = 0;
	int matched;

	PF_EXPECT(sink_open_abstract(&s) == 0);
	n = pf_notify_open();
	before = mono_usec();
	PF_EXPECT(pf_notify_reloading(n) == 0);
	after = mono_usec();
	sink_recv(&s, buf, sizeof(buf));
	matched = sscanf(buf, "RELOADING=1\nMONOTONIC_USEC=%" SCNu64, &got);
	PF_EXPECT(matched == 1);
	PF_EXPECT(got >= before && got <= after);
	PF_EXPECT(strchr(buf, '\n') == strrchr(buf, '\n'));	/* two lines */
	pf_notify_close(n);
	sink_close(&s);
}

static void test_status_newline_flattened(void)
{
	struct sink s;
	struct pf_notify *n;
	char buf[256];

	PF_EXPECT(sink_open_path(&s) == 0);
	n = pf_notify_open();
	PF_EXPECT(pf_notify_status(n, "a\nREADY=1\r\nb") == 0);
	PF_EXPECT_STR(sink_recv(&s, buf, sizeof(buf)), "STATUS=a READY=1  b");
	PF_EXPECT(pf_notify_ready(n, "x\ny") == 0);
	PF_EXPECT_STR(sink_recv(&s, buf, sizeof(buf)), "READY=1\nSTATUS=x y");
	pf_notify_close(n);
	sink_close(&s);
}

static void test_watchdog_env(void)
{
	struct sink s;
	struct pf_notify *n;
	char pid[32];

	PF_EXPECT(sink_open_path(&s) == 0);
	n = pf_notify_open();
	PF_EXPECT(pf_notify_watchdog_usec(n) == 0);	/* unset: off */
	pf_notify_close(n);

	setenv("WATCHDOG_USEC", "30000000", 1);
	n = pf_notify_open();
	PF_EXPECT(pf_notify_watchdog_usec(n) == 15000000u);	/* no PID: ours */
	pf_notify_close(n);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	n = pf_notify_open();
	PF_EXPECT(pf_notify_watchdog_usec(n) == 15000000u);
	pf_notify_close(n);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	n = pf_notify_open();
	PF_EXPECT(n != NULL);				/* still notifies */
	PF_EXPECT(pf_notify_watchdog_usec(n) == 0);	/* for another pid */
	pf_notify_close(n);
	sink_close(&s);
}

static void test_watchdog_bad_values(void)
{
	static const char *const bad[] = { "", "0", "-5", "12abc", " 5", "x",
		"99999999999999999999999" };
	struct sink s;

	PF_EXPECT(sink_open_path(&s) == 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pf_notify *n;

		setenv("WATCHDOG_USEC", bad[i], 1);
		n = pf_notify_open();
		PF_EXPECT(pf_notify_watchdog_usec(n) == 0);
		pf_notify_close(n);
	}
	setenv("WATCHDOG_USEC", "1000000", 1);
	setenv("WATCHDOG_PID", "not-a-pid", 1);
	{
		struct pf_notify *n = pf_notify_open();

		PF_EXPECT(pf_notify_watchdog_usec(n) == 0);
		pf_notify_close(n);
	}
	sink_close(&s);
}

static void test_no_socket_is_noop(void)
{
	struct pf_notify *n;

	clear_env();
	setenv("WATCHDOG_USEC", "30000000", 1);
	n = pf_notify_open();
	PF_EXPECT(n == NULL);
	PF_EXPECT(pf_notify_ready(n, "x") == 0);
	PF_EXPECT(pf_notify_reloading(n) == 0);
	PF_EXPECT(pf_notify_status(n, "x") == 0);
	PF_EXPECT(pf_notify_stopping(n) == 0);
	PF_EXPECT(pf_notify_watchdog(n) == 0);
	PF_EXPECT(pf_notify_send(n, "READY=1") == 0);
	PF_EXPECT(pf_notify_watchdog_usec(n) == 0);
	pf_notify_close(n);

	setenv("NOTIFY_SOCKET", "", 1);
	PF_EXPECT(pf_notify_open() == NULL);
	clear_env();
}

static void test_bad_addresses(void)
{
	char longpath[200];

	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	PF_EXPECT(pf_notify_open() == NULL);
	setenv("NOTIFY_SOCKET", "@", 1);
	PF_EXPECT(pf_notify_open() == NULL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	PF_EXPECT(pf_notify_open() == NULL);
	longpath[0] = '@';
	setenv("NOTIFY_SOCKET", longpath, 1);
	PF_EXPECT(pf_notify_open() == NULL);
	clear_env();
}

/* Nobody listening: sending fails with an error instead of crashing. */
static void test_peer_gone(void)
{
	struct sink s;
	struct pf_notify *n;

	PF_EXPECT(sink_open_abstract(&s) == 0);
	n = pf_notify_open();
	close(s.fd);
	s.fd = -1;
	PF_EXPECT(pf_notify_ready(n, NULL) == -1);
	pf_notify_close(n);
	sink_close(&s);
}

/* A receiver that never reads: once its queue is full, sends fail at once
 * with EAGAIN instead of blocking the daemon's loop. */
static void test_never_blocks(void)
{
	struct sink s;
	struct pf_notify *n;
	int rc = 0, sent = 0;

	PF_EXPECT(sink_open_path(&s) == 0);
	n = pf_notify_open();
	for (int i = 0; i < 100000 && rc == 0; i++) {
		rc = pf_notify_watchdog(n);
		sent += rc == 0;
	}
	PF_EXPECT(rc == -1);
	PF_EXPECT(errno == EAGAIN || errno == EWOULDBLOCK);
	PF_EXPECT(sent > 0);
	pf_notify_close(n);
	sink_close(&s);
}

int main(void)
{
	clear_env();
	pf_test("path socket: READY, STATUS, STOPPING, WATCHDOG", test_path_socket);
	pf_test("abstract socket, exact address length", test_abstract_socket);
	pf_test("RELOADING=1 carries CLOCK_MONOTONIC usec", test_reloading_monotonic);
	pf_test("STATUS newlines are flattened", test_status_newline_flattened);
	pf_test("watchdog halves WATCHDOG_USEC, honours WATCHDOG_PID", test_watchdog_env);
	pf_test("watchdog ignores malformed values", test_watchdog_bad_values);
	pf_test("no NOTIFY_SOCKET: every call is a no-op", test_no_socket_is_noop);
	pf_test("relative, empty or too long addresses are refused", test_bad_addresses);
	pf_test("peer gone: error, no crash", test_peer_gone);
	pf_test("full peer queue: EAGAIN, never blocks", test_never_blocks);
	return pf_test_summary();
}
