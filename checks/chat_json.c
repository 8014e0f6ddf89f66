/*
 * Pure parsing and building of Chat API bodies (SPEC §1): the POST /chat
 * request, its answer's correlation id, and the status answers of
 * GET /chat/response/{id}.  No I/O; unit-tested in test_chat_json.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pf_util.h"
#include "chat.h"
#include "pf_xfer.h"

char *pf_chat_post_body(const char *message, const char *thread_id,
			const cJSON *extra)
{
	cJSON *o = extra ? cJSON_Duplicate(extra, 1) : cJSON_CreateObject();
	char *text = NULL;

	if (o && cJSON_AddStringToObject(o, "message", message) &&
	    (!thread_id || cJSON_AddStringToObject(o, "thread_id", thread_id)))
		text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* Copies a string or integral number into out; false for anything else. */
static bool scalar_text(const cJSON *v, char *out, size_t len)
{
	if (cJSON_IsString(v) && v->valuestring[0]) {
		if (strlen(v->valuestring) >= len)
			return false;
		pf_strlcpy(out, v->valuestring, len);
		return true;
	}
	if (cJSON_IsNumber(v) && fabs(v->valuedouble) < 1e15 &&
	    v->valuedouble == floor(v->valuedouble)) {
		/* like a string, a number that does not fit is refused, not cut */
		int n = snprintf(out, len, "%.0f", v->valuedouble);
		if (n > 0 && (size_t)n < len)
			return true;
		if (len)
			out[0] = '\0';
	}
	return false;
}

int pf_chat_parse_id(const char *body, const char *id_field, char *id,
		     size_t idlen, char *err, size_t errlen)
{
	cJSON *o = cJSON_Parse(body ? body : "");
	int rc = -1;

	if (!cJSON_IsObject(o))
		snprintf(err, errlen, "POST /chat answer is not a JSON object");
	else if (!scalar_text(cJSON_GetObjectItemCaseSensitive(o, id_field),
			      id, idlen))
		snprintf(err, errlen, "POST /chat answer has no usable \"%s\" "
			 "(a non-empty string under %zu bytes)", id_field, idlen);
	else
		rc = 0;
	cJSON_Delete(o);
	return rc;
}

/* Copies a string field if present; the API's error may also be a number. */
static void field_text(const cJSON *o, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	out[0] = '\0';
	if (cJSON_IsString(v))
		pf_strlcpy(out, v->valuestring, len);
	else if (cJSON_IsNumber(v))
		scalar_text(v, out, len);
	else if (cJSON_IsObject(v)) {
		/* {"error": {"code": ..., "message": ...}} is common too. */
		field_text(v, "code", out, len);
	}
}

int pf_chat_parse_status(const char *body, struct pf_chat_status *out,
			 char *err, size_t errlen)
{
	cJSON *o = cJSON_Parse(body ? body : "");
	const cJSON *e;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "GET /chat/response answer is not a JSON object");
		goto out;
	}
	field_text(o, "status", out->status, sizeof(out->status));
	if (!out->status[0]) {
		snprintf(err, errlen, "GET /chat/response answer has no \"status\"");
		goto out;
	}
	field_text(o, "error", out->error, sizeof(out->error));
	field_text(o, "message", out->message, sizeof(out->message));
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	if (!out->message[0] && cJSON_IsObject(e))
		field_text(e, "message", out->message, sizeof(out->message));
	/* pipeline failures: no "error", the code in error_envelope */
	e = cJSON_GetObjectItemCaseSensitive(o, "error_envelope");
	if (cJSON_IsObject(e)) {
		if (!out->error[0])
			field_text(e, "error_code", out->error, sizeof(out->error));
		if (!out->message[0])
			field_text(e, "user_facing_message", out->message,
				   sizeof(out->message));
	}
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

double pf_chat_retry_after(const char *body)
{
	cJSON *o = cJSON_Parse(body ? body : "");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "retry_after_seconds");
	double s = cJSON_IsNumber(v) && v->valuedouble >= 0 &&
		   v->valuedouble < 86400 ? v->valuedouble : -1;

	cJSON_Delete(o);
	return s;
}

bool pf_chat_phi_blocked(const char *body)
{
	cJSON *o = cJSON_Parse(body ? body : "");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "detail");
	bool phi = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "phi_blocked"));

	cJSON_Delete(o);
	return phi;
}

static bool in_list(const char *s, char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

enum pf_chat_verdict pf_chat_verdict(const char *status, char *const *done,
				     char *const *failed)
{
	if (in_list(status, done))
		return PF_CHAT_DONE;
	if (in_list(status, failed))
		return PF_CHAT_FAILED;
	return PF_CHAT_PENDING;
}
