/*
 * Reading a small regular file whole, without ever blocking the loop on a
 * FIFO or device: the config file, ${file:} values and rotating secrets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pf_file.h"

/* Grows *buf to hold at least `need` bytes; -1 when out of memory. */
static int grow(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 4096;
	while (ncap < need)
		ncap *= 2;
	char *n = realloc(*buf, ncap);
	if (!n)
		return -1;
	*buf = n;
	*cap = ncap;
	return 0;
}

/* Reads fd to EOF into a NUL-terminated buffer; *too_big when over max. */
static int read_all(int fd, size_t max, char **out, size_t *len, bool *too_big)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;

	*too_big = false;
	for (;;) {
		if (grow(&buf, &cap, n + 4096 + 1) < 0)
			goto fail;
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			*too_big = true;
			goto fail;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
fail:
	free(buf);
	return -1;
}

int pf_file_read(const char *path, size_t max, char **out, size_t *len,
		      const char *what, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO would otherwise wait for a writer, and a
	 * reload runs on the loop.  Only regular files are read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open %s: %s", path, what,
			 strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: %s is %s, not a regular file", path,
			 what, S_ISDIR(st.st_mode) ? "a directory" :
			 S_ISFIFO(st.st_mode) ? "a FIFO" : "a device or socket");
		close(fd);
		return -1;
	}
	bool too_big;
	int rc = read_all(fd, max, out, len, &too_big);
	int saved = errno;
	close(fd);
	if (rc < 0 && too_big)
		snprintf(err, errlen, "%s: %s is larger than %zu bytes", path,
			 what, max);
	else if (rc < 0)
		snprintf(err, errlen, "%s: cannot read %s: %s", path, what,
			 strerror(saved));
	return rc;
}
