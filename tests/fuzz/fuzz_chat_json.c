/*
 * libFuzzer target for the Chat API answer parsers (checks/chat_json.c):
 * any body a peer sends gives an id / status within its buffer or an
 * error, never a crash, an overrun or a leak.  The first input byte picks
 * the id field and the id buffer size; the rest is the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "pf_xfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_id(const char *body, uint8_t sel)
{
	static const char *const fields[] = {
		"correlation_id", "id", "thread_id", "",
	};
	char err[256];
	size_t idlen = 1 + (sel >> 2);		/* 1..64 bytes */
	char *id = malloc(idlen);		/* exact size: ASan sees overruns */

	if (!id)
		return;
	err[0] = '\0';
	if (pf_chat_parse_id(body, fields[sel & 3], id, idlen, err, sizeof err) == 0) {
		if (!memchr(id, '\0', idlen) || !id[0])
			abort();
	} else if (!err[0]) {
		abort();
	}
	free(id);
}

static void parse_status(const char *body)
{
	static char *const done[] = { "completed", "done", NULL };
	static char *const failed[] = { "failed", "error", NULL };
	struct pf_chat_status st;
	char err[256];

	err[0] = '\0';
	if (pf_chat_parse_status(body, &st, err, sizeof err) == 0) {
		if (!st.status[0] || !memchr(st.error, '\0', sizeof st.error) ||
		    !memchr(st.message, '\0', sizeof st.message))
			abort();
		enum pf_chat_verdict v = pf_chat_verdict(st.status, done, failed);
		if (v == PF_CHAT_DONE && strcmp(st.status, "completed") != 0 &&
		    strcmp(st.status, "done") != 0)
			abort();
	} else if (!err[0]) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	char *body = malloc(size);
	if (!body)
		return 0;
	memcpy(body, data + 1, size - 1);
	body[size - 1] = '\0';
	parse_id(body, data[0]);
	parse_status(body);
	/* the request builder round-trips any text through cJSON */
	char *post = pf_chat_post_body(body, data[0] & 1 ? body : NULL, NULL);
	free(post);
	free(body);
	return 0;
}
