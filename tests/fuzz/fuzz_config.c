/*
 * libFuzzer target for the configuration loader: comment stripping, JSON
 * parsing, ${...} expansion, common fields, defaults, depends_on and groups
 * must turn any text into a config or one error, without crashing or leaking.
 *
 * ${file:PATH} never touches the disk here: the target is linked with
 * -Wl,--wrap=pf_file_read, so interp.c's read goes to
 * __wrap_pf_file_read below, which serves a few in-memory files
 * (/fuzz/secret, /fuzz/nul, /fuzz/empty) and refuses every other path.  A
 * path the input names (/dev/zero, a FIFO, /dev/stdin) can thus neither
 * hang nor slow the run.  Errors must never quote /fuzz/secret's
 * contents (a secret).  ${VAR} reads the real environment; a few
 * PF_FUZZ_* variables are set in LLVMFuzzerInitialize for the seeds.
 * Kinds come from a test-only table (pf_config_load_string_ops), so the
 * registry and the network libraries are not linked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "pf_config.h"
#include "pf_keys.h"
#include "pf_util.h"
#include "registry.h"
#include "pf_mask.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_pf_file_read(const char *path, size_t max, char **out,
			     size_t *len, const char *what, char *err,
			     size_t errlen);

/* The in-memory files ${file:} may name. */
static const struct {
	const char *path;
	const char *data;
	size_t len;
} files[] = {
	{ "/fuzz/secret", "s3cr3t-value\r\n", 14 },
	{ "/fuzz/nul", "ab\0cd", 5 },
	{ "/fuzz/empty", "", 0 },
};

int __wrap_pf_file_read(const char *path, size_t max, char **out,
			     size_t *len, const char *what, char *err,
			     size_t errlen)
{
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (strcmp(path, files[i].path) != 0)
			continue;
		if (files[i].len > max) {
			snprintf(err, errlen, "%s: %s is too large", path, what);
			return -1;
		}
		char *buf = malloc(files[i].len + 1);
		if (!buf) {
			snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
		memcpy(buf, files[i].data, files[i].len);
		buf[files[i].len] = '\0';
		*out = buf;
		*len = files[i].len;
		return 0;
	}
	snprintf(err, errlen, "%s: cannot open %s: No such file or directory",
		 path, what);
	return -1;
}

/* The registry is not linked: the loader only calls it with kinds NULL. */
const struct check_ops *pf_registry_find(const char *kind)
{
	(void)kind;
	abort();
}

const struct check_ops *const *pf_registry_all(void)
{
	abort();
}

/* A fake kind with a key of most key-table types. */
struct fake_cfg {
	char *target;
	struct pf_strv tags;
	long port;
	uint64_t wait_ms;
	bool flag;
	struct cJSON *headers;
};

static const struct pf_key fake_key_list[] = {
	{ .name = "target", .type = PF_KEY_URL, .required = true,
	  .offset = offsetof(struct fake_cfg, target) },
	{ .name = "port", .type = PF_KEY_INT, .min = 1, .max = 65535,
	  .offset = offsetof(struct fake_cfg, port) },
	{ .name = "tags", .type = PF_KEY_STRINGS,
	  .offset = offsetof(struct fake_cfg, tags) },
	{ .name = "wait", .type = PF_KEY_DURATION,
	  .offset = offsetof(struct fake_cfg, wait_ms) },
	{ .name = "flag", .type = PF_KEY_BOOL,
	  .offset = offsetof(struct fake_cfg, flag) },
	{ .name = "headers", .type = PF_KEY_MAP, .secret = true,
	  .offset = offsetof(struct fake_cfg, headers) },
	{ 0 }
};

static const struct pf_keys fake_keys = {
	.name = "fake", .keys = fake_key_list, .size = sizeof(struct fake_cfg),
	.target = "target",
};

static const struct check_ops fake_kind = { .kind = "fake", .config = &fake_keys };

/* A second kind whose timeout may exceed the interval. */
static const struct check_ops slow_kind = {
	.kind = "slow", .config = &fake_keys,
	.default_interval_ms = 60000, .default_timeout_ms = 90000,
	.timeout_may_exceed_interval = true,
};

static const struct check_ops *const kinds[] = { &fake_kind, &slow_kind, NULL };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("PF_FUZZ_HOST", "127.0.0.1", 1);
	setenv("PF_FUZZ_PORT", "5432", 1);
	setenv("PF_FUZZ_EMPTY", "", 1);
	setenv("PF_FUZZ_NESTED", "${PF_FUZZ_HOST}", 1);	/* never re-expanded */
	setenv("PF_FUZZ_QUOTE", "a\"b\\c$", 1);
	return 0;
}

/* An all-zero SHA-256: the fingerprint was never computed. */
static bool unset(const unsigned char *fp)
{
	for (size_t i = 0; i < PF_FINGERPRINT_LEN; i++)
		if (fp[i])
			return false;
	return true;
}

/* Walks a loaded config the way the daemon does after a load. */
static void use(const struct pf_config *cfg)
{
	cJSON *d = pf_config_describe(cfg);
	char *s = d ? cJSON_PrintUnformatted(d) : NULL;

	free(s);
	cJSON_Delete(d);
	for (size_t i = 0; i < cfg->n_checks; i++) {
		const struct pf_check_cfg *c = &cfg->checks[i];
		if (pf_config_find_check(cfg, c->name) != (int)i || unset(c->fingerprint) ||
		    c->failure_threshold < 1 || c->success_threshold < 1 ||
		    (c->interval_ms == 0) != c->on_demand || c->timeout_ms == 0)
			abort();
		for (size_t j = 0; j < c->n_depends_on; j++)
			if (pf_config_find_check(cfg, c->depends_on[j]) !=
			    (int)c->dep_idx[j])
				abort();
	}
	for (size_t g = 0; g < cfg->n_groups; g++)
		if (pf_config_find_group(cfg, cfg->groups[g].name) != (int)g)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	struct pf_config *cfg = NULL;
	/* the loader takes a C string: an embedded NUL simply ends it */
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	int rc = pf_config_load_string_ops(text, "fuzz.json", kinds, &cfg, err,
					   sizeof err);
	if (getenv("PF_FUZZ_VERBOSE"))	/* to see what a seed reaches */
		fprintf(stderr, "%s\n", rc == 0 ? "loaded" : err);
	if (rc == 0) {
		if (!cfg)
			abort();
		use(cfg);
		pf_config_free(cfg);
	} else if (cfg || !err[0] || !memchr(err, '\0', sizeof err)) {
		abort();	/* an error must leave *out alone and say why */
	} else if (strstr(err, "s3cr3t-value") && !strstr(text, "s3cr3t")) {
		abort();	/* ${file:} contents reached a message */
	}
	free(text);
	return 0;
}
