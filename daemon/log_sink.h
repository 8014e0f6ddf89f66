/*
 * Where log records go without ever blocking the loop (SPEC §8): a
 * non-blocking descriptor with a bounded buffer.  What does not fit while
 * the reader is slow is dropped whole and counted; once the reader catches
 * up, one record says how many were lost.  Owned by main; the daemon's
 * struct pf_log borrows it.
 */
#ifndef PF_LOG_SINK_H
#define PF_LOG_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct pf_log_sink;

/* Buffered bytes at most; a record that does not fit is dropped. */
#define PF_LOG_SINK_MAX (256 * 1024)

/* A sink on fd (stdout's).  A pipe, socket or terminal gets a descriptor
 * of its own set non-blocking (via /proc/self/fd, so the shared one of a
 * parent shell is untouched); a regular file is written as is.  NULL when
 * out of memory. */
struct pf_log_sink *pf_log_sink_new(int fd);

/* From now on, what is buffered is written when fd turns writable. */
int pf_log_sink_attach(struct pf_log_sink *s, struct event_base *base);

/* One whole record (a line): written, buffered, or dropped and counted. */
void pf_log_sink_write(struct pf_log_sink *s, const char *rec, size_t len);

/* Before the loop goes: writes what is buffered (blocking at most 100 ms)
 * and forgets the loop; later records are written at once. */
void pf_log_sink_detach(struct pf_log_sink *s);

/* Records dropped so far (preflight_log_dropped_total). */
unsigned long pf_log_sink_dropped(const struct pf_log_sink *s);

/* Writes what is buffered, blocking at most timeout_ms (at exit). */
void pf_log_sink_flush(struct pf_log_sink *s, int timeout_ms);

/* Flushes briefly, then frees.  NULL is ignored. */
void pf_log_sink_free(struct pf_log_sink *s);

#endif
