/*
 * The config keys every HTTP request shares (the http and chat kinds):
 * headers, max_body and ca_file, one key table inlined into both kinds'
 * tables.  ca_file is a PEM bundle trusted instead of the system store,
 * for services behind a private CA; it is checked at load (a readable
 * regular file holding a certificate) so a wrong path is a config error
 * naming the JSON path, not a `tls` failure at every probe.
 */
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pf_keys.h"
#include "pf_util.h"
#include "pf_xfer.h"
#include "pf_mask.h"

/* Enough to reach the first certificate past the comment header that
 * bundles such as Mozilla's carry. */
#define CA_SNIFF_BYTES (64 * 1024)
#define PEM_CERT "-----BEGIN CERTIFICATE-----"

/* Reads up to CA_SNIFF_BYTES of fd into a NUL-terminated malloc'd buffer. */
static char *read_head(int fd, size_t *len)
{
	char *buf = malloc(CA_SNIFF_BYTES + 1);
	ssize_t n;

	*len = 0;
	if (!buf)
		return NULL;
	while (*len < CA_SNIFF_BYTES) {
		n = read(fd, buf + *len, CA_SNIFF_BYTES - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	buf[*len] = '\0';
	return buf;
}

/* 0 when file is a readable regular file with a PEM certificate in its
 * head; else -1 with why ("cannot be read: Permission denied"). */
static int check_ca_file(const char *file, char *why, size_t len)
{
	struct stat st;
	size_t n;
	char *head;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		snprintf(why, len, "cannot be read: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "is not a regular file");
		close(fd);
		return -1;
	}
	head = read_head(fd, &n);
	close(fd);
	if (!head) {
		snprintf(why, len, "cannot be read: %s", strerror(errno));
		return -1;
	}
	/* memmem-free search: the head is NUL-terminated, and a NUL byte
	 * before the marker means DER or another binary format anyway. */
	if (!strstr(head, PEM_CERT)) {
		snprintf(why, len, "holds no PEM certificate (\"%s\")", PEM_CERT);
		free(head);
		return -1;
	}
	free(head);
	return 0;
}

/* ca_file: set, not empty, a certificate we can read. */
static int check_ca(const char *file, const char *path, char *err, size_t errlen)
{
	char why[192];

	if (!file)
		return 0;
	if (file[0] == '\0')
		return pf_keys_fail(err, errlen, path, "ca_file", "must not be empty (omit it to"
			 " trust the system store)");
	if (check_ca_file(file, why, sizeof(why)) < 0)
		return pf_keys_fail(err, errlen, path, "ca_file", "\"%.256s\" %s", file, why);
	return 0;
}

/* RFC 9110 token characters: a header name made of anything else would
 * let a config smuggle extra header lines. */
static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

static int check_headers(const cJSON *map, const char *path, char *err,
			 size_t errlen)
{
	const cJSON *h;

	cJSON_ArrayForEach(h, map) {
		if (!header_name_ok(h->string))
			return pf_keys_fail(err, errlen, path, "headers", "\"%.64s\" is not a valid "
				 "header name", h->string);
		if (strpbrk(h->valuestring, "\r\n")) {
			snprintf(err, errlen, "%s.headers.%.64s: value must be one "
				 "line", path, h->string);
			return -1;
		}
	}
	return 0;
}

static int xfer_check(void *obj, const cJSON *json, const char *path,
		      char *err, size_t errlen)
{
	struct pf_xfer_opts *o = obj;

	(void)json;
	if (check_headers(o->headers, path, err, errlen) < 0)
		return -1;
	return check_ca(o->ca_file, path, err, errlen);
}

static const struct pf_key xfer_key_list[] = {
	{ .name = "headers", .type = PF_KEY_MAP, .secret = true,
	  .offset = offsetof(struct pf_xfer_opts, headers),
	  .doc = "extra request headers; every value is a secret, masked"
		 " everywhere, but those of Accept, Accept-Encoding,"
		 " Accept-Language, Cache-Control, Content-Type, Content-Language,"
		 " Host, Origin, User-Agent, X-Request-Id, X-Forwarded-* and"
		 " Traceparent" },
	{ .name = "max_body", .type = PF_KEY_INT, .def = "1048576",
	  .min = 1, .max = 256L * 1024 * 1024,
	  .offset = offsetof(struct pf_xfer_opts, max_body),
	  .doc = "the most bytes of an answer read; more is bad_response" },
	{ .name = "ca_file", .type = PF_KEY_STRING,
	  .offset = offsetof(struct pf_xfer_opts, ca_file),
	  .doc = "PEM bundle of the CA trusted instead of the system store"
		 " (verification stays on)" },
	{ 0 }
};

const struct pf_keys pf_xfer_keys = {
	.name = "HTTP request", .keys = xfer_key_list,
	.size = sizeof(struct pf_xfer_opts), .check = xfer_check,
	.doc = "Keys of every check that makes HTTP requests (http, chat).",
};
