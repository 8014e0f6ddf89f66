/*
 * `preflightd check --wait` progress (SPEC §7): which checks still keep
 * the selection from being ready and how long the wait has left.  On a
 * terminal one line updated in place every second; otherwise a plain
 * line whenever the set of failing checks changes.  Writes to out
 * (stderr: stdout carries the report).  Owns its timer.
 */
#ifndef PF_PROGRESS_H
#define PF_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

struct pf_engine;
struct pf_progress;

/* group: as the report's (-1: the checks in only[]); deadline_mono_ms:
 * when the wait ends.  NULL when out of memory (no progress shown). */
struct pf_progress *pf_progress_new(const struct pf_engine *e, int group,
				    const bool *only, double deadline_mono_ms,
				    FILE *out, bool tty);

/* Clears the terminal line; NULL is ignored. */
void pf_progress_free(struct pf_progress *p);

#endif
