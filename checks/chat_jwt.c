/*
 * The chat kind's credentials: a static bearer token (re-read when its
 * ${file:} changes) or an HS256 JWT minted per request, as the real Chat
 * API only accepts signed, expiring access tokens (mobius-chat
 * app/auth.py: HS256 with JWT_SECRET, type "access", sub, exp).  Minting
 * is pure given the time; HMAC-SHA256 comes from OpenSSL's libcrypto.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "chat.h"

/* RFC 4648 base64url without padding; out needs 4 * ceil(n / 3) + 1. */
static void b64url(const unsigned char *in, size_t n, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = tab[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = tab[v & 63];
	}
	out[o] = '\0';
}

static char *b64url_text(const char *text)
{
	size_t n = strlen(text);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		b64url((const unsigned char *)text, n, out);
	return out;
}

/* The claims with iat and exp set (the configured ones win otherwise). */
static char *payload_json(const cJSON *claims, uint64_t ttl_ms, time_t now)
{
	cJSON *p = claims ? cJSON_Duplicate(claims, 1) : cJSON_CreateObject();
	char *text = NULL;

	if (!p)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(p, "iat");
	cJSON_DeleteItemFromObjectCaseSensitive(p, "exp");
	if (cJSON_AddNumberToObject(p, "iat", (double)now) &&
	    cJSON_AddNumberToObject(p, "exp", (double)now + (double)(ttl_ms / 1000)))
		text = cJSON_PrintUnformatted(p);
	cJSON_Delete(p);
	return text;
}

char *pf_chat_jwt_mint(const char *secret, const cJSON *claims,
		       uint64_t ttl_ms, time_t now)
{
	static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *json = payload_json(claims, ttl_ms, now);
	char *h = b64url_text(header), *pl = json ? b64url_text(json) : NULL;
	char *tok = NULL;

	free(json);
	if (h && pl) {
		size_t sl = strlen(h) + 1 + strlen(pl);
		tok = malloc(sl + 1 + 4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1);
		if (tok) {
			snprintf(tok, sl + 1, "%s.%s", h, pl);
			if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
				  (const unsigned char *)tok, sl, mac, &maclen)) {
				free(tok);
				tok = NULL;
			} else {
				tok[sl] = '.';
				b64url(mac, maclen, tok + sl + 1);
			}
		}
	}
	free(h);
	free(pl);
	return tok;
}

const char *pf_chat_bearer(const struct chat_cfg *c, char **owned, bool *oom,
			   char *err, size_t errlen)
{
	*owned = NULL;
	*oom = false;
	err[0] = '\0';
	if (c->token) {
		pf_secret_refresh(c->token, err, errlen);
		return c->token->value;
	}
	if (!c->jwt)
		return NULL;
	pf_secret_refresh(c->jwt->secret, err, errlen);
	*owned = pf_chat_jwt_mint(c->jwt->secret->value, c->jwt->claims,
				  c->jwt->ttl_ms, time(NULL));
	*oom = *owned == NULL;
	return *owned;
}
