/*
 * The hint policy (SPEC §4): the one place that chooses what a failing
 * check tells the operator to do.  A hint is chosen from the result's
 * reason, the kind, the class of the peer's address and, where the peer
 * said more than the reason can, the result's cause; a check's own
 * `hints` override it (the daemon applies those).
 *
 * Rules are tried in this order, the first that matches wins:
 *   1. cross-kind rules keyed on the address class (a connect timeout to
 *      a private address is missing VPC egress, whatever the kind);
 *   2. the kind's rules (pf_probe_class.hints);
 *   3. cross-kind rules keyed on causes that lib/ itself sets (curl's TLS
 *      failures, shared by the http and chat kinds);
 *   4. one built-in hint per reason.
 * A rule matches when its reason (PF_REASON_NONE: any), address class
 * (PF_HINT_ANY_ADDR: any) and cause (NULL: any; "x*": any cause starting
 * with "x") match and every {name} in its text can be filled: from the
 * result's vars, else from a string or number of the same name in its
 * details.  A rule whose placeholder cannot be filled is skipped, so a
 * more general rule after it applies.
 */
#ifndef PF_HINT_H
#define PF_HINT_H

#include "pf_check.h"

#define PF_HINT_ANY_ADDR (-1)

struct pf_hint_rule {
	enum pf_reason reason;		/* PF_REASON_NONE: any reason */
	int aclass;			/* an enum pf_addr_class, or PF_HINT_ANY_ADDR */
	const char *cause;		/* NULL: any; trailing '*': prefix */
	const char *text;		/* NULL ends a table */
};

/* Writes the chosen hint into res->hint ("" for a passing result). */
void pf_hint_choose(const struct pf_hint_rule *kind_rules,
		    struct pf_result *res);

/* The built-in hint of a reason (rule 4); NULL for PF_REASON_NONE. */
const char *pf_hint_builtin(enum pf_reason r);

/* Sets res->cause (printf format), e.g. "sqlstate:28P01". */
void pf_result_cause(struct pf_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets the hint variable name (printf format value); a full table keeps
 * the earlier ones. */
void pf_result_var(struct pf_result *res, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
