/*
 * The `ca_file` key of the HTTP kinds (http, chat): a PEM bundle trusted
 * instead of the system store, for services behind a private CA.  Checked
 * at load (readable regular file holding a certificate) so a wrong path is
 * a config error naming the JSON path, not a `tls` failure at every probe.
 */
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
#include "web.h"

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

int pf_web_ca_file(const cJSON *obj, const char *path, char **out,
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

void pf_web_tls_hint(const char *err, bool has_ca_file, char *h, size_t n)
{
	h[0] = '\0';
	if (!err)
		return;
	/* The words are OpenSSL's, as curl 7.88 passes them on. */
	if (strstr(err, "local issuer") || strstr(err, "self-signed") ||
	    strstr(err, "self signed") || strstr(err, "unknown ca"))
		snprintf(h, n, has_ca_file ?
			 "the server's certificate does not chain to the CA in"
			 " ca_file: point ca_file at the PEM bundle of the CA"
			 " that issued it" :
			 "the server's certificate does not chain to a CA of"
			 " the system store: for a private CA, set ca_file to"
			 " that CA's PEM bundle (verification stays on)");
	else if (strstr(err, "subject name") || strstr(err, "does not match"))
		snprintf(h, n, "the certificate does not name the host in the"
			 " URL: use a host name its subjectAltName lists, or"
			 " reissue the certificate for this name");
	else if (strstr(err, "expired") || strstr(err, "not yet valid"))
		snprintf(h, n, "the server's certificate is outside its validity"
			 " period: renew it (and check the clocks)");
	else if (strstr(err, "wrong version number") ||
		 strstr(err, "packet length too long"))
		snprintf(h, n, "the port answered without TLS: use http:// for"
			 " a plain HTTP endpoint, or the service's TLS port");
}
