/*
 * Names in a configuration: what a valid name is, finding a check or a
 * group by name, and the cross-check validation of a loaded configuration
 * (unique names, depends_on naming other existing checks, no dependency
 * cycles; then depends_on resolved to indices for good).
 * Works on index arrays it allocates and frees itself; O(n log n) so a
 * large file cannot make a reload slow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

/* Scratch state of one validation; every pointer is owned and freed by
 * pf_config_deps_and_names. */
struct deps {
	const struct pf_config *cfg;
	size_t *by_name;	/* check indices sorted by (name, index) */
	size_t *edge_start;	/* edges of check i: edges[edge_start[i] .. edge_start[i+1]) */
	size_t *edges;		/* target check indices */
	unsigned char *color;	/* DFS: 0 unvisited, 1 on the stack, 2 done */
	size_t *stack;		/* DFS stack of check indices */
	size_t *next_edge;	/* per stacked check: the next edge to follow */
};

/* qsort_r is a GNU extension; a context-free comparator needs the names
 * next to the indices, so sort pairs instead. */
struct name_ix {
	const char *name;
	size_t ix;
};

static int cmp_name_ix(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->ix < y->ix ? -1 : x->ix > y->ix;
}

static int sort_names(struct deps *d, char *err, size_t errlen)
{
	size_t n = d->cfg->n_checks;
	struct name_ix *v = malloc(n * sizeof *v);

	if (!v)
		return -1;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct name_ix){ d->cfg->checks[i].name, i };
	qsort(v, n, sizeof *v, cmp_name_ix);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1].name, v[i].name) == 0) {
			snprintf(err, errlen,
				 "%s: checks[%zu].name: \"%s\" is already used by checks[%zu]",
				 d->cfg->source, v[i].ix, v[i].name, v[i - 1].ix);
			free(v);
			return -1;
		}
		d->by_name[i] = v[i].ix;
	}
	free(v);
	return 0;
}

/* Index of the check called name, or -1. */
static long lookup(const struct deps *d, const char *name)
{
	size_t lo = 0, hi = d->cfg->n_checks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(d->cfg->checks[d->by_name[mid]].name, name);
		if (c == 0)
			return (long)d->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int resolve_edges(struct deps *d, char *err, size_t errlen)
{
	const struct pf_config *cfg = d->cfg;
	size_t e = 0;

	for (size_t i = 0; i < cfg->n_checks; i++) {
		const struct pf_check_cfg *c = &cfg->checks[i];
		d->edge_start[i] = e;
		if (c->n_depends_on > cfg->n_checks) {
			/* also bounds the quadratic duplicate scan below */
			snprintf(err, errlen, "%s: checks[%zu].depends_on: lists more checks than there are",
				 cfg->source, i);
			return -1;
		}
		for (size_t k = 0; k < c->n_depends_on; k++) {
			const char *dep = c->depends_on[k];
			long t = lookup(d, dep);
			const char *why = NULL;
			if (t < 0)
				why = "no check is named";
			else if ((size_t)t == i)
				why = "a check cannot depend on itself:";
			for (size_t j = 0; !why && j < k; j++)
				if (strcmp(c->depends_on[j], dep) == 0)
					why = "listed twice:";
			if (why) {
				snprintf(err, errlen, "%s: checks[%zu].depends_on[%zu]: %s \"%.64s\"",
					 cfg->source, i, k, why, dep);
				return -1;
			}
			d->edges[e++] = (size_t)t;
		}
	}
	d->edge_start[cfg->n_checks] = e;
	return 0;
}

/* Reports the cycle that closes at `target`, which is on the stack. */
static void report_cycle(const struct deps *d, size_t depth, size_t target,
			 char *err, size_t errlen)
{
	char chain[512] = "";
	size_t from = 0;

	while (d->stack[from] != target)
		from++;
	for (size_t s = from; s < depth; s++) {
		strncat(chain, d->cfg->checks[d->stack[s]].name,
			sizeof chain - strlen(chain) - 1);
		strncat(chain, " -> ", sizeof chain - strlen(chain) - 1);
	}
	strncat(chain, d->cfg->checks[target].name, sizeof chain - strlen(chain) - 1);
	snprintf(err, errlen, "%s: checks[%zu].depends_on: dependency cycle: %s",
		 d->cfg->source, target, chain);
}

/* Iterative depth-first search from `root` (no recursion: a long chain in
 * a big file must not exhaust the stack). */
static int dfs(struct deps *d, size_t root, char *err, size_t errlen)
{
	size_t depth = 0;

	d->stack[depth] = root;
	d->next_edge[depth++] = d->edge_start[root];
	d->color[root] = 1;
	while (depth > 0) {
		size_t v = d->stack[depth - 1];
		size_t *ne = &d->next_edge[depth - 1];
		if (*ne == d->edge_start[v + 1]) {
			d->color[v] = 2;
			depth--;
			continue;
		}
		size_t w = d->edges[(*ne)++];
		if (d->color[w] == 1) {
			report_cycle(d, depth, w, err, errlen);
			return -1;
		}
		if (d->color[w] == 0) {
			d->color[w] = 1;
			d->stack[depth] = w;
			d->next_edge[depth++] = d->edge_start[w];
		}
	}
	return 0;
}

static int validate(struct deps *d, char *err, size_t errlen)
{
	if (sort_names(d, err, errlen) < 0 || resolve_edges(d, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < d->cfg->n_checks; i++)
		if (d->color[i] == 0 && dfs(d, i, err, errlen) < 0)
			return -1;
	return 0;
}

/* Each check's depends_on as indices, so nothing resolves a name after
 * the load. */
static int keep_indices(const struct deps *d, struct pf_config *cfg)
{
	for (size_t i = 0; i < cfg->n_checks; i++) {
		struct pf_check_cfg *c = &cfg->checks[i];
		size_t from = d->edge_start[i];

		if (!(c->dep_idx = calloc(c->n_depends_on + 1, sizeof *c->dep_idx)))
			return -1;
		memcpy(c->dep_idx, d->edges + from,
		       c->n_depends_on * sizeof *c->dep_idx);
	}
	return 0;
}

int pf_config_deps_and_names(struct pf_config *cfg, char *err, size_t errlen)
{
	size_t n = cfg->n_checks, n_edges = 0;
	struct deps d = { .cfg = cfg };
	int rc = -1;

	for (size_t i = 0; i < n; i++)
		n_edges += cfg->checks[i].n_depends_on;
	d.by_name = calloc(n + 1, sizeof *d.by_name);
	d.edge_start = calloc(n + 1, sizeof *d.edge_start);
	d.edges = calloc(n_edges + 1, sizeof *d.edges);
	d.color = calloc(n + 1, 1);
	d.stack = calloc(n + 1, sizeof *d.stack);
	d.next_edge = calloc(n + 1, sizeof *d.next_edge);
	err[0] = '\0';
	if (d.by_name && d.edge_start && d.edges && d.color && d.stack &&
	    d.next_edge)
		rc = validate(&d, err, errlen);
	if (rc == 0)
		rc = keep_indices(&d, cfg);
	if (rc < 0 && err[0] == '\0')
		snprintf(err, errlen, "%s: out of memory", cfg->source);
	free(d.by_name);
	free(d.edge_start);
	free(d.edges);
	free(d.color);
	free(d.stack);
	free(d.next_edge);
	return rc;
}

bool pf_config_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > PF_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

int pf_config_find_check(const struct pf_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_checks; i++)
		if (strcmp(cfg->checks[i].name, name) == 0)
			return (int)i;
	return -1;
}

int pf_config_find_group(const struct pf_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_groups; i++)
		if (strcmp(cfg->groups[i].name, name) == 0)
			return (int)i;
	return -1;
}
