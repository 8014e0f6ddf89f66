/* Pure helpers: durations, time formatting, bounded strings. */
#ifndef PF_UTIL_H
#define PF_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "250ms", "5s", "2m", "1h", "1.5s" -> milliseconds.  Returns -1 if s is
 * not a duration (empty, no unit where one is needed, negative, overflow). */
int pf_duration_parse(const char *s, uint64_t *ms);
/* A JSON number of seconds -> milliseconds; -1 if negative or too large. */
int pf_duration_from_seconds(double s, uint64_t *ms);
/* Shortest exact form: "250ms", "5s", "2m", "1h30m". */
const char *pf_duration_format(uint64_t ms, char *buf, size_t len);

/* Copies src into dst (always NUL-terminated); returns strlen(src). */
size_t pf_strlcpy(char *dst, const char *src, size_t len);
/* Appends like strlcat; returns the length it tried to create. */
size_t pf_strlcat(char *dst, const char *src, size_t len);

/* RFC 3339 UTC with milliseconds: "2026-11-29T03:55:11.123Z". */
const char *pf_time_rfc3339(const struct timespec *ts, char *buf, size_t len);

/* This instance's name for /status and probe identities: $K_REVISION
 * (Cloud Run), else the host name. */
void pf_instance_name(char *buf, size_t len);

/* CLOCK_MONOTONIC in milliseconds (double) and as a timespec difference. */
double pf_mono_ms(void);
double pf_ms_between(const struct timespec *a, const struct timespec *b);

#endif
