/* Unit tests for lib/text.c, the one peer-text sanitizer: one line, valid
 * UTF-8, bounded, cut at a character; and the UTF-8 repair of JSON
 * output. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pf_text.h"

static void test_excerpt(void)
{
	char out[PF_TEXT_EXCERPT + 8], big[1000];
	const char *body = "  line1\r\n\tline2 \x01\xc3\xa9 tok-123 end  ";

	pf_text_excerpt(body, strlen(body), "tok-123", out, sizeof(out));
	PF_EXPECT_STR(out, "line1 line2 \xc3\xa9 *** end");
	/* invalid UTF-8 (a lone continuation byte, an overlong '/', a
	 * surrogate) becomes U+FFFD: the excerpt is valid JSON text */
	pf_text_excerpt("a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d", 11, NULL, out, sizeof(out));
	PF_EXPECT_STR(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c"
		      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d");
	memset(big, 'a', sizeof(big));
	pf_text_excerpt(big, sizeof(big), NULL, out, sizeof(out));
	PF_EXPECT(strlen(out) == PF_TEXT_EXCERPT + 3);
	PF_EXPECT(strcmp(out + PF_TEXT_EXCERPT, "...") == 0);
	pf_text_excerpt("ab", 2, "b", out, sizeof(out));
	PF_EXPECT_STR(out, "a*");
	pf_text_excerpt("x***y", 5, "***", out, sizeof(out));
	PF_EXPECT_STR(out, "x***y");
	pf_text_excerpt(NULL, 0, NULL, out, sizeof(out));
	PF_EXPECT_STR(out, "");
}

static void test_clean(void)
{
	char out[16], tiny[4];

	/* a limit cuts at a character, never inside one */
	pf_text_clean("ab\xc3\xa9\xc3\xa9", 6, 4, out, sizeof out);
	PF_EXPECT_STR(out, "ab\xc3\xa9...");
	pf_text_clean("abcdefghijklmnopqrstuvwxyz", 26, 0, out, sizeof out);
	PF_EXPECT_STR(out, "abcdefghijkl...");
	/* embedded NUL bytes are controls like any other */
	pf_text_clean("a\0b", 3, 0, out, sizeof out);
	PF_EXPECT_STR(out, "a b");
	/* trailing whitespace is not "something left out" */
	pf_text_clean("abc   \n", 7, 3, out, sizeof out);
	PF_EXPECT_STR(out, "abc");
	pf_text_clean("abcdef", 6, 0, tiny, sizeof tiny);
	PF_EXPECT_STR(tiny, "...");
	PF_EXPECT(pf_text_utf8_len("\xe2\x9c\x93", 3) == 3);
	PF_EXPECT(pf_text_utf8_len("\xe2\x9c", 2) == 0);
	PF_EXPECT(pf_text_utf8_len("a", 0) == 0);
}

static void test_utf8_fix(void)
{
	char *s;

	PF_EXPECT(pf_text_utf8_fix("plain ascii \xe2\x9c\x93\nnext") == NULL);
	PF_EXPECT(pf_text_utf8_fix(NULL) == NULL);
	s = pf_text_utf8_fix("a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82");
	PF_EXPECT_STR(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
		      "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
		      "d\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}

int main(void)
{
	pf_test("excerpt: one line, masked, bounded", test_excerpt);
	pf_test("clean: limits, NUL bytes, small buffers", test_clean);
	pf_test("utf8_fix", test_utf8_fix);
	return pf_test_summary();
}
