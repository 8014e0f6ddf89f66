/* UUIDs: recognising one, and deriving a stable one from a name (the
 * chat probe's thread id).  Kept apart from util.c because it is the one
 * helper that needs libcrypto. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "pf_uuid.h"

/* RFC 4122 name-based UUID (version 5, SHA-1) in preflightd's own
 * namespace: the same name always gives the same UUID. */
int pf_uuid_from_name(const char *name, char *out, size_t len)
{
	static const unsigned char ns[16] = {
		0x5c, 0x2e, 0x8f, 0x41, 0x0d, 0x7a, 0x4b, 0x53,
		0x9a, 0x61, 0x3e, 0x2f, 0x70, 0xc4, 0x19, 0x8b,
	};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
		 EVP_DigestUpdate(ctx, ns, sizeof ns) &&
		 EVP_DigestUpdate(ctx, name, strlen(name)) &&
		 EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen >= 16;

	EVP_MD_CTX_free(ctx);
	if (!ok || len < 37)
		return -1;
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3], md[4],
		 md[5], md[6], md[7], md[8], md[9], md[10], md[11], md[12],
		 md[13], md[14], md[15]);
	return 0;
}

bool pf_is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof shape - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		bool hex = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			   (s[i] >= 'A' && s[i] <= 'F');
		if (shape[i] == '-' ? s[i] != '-' : !hex)
			return false;
	}
	return true;
}
