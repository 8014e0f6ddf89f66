/*
 * Unit tests of the HTTP kinds' TLS helpers (lib/xfer_cfg.c, lib/xfer.c): the
 * ca_file key's load-time validation against real files in a temporary
 * directory, and the choice of hint from curl's TLS messages.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pf_xfer.h"
#include "harness.h"

/* Writes text to dir/name; returns the malloc'd path. */
static char *write_file(const char *dir, const char *name, const char *text)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *path = malloc(len);
	FILE *f;

	if (!path)
		return NULL;
	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

/* Runs pf_xfer_cfg_ca_file on {"ca_file": value}; returns its status, the
 * parsed path in *out (caller frees) and the message in err. */
static int parse_ca(cJSON *value, char **out, char *err, size_t errlen)
{
	cJSON *obj = cJSON_CreateObject();
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (value)
		cJSON_AddItemToObject(obj, "ca_file", value);
	rc = pf_xfer_cfg_ca_file(obj, "checks[3]", out, err, errlen);
	cJSON_Delete(obj);
	return rc;
}

static void expect_error(cJSON *value, const char *words)
{
	char err[512], *out;

	PF_EXPECT(parse_ca(value, &out, err, sizeof(err)) == -1);
	PF_EXPECT(strstr(err, "checks[3].ca_file") != NULL);
	PF_EXPECT(strstr(err, words) != NULL);
	free(out);
}

static void test_ca_file(void)
{
	char dir[] = "/tmp/pf-web-tls-XXXXXX";
	char err[512], *out, *good, *key, *absent;

	PF_EXPECT(mkdtemp(dir) != NULL);
	/* Only the PEM marker is sniffed: curl parses the bundle itself. */
	good = write_file(dir, "ca.pem", "# bundle\n-----BEGIN CERTIFICATE-----\n"
			  "MIIB\n-----END CERTIFICATE-----\n");
	key = write_file(dir, "key.pem", "-----BEGIN PRIVATE KEY-----\nMIG\n");
	absent = write_file(dir, "absent.pem", "");
	unlink(absent);

	PF_EXPECT(parse_ca(NULL, &out, err, sizeof(err)) == 0 && out == NULL);
	PF_EXPECT(parse_ca(cJSON_CreateString(good), &out, err, sizeof(err)) == 0);
	PF_EXPECT(out && strcmp(out, good) == 0);
	free(out);
	expect_error(cJSON_CreateString(absent), "cannot be read");
	expect_error(cJSON_CreateString(dir), "not a regular file");
	expect_error(cJSON_CreateString(key), "holds no PEM certificate");
	expect_error(cJSON_CreateString(""), "must not be empty");
	expect_error(cJSON_CreateNumber(3), "must be a string");
	if (geteuid() != 0) {	/* root reads a 0000 file anyway */
		chmod(good, 0);
		expect_error(cJSON_CreateString(good), "Permission denied");
	}
	unlink(good);
	unlink(key);
	rmdir(dir);
	free(good);
	free(key);
	free(absent);
}

static void test_tls_hint(void)
{
	char h[512];

	pf_xfer_tls_hint("SSL certificate problem: unable to get local issuer"
			" certificate", false, h, sizeof(h));
	PF_EXPECT(strstr(h, "set ca_file") != NULL);
	pf_xfer_tls_hint("SSL certificate problem: unable to get local issuer"
			" certificate", true, h, sizeof(h));
	PF_EXPECT(strstr(h, "the CA in ca_file") != NULL);
	pf_xfer_tls_hint("SSL certificate problem: self-signed certificate",
			false, h, sizeof(h));
	PF_EXPECT(strstr(h, "set ca_file") != NULL);
	pf_xfer_tls_hint("SSL: no alternative certificate subject name matches"
			" target host name 'x'", true, h, sizeof(h));
	PF_EXPECT(strstr(h, "subjectAltName") != NULL);
	pf_xfer_tls_hint("SSL certificate problem: certificate has expired",
			true, h, sizeof(h));
	PF_EXPECT(strstr(h, "validity") != NULL);
	pf_xfer_tls_hint("error:0A00010B:SSL routines::wrong version number",
			false, h, sizeof(h));
	PF_EXPECT(strstr(h, "http://") != NULL);
	pf_xfer_tls_hint("something else entirely", false, h, sizeof(h));
	PF_EXPECT(h[0] == '\0');
	pf_xfer_tls_hint(NULL, false, h, sizeof(h));
	PF_EXPECT(h[0] == '\0');
}

int main(void)
{
	pf_test("ca_file", test_ca_file);
	pf_test("tls_hint", test_tls_hint);
	return pf_test_summary();
}
