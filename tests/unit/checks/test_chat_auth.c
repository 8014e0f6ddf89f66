/* Unit tests for the chat kind's credentials (checks/chat_jwt.c): the
 * HS256 token matches an independent implementation byte for byte, and a
 * ${file:} token is re-read when the file changes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "chat.h"
#include "harness.h"

/* The expected token was computed with Python's hmac/hashlib/base64 (the
 * way PyJWT, which the Chat API uses, encodes HS256). */
static void test_mint_known_vector(void)
{
	cJSON *claims = cJSON_Parse("{\"sub\":\"preflightd\",\"type\":\"access\"}");
	char *t = pf_chat_jwt_mint("k3y", claims, 300000, 1700000000);

	PF_EXPECT_STR(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
		      "eyJzdWIiOiJwcmVmbGlnaHRkIiwidHlwZSI6ImFjY2VzcyIsImlhdCI6"
		      "MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMzAwfQ."
		      "_H2FEyejTf4OgbCAVCdL14sqGowqtTmm2jn9_nXOLnU");
	free(t);
	/* configured iat/exp are replaced: every token expires ttl from now */
	cJSON_AddNumberToObject(claims, "exp", 1);
	t = pf_chat_jwt_mint("k3y", claims, 60000, 100);
	PF_EXPECT(t && strchr(t, '.'));
	cJSON_Delete(claims);
	free(t);
}

static void test_bearer_rereads_token_file(void)
{
	char path[] = "/tmp/pf-chat-token-XXXXXX", err[256];
	int fd = mkstemp(path);
	struct chat_cfg a;
	struct pf_secret tok;
	char *owned = NULL;
	bool oom = true;

	memset(&a, 0, sizeof a);
	memset(&tok, 0, sizeof tok);
	a.token = &tok;
	PF_EXPECT(fd >= 0 && write(fd, "first\n", 6) == 6);
	close(fd);
	cJSON *obj = cJSON_Parse("{\"token\":\"first\"}");
	char rawtext[128];
	snprintf(rawtext, sizeof rawtext, "{\"token\":\"${file:%s}\"}", path);
	cJSON *raw = cJSON_Parse(rawtext);
	PF_EXPECT(pf_cfg_secret(obj, raw, "c", "token", false, &tok, err,
				sizeof err) == 0);
	PF_EXPECT_STR(pf_chat_bearer(&a, &owned, &oom, err, sizeof err), "first");
	PF_EXPECT(!oom && owned == NULL);
	/* a rotated secret: new content, new size */
	FILE *f = fopen(path, "w");
	fputs("second-token\n", f);
	fclose(f);
	PF_EXPECT_STR(pf_chat_bearer(&a, &owned, &oom, err, sizeof err),
		      "second-token");
	/* gone: the old value stays, and the caller learns why */
	unlink(path);
	PF_EXPECT_STR(pf_chat_bearer(&a, &owned, &oom, err, sizeof err),
		      "second-token");
	PF_EXPECT(strstr(err, "gone") != NULL);
	pf_secret_free(&tok);
	cJSON_Delete(obj);
	cJSON_Delete(raw);
	/* a literal token is never re-read */
	obj = cJSON_Parse("{\"token\":\"lit\"}");
	PF_EXPECT(pf_cfg_secret(obj, obj, "c", "token", false, &tok, err,
				sizeof err) == 0 && tok.path == NULL);
	pf_secret_free(&tok);
	cJSON_Delete(obj);
}

int main(void)
{
	pf_test("HS256 token, known vector", test_mint_known_vector);
	pf_test("token file re-read on change", test_bearer_rereads_token_file);
	return pf_test_summary();
}
