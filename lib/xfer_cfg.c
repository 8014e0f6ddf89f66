/*
 * The `ca_file` key of the HTTP kinds (http, chat): a PEM bundle trusted
 * instead of the system store, for services behind a private CA.  Checked
 * at load (readable regular file holding a certificate) so a wrong path is
 * a config error naming the JSON path, not a `tls` failure at every probe.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pf_config.h"
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

int pf_xfer_cfg_ca_file(const cJSON *obj, const char *path, char **out,
		   char *err, size_t errlen)
{
	char why[192];

	if (pf_cfg_str(obj, path, "ca_file", false, out, err, errlen) < 0)
		return -1;
	if (!*out)
		return 0;
	if ((*out)[0] == '\0') {
		snprintf(err, errlen, "%s.ca_file: must not be empty (omit it to"
			 " trust the system store)", path);
		return -1;
	}
	if (check_ca_file(*out, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s.ca_file: \"%.256s\" %s", path, *out, why);
		return -1;
	}
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

int pf_xfer_cfg_headers(const cJSON *obj, const char *path, cJSON **out,
		   char *err, size_t errlen)
{
	const cJSON *map = NULL, *h;

	if (pf_cfg_strmap(obj, path, "headers", &map, err, errlen) < 0)
		return -1;
	if (!map)
		return 0;
	cJSON_ArrayForEach(h, map) {
		if (!header_name_ok(h->string)) {
			snprintf(err, errlen, "%s.headers: \"%.64s\" is not a valid "
				 "header name", path, h->string);
			return -1;
		}
		if (strpbrk(h->valuestring, "\r\n")) {
			snprintf(err, errlen, "%s.headers.%.64s: value must be one "
				 "line", path, h->string);
			return -1;
		}
	}
	*out = cJSON_Duplicate(map, 1);
	if (!*out) {
		snprintf(err, errlen, "%s.headers: out of memory", path);
		return -1;
	}
	return 0;
}

cJSON *pf_xfer_headers_describe(const cJSON *headers)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *h;

	cJSON_ArrayForEach(h, headers) {
		const char *v = pf_mask_name_is_secret(h->string) ? "***"
								: h->valuestring;
		cJSON_AddStringToObject(o, h->string, v);
	}
	return o;
}

int pf_xfer_cfg_max_body(const cJSON *obj, const char *path, size_t *out,
		    char *err, size_t errlen)
{
	long v = PF_XFER_MAX_BODY_DEFAULT;

	if (pf_cfg_int(obj, path, "max_body", 1, 256L * 1024 * 1024, &v,
		       err, errlen) < 0)
		return -1;
	*out = (size_t)v;
	return 0;
}
