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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "pf_config.h"
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

/* A fake kind that reads one key of every getter type. */
struct fake_cfg {
	char *target;		/* owned */
	char **tags;		/* owned, NULL-terminated */
	size_t n_tags;
	long port;
	uint64_t wait_ms;
	bool flag;
};

static void fake_free(void *p)
{
	struct fake_cfg *c = p;

	if (!c)
		return;
	free(c->target);
	pf_cfg_strv_free(c->tags);
	free(c);
}

static int fake_parse(const cJSON *obj, const cJSON *raw, const char *path, void **out,
		      char *err, size_t errlen)
{
	struct fake_cfg *c = calloc(1, sizeof *c);
	const cJSON *headers = NULL;

	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (pf_cfg_str(obj, path, "target", true, &c->target, err, errlen) < 0 ||
	    pf_cfg_int(obj, path, "port", 1, 65535, &c->port, err, errlen) < 0 ||
	    pf_cfg_strv(obj, path, "tags", &c->tags, &c->n_tags, err, errlen) < 0 ||
	    pf_cfg_duration(obj, path, "wait", &c->wait_ms, err, errlen) < 0 ||
	    pf_cfg_bool(obj, path, "flag", &c->flag, err, errlen) < 0 ||
	    pf_cfg_strmap(obj, path, "headers", &headers, err, errlen) < 0) {
		fake_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void fake_target(const void *p, char *buf, size_t len)
{
	const struct fake_cfg *c = p;

	pf_mask_url(c->target, buf, len);
}

static cJSON *fake_describe(const void *p)
{
	const struct fake_cfg *c = p;
	cJSON *o = cJSON_CreateObject();

	if (o)
		cJSON_AddNumberToObject(o, "port", (double)c->port);
	return o;
}

static const char *const fake_keys[] = {
	"target", "port", "tags", "wait", "flag", "headers", NULL
};

static const struct check_ops fake_kind = {
	.kind = "fake", .keys = fake_keys,
	.parse = fake_parse, .free_cfg = fake_free,
	.target = fake_target, .describe = fake_describe,
};

/* A second kind whose timeout may exceed the interval; no describe(). */
static const struct check_ops slow_kind = {
	.kind = "slow", .keys = fake_keys,
	.default_interval_ms = 60000, .default_timeout_ms = 90000,
	.timeout_may_exceed_interval = true,
	.parse = fake_parse, .free_cfg = fake_free,
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

/* Walks a loaded config the way the daemon does after a load. */
static void use(const struct pf_config *cfg)
{
	cJSON *d = pf_config_describe(cfg);
	char *s = d ? cJSON_PrintUnformatted(d) : NULL;

	free(s);
	cJSON_Delete(d);
	for (size_t i = 0; i < cfg->n_checks; i++) {
		const struct pf_check_cfg *c = &cfg->checks[i];
		if (pf_config_find_check(cfg, c->name) != (int)i || !c->fingerprint ||
		    c->failure_threshold < 1 || c->success_threshold < 1 ||
		    c->interval_ms == 0 || c->timeout_ms == 0)
			abort();
		for (size_t j = 0; j < c->n_depends_on; j++)
			if (pf_config_find_check(cfg, c->depends_on[j]) < 0)
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
