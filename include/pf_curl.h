/*
 * One shared libcurl multi handle driven by the libevent loop (PATTERNS.md
 * "libcurl multi on libevent").  Kinds hand it easy handles they own and
 * get exactly one completion callback per handle, always from a libevent
 * callback after curl has returned (never from inside a curl callback), so
 * the callback may free the easy handle, add new ones or cancel others.
 *
 * Ownership:
 *  - The caller owns every CURL easy handle, before, during and after the
 *    transfer; pf_curlm cleans up only the idle handles given back to its
 *    pool (pf_curlm_put_easy), which it owns from then on.
 *  - pf_curlm owns CURLOPT_PRIVATE of handles it runs: callers must not set
 *    or read it (the done callback carries the caller's arg instead).
 *  - pf_curlm_cancel() removes a handle without a callback; afterwards the
 *    caller may clean it up at once.
 *  - pf_curlm_free() must run while the event base still exists; handles
 *    still added are removed (not cleaned up: their owners still hold them).
 *    Call curl_global_cleanup-sensitive code only after it.
 */
#ifndef PF_CURL_H
#define PF_CURL_H

#include <stddef.h>

#include <curl/curl.h>

struct event_base;
struct pf_curlm;

/* Called once per transfer that finished (rc is CURLE_OK or why not).  The
 * handle is already removed from the multi when this runs. */
typedef void (*pf_curlm_done_fn)(void *arg, CURL *easy, CURLcode rc);

/* Initialises libcurl (refcounted) and creates the multi handle.  Refuses,
 * with a message in err, when libcurl lacks asynchronous DNS (its
 * resolver would block the loop) or when out of memory. */
struct pf_curlm *pf_curlm_new(struct event_base *base, char *err,
			      size_t errlen);

/* Starts a transfer.  Returns 0, or -1 (nothing started, no callback). */
int pf_curlm_add(struct pf_curlm *m, CURL *easy, pf_curlm_done_fn done,
		 void *arg);

/* Stops a transfer started with pf_curlm_add; done is never called.  A
 * handle that is not (or no longer) running is ignored.  Not to be called
 * from inside a curl callback (write/header callbacks). */
void pf_curlm_cancel(struct pf_curlm *m, CURL *easy);

/* Idle handles kept for reuse: curl_easy_init and cleanup were a third of
 * an HTTP probe's user CPU.  A reused handle starts from curl_easy_reset
 * (no options, no connection: every probe still sets FRESH_CONNECT and
 * FORBID_REUSE, and the TLS session cache is off). */
#define PF_CURLM_POOL 64

/* A handle for a new transfer, pooled or new; NULL when out of memory.
 * The caller owns it until it gives it back. */
CURL *pf_curlm_get_easy(struct pf_curlm *m);

/* Gives back a handle that is not running (never added, done, or
 * cancelled): reset and kept, or cleaned up when the pool is full or m is
 * NULL.  Must not run after pf_curlm_free(m). */
void pf_curlm_put_easy(struct pf_curlm *m, CURL *easy);

/* Number of transfers in flight (tests use it to prove nothing leaks). */
size_t pf_curlm_running(const struct pf_curlm *m);

/* Removes remaining handles, cleans up the multi, frees the timer, then
 * releases libcurl's global state.  NULL is ignored. */
void pf_curlm_free(struct pf_curlm *m);

#endif
