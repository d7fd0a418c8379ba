/* Unit tests for text.c: words, lower-casing, UTF-8 decoding and cutting. */
#include "harness.h"

#include "text.h"

/* Assert that text splits into exactly the NULL-terminated list want. */
static void
check_words(const char *text, const char *const *want)
{
	struct strv	words;
	size_t		i;

	strv_init(&words);
	text_words(text, &words);
	for (i = 0; want[i] != NULL; i++) {
		if (i >= words.n)
			fail_msg("\"%s\": %zu words, wanted more (\"%s\")",
			    text, words.n, want[i]);
		if (strcmp(words.v[i], want[i]) != 0)
			fail_msg("\"%s\": word %zu is \"%s\", wanted \"%s\"",
			    text, i, words.v[i], want[i]);
	}
	if (words.n != i)
		fail_msg("\"%s\": %zu words, wanted %zu (extra \"%s\")", text,
		    words.n, i, words.v[i]);
	strv_free(&words);
}

#define WORDS(text, ...) do {						\
	const char *const want_[] = { __VA_ARGS__, NULL };		\
	check_words((text), want_);					\
} while (0)

/* Whether all n bytes of s are well-formed UTF-8; counts code points. */
static int
valid_utf8(const char *s, size_t n, size_t *chars)
{
	size_t		i = 0, len, count = 0;
	uint32_t	cp;

	while (i < n) {
		len = utf8_decode(s + i, n - i, &cp);
		if (len == 0)
			return 0;
		i += len;
		count++;
	}
	if (chars != NULL)
		*chars = count;
	return 1;
}

static void
test_words_english(void **state)
{
	(void)state;
	WORDS("Don't stop-believing, OK? It's 2024!", "don", "t", "stop",
	    "believing", "ok", "it", "s", "2024");
	WORDS("e-mail: ops@Example.COM (urgent)", "e", "mail", "ops",
	    "example", "com", "urgent");
	WORDS("  \t\n", NULL);
	WORDS("", NULL);
	WORDS("x", "x");
	/* A real post from tests/data/jetstream-corpus.jsonl line 141. */
	WORDS("Makes you wonder what is wrong with the other 11%. Maybe",
	    "makes", "you", "wonder", "what", "is", "wrong", "with", "the",
	    "other", "11", "maybe");
}

static void
test_words_latin_accents(void **state)
{
	(void)state;
	WORDS("Crème BRÛLÉE à la carte", "crème", "brûlée", "à", "la",
	    "carte");
	WORDS("STRAẞE Straße ÜBER über Öl", "straße", "straße", "über",
	    "über", "öl");
	WORDS("ÉTÉ été", "été", "été");
	/* × and ÷ are symbols inside the Latin-1 letter range. */
	WORDS("3×4÷2", "3", "4", "2");
	/* Czech, from the corpus (line 134); Turkish dotted capital I. */
	WORDS("V souvislosti s politikou v hlavním městě", "v",
	    "souvislosti", "s", "politikou", "v", "hlavním", "městě");
	WORDS("İSTANBUL istanbul", "istanbul", "istanbul");
	/* Vietnamese (Latin Extended Additional). */
	WORDS("TIẾNG Việt", "tiếng", "việt");
	/* A decomposed é: the combining acute stays inside the word. */
	WORDS("cafe\xcc\x81 ok", "cafe\xcc\x81", "ok");
	/* Non-breaking space, em dash, ellipsis, curly quotes separate. */
	WORDS("a\xc2\xa0" "b\xe2\x80\x94" "c\xe2\x80\xa6\xe2\x80\x9c" "d"
	    "\xe2\x80\x99s", "a", "b", "c", "d", "s");
}

static void
test_words_greek(void **state)
{
	(void)state;
	WORDS("ΟΔΟΣ οδος Οδός", "οδοσ", "οδοσ", "οδόσ");
	WORDS("ΆΈΉΊΌΎΏ", "άέήίόύώ");
	/* U+037E is the Greek question mark, U+0387 the ano teleia. */
	WORDS("Τι\xcd\xbe Ναι\xce\x87 ναι", "τι", "ναι", "ναι");
}

static void
test_words_cyrillic(void **state)
{
	(void)state;
	WORDS("Привет, МИР! Ёлка ЁЛКА", "привет", "мир", "ёлка", "ёлка");
	/* Corpus line 144. */
	WORDS("Вечерок с Аватаром, дошли и в мульте до Тоф",
	    "вечерок", "с", "аватаром", "дошли", "и", "в", "мульте", "до",
	    "тоф");
	WORDS("Україна ЇЖАК Ґанок", "україна", "їжак", "ґанок");
}

static void
test_words_cjk(void **state)
{
	(void)state;
	/* Corpus line 4: each kana and ideograph is its own word. */
	WORDS("待って天幕の", "待", "っ", "て", "天", "幕", "の");
	WORDS("東京タワー、Tokyo。", "東", "京", "タ", "ワ", "ー",
	    "tokyo");
	/* The katakana middle dot separates; it is punctuation. */
	WORDS("ジャー・ドゥ", "ジ", "ャ", "ー", "ド", "ゥ");
	/* An ideograph outside the BMP (U+20BB7). */
	WORDS("\xf0\xa0\xae\xb7野家", "\xf0\xa0\xae\xb7", "野", "家");
	/* Korean is written with spaces, so syllables join into words. */
	WORDS("이쁘시네용~~~", "이쁘시네용");
	WORDS("안녕하세요 세계", "안녕하세요", "세계");
}

static void
test_words_other_scripts(void **state)
{
	(void)state;
	WORDS("שלום, עולם", "שלום", "עולם");
	WORDS("مرحبا، بالعالم؟", "مرحبا", "بالعالم");
	/* The danda (U+0964) ends a Devanagari sentence. */
	WORDS("नमस्ते। दुनिया", "नमस्ते", "दुनिया");
	WORDS("բարեւ ձեզ", "բարեւ", "ձեզ");
	WORDS("สวัสดี ครับ", "สวัสดี", "ครับ");
}

static void
test_words_emoji(void **state)
{
	(void)state;
	WORDS("fire\xf0\x9f\x94\xa5water\xf0\x9f\x98\x82 ok\xf0\x9f\x91\x8d"
	    "\xf0\x9f\x8f\xbdgo", "fire", "water", "ok", "go");
	/* Keycaps: digit, VS16, combining enclosing keycap. */
	WORDS("1\xef\xb8\x8f\xe2\x83\xa3#\xef\xb8\x8f\xe2\x83\xa3", "1");
	/* Arrows, dingbats, ZWJ sequences. */
	WORDS("up\xe2\x86\x91\xe2\x9c\x85" "done\xf0\x9f\x91\xa9\xe2\x80\x8d"
	    "\xf0\x9f\x92\xbb" "dev", "up", "done", "dev");
	/* Corpus line 46: the emoji sits between two words. */
	WORDS("#IndieRebellion \xf0\x9f\x98\x82 As", "indierebellion", "as");
}

static void
test_words_invalid_utf8(void **state)
{
	(void)state;
	WORDS("abc\xff" "def\xc3(x\xe2\x82", "abc", "def", "x");
	/* Overlong '/', a surrogate, beyond U+10FFFF, a lone continuation. */
	WORDS("a\xc0\xaf" "b\xed\xa0\x80" "c\xf4\x90\x80\x80" "d\x80" "e",
	    "a", "b", "c", "d", "e");
	/* A valid letter right after garbage still starts a word. */
	WORDS("\xe2\xe9t\xc3\xa9", "t\xc3\xa9");
	WORDS("\xc3", NULL);
	WORDS("\xf0\x9f\x98", NULL);
}

static void
test_lower_ranges(void **state)
{
	static const uint32_t	pairs[][2] = {
		{ 'A', 'a' }, { 'Z', 'z' }, { '@', '@' }, { '[', '[' },
		{ 'a', 'a' }, { '0', '0' },
		{ 0xBF, 0xBF }, { 0xC0, 0xE0 }, { 0xD6, 0xF6 }, { 0xD7, 0xD7 },
		{ 0xD8, 0xF8 }, { 0xDE, 0xFE }, { 0xDF, 0xDF }, { 0xE0, 0xE0 },
		{ 0xF7, 0xF7 }, { 0xFF, 0xFF },
		{ 0x100, 0x101 }, { 0x101, 0x101 }, { 0x12E, 0x12F },
		{ 0x130, 'i' }, { 0x131, 0x131 }, { 0x132, 0x133 },
		{ 0x136, 0x137 }, { 0x137, 0x137 }, { 0x138, 0x138 },
		{ 0x139, 0x13A }, { 0x13A, 0x13A }, { 0x147, 0x148 },
		{ 0x148, 0x148 }, { 0x149, 0x149 }, { 0x14A, 0x14B },
		{ 0x14B, 0x14B }, { 0x176, 0x177 }, { 0x177, 0x177 },
		{ 0x178, 0xFF }, { 0x179, 0x17A }, { 0x17A, 0x17A },
		{ 0x17D, 0x17E }, { 0x17E, 0x17E }, { 0x17F, 0x17F },
		{ 0x385, 0x385 }, { 0x386, 0x3AC }, { 0x387, 0x387 },
		{ 0x388, 0x3AD }, { 0x38A, 0x3AF }, { 0x38B, 0x38B },
		{ 0x38C, 0x3CC }, { 0x38D, 0x38D }, { 0x38E, 0x3CD },
		{ 0x38F, 0x3CE }, { 0x390, 0x390 }, { 0x391, 0x3B1 },
		{ 0x3A1, 0x3C1 }, { 0x3A2, 0x3A2 }, { 0x3A3, 0x3C3 },
		{ 0x3A9, 0x3C9 }, { 0x3B1, 0x3B1 }, { 0x3C2, 0x3C3 },
		{ 0x3C3, 0x3C3 },
		{ 0x3FF, 0x3FF }, { 0x400, 0x450 }, { 0x401, 0x451 },
		{ 0x40F, 0x45F }, { 0x410, 0x430 }, { 0x42F, 0x44F },
		{ 0x430, 0x430 }, { 0x44F, 0x44F }, { 0x450, 0x450 },
		{ 0x45F, 0x45F }, { 0x460, 0x461 }, { 0x461, 0x461 },
		{ 0x480, 0x481 }, { 0x481, 0x481 }, { 0x482, 0x482 },
		{ 0x489, 0x489 }, { 0x48A, 0x48B }, { 0x48B, 0x48B },
		{ 0x4BE, 0x4BF }, { 0x4BF, 0x4BF },
		{ 0x1EA0, 0x1EA1 }, { 0x1EBF, 0x1EBF }, { 0x1E9E, 0xDF },
		{ 0x4E00, 0x4E00 }, { 0xAC00, 0xAC00 }, { 0x1F600, 0x1F600 },
		{ 0x10FFFF, 0x10FFFF }
	};
	size_t			i;

	(void)state;
	for (i = 0; i < nitems(pairs); i++) {
		if (text_lower(pairs[i][0]) != pairs[i][1])
			fail_msg("text_lower(U+%04X) = U+%04X, wanted U+%04X",
			    pairs[i][0], text_lower(pairs[i][0]), pairs[i][1]);
	}
}

/*
 * Properties over every code point: lower-casing is idempotent (nothing
 * maps to another capital) and never lengthens the UTF-8 form, which
 * text_words relies on to lower-case into a buffer the input's size.
 */
static void
test_lower_properties(void **state)
{
	uint32_t	cp, lc;
	char		a[4], b[4];

	(void)state;
	for (cp = 0; cp <= 0x10FFFF; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		lc = text_lower(cp);
		if (text_lower(lc) != lc)
			fail_msg("U+%04X lowers to U+%04X, which lowers again",
			    cp, lc);
		if (utf8_encode(lc, b) > utf8_encode(cp, a))
			fail_msg("U+%04X grows when lowered", cp);
	}
}

static void
test_lower_str(void **state)
{
	char	*s;

	(void)state;
	s = text_lower_str("ÀÉÎÕÜ ΟΔΟΣ ПРИВЕТ İSTANBUL Ÿ ŁÓDŹ ABC");
	assert_string_equal(s, "àéîõü οδοσ привет istanbul ÿ łódź abc");
	free(s);
	/* Invalid bytes pass through untouched. */
	s = text_lower_str("A\xff" "B\xc3");
	assert_memory_equal(s, "a\xff" "b\xc3", 5);
	free(s);
	s = text_lower_str("");
	assert_string_equal(s, "");
	free(s);
	assert_null(text_lower_str(NULL));
}

static void
test_decode_valid(void **state)
{
	static const struct {
		const char	*s;
		size_t		 len;
		uint32_t	 cp;
	} ok[] = {
		{ "\x7f", 1, 0x7F },
		{ "\xc2\x80", 2, 0x80 },
		{ "\xdf\xbf", 2, 0x7FF },
		{ "\xe0\xa0\x80", 3, 0x800 },
		{ "\xed\x9f\xbf", 3, 0xD7FF },
		{ "\xee\x80\x80", 3, 0xE000 },
		{ "\xef\xbf\xbf", 3, 0xFFFF },
		{ "\xf0\x90\x80\x80", 4, 0x10000 },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10FFFF }
	};
	uint32_t	cp;
	size_t		i;
	char		buf[4];

	(void)state;
	for (i = 0; i < nitems(ok); i++) {
		cp = 0xDEAD;
		assert_int_equal(utf8_decode(ok[i].s, ok[i].len, &cp),
		    ok[i].len);
		assert_int_equal(cp, ok[i].cp);
		/* One byte short is a truncated sequence. */
		assert_int_equal(utf8_decode(ok[i].s, ok[i].len - 1, &cp), 0);
	}
	/* Every scalar value survives encode then decode. */
	for (cp = 0; cp <= 0x10FFFF; cp++) {
		uint32_t	back = 0xFFFFFFFF;
		size_t		n;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		n = utf8_encode(cp, buf);
		if (utf8_decode(buf, n, &back) != n || back != cp)
			fail_msg("U+%04X does not round-trip", cp);
	}
	/* What cannot be encoded comes out as U+FFFD. */
	assert_int_equal(utf8_encode(0xD800, buf), 3);
	assert_memory_equal(buf, "\xef\xbf\xbd", 3);
	assert_int_equal(utf8_encode(0x110000, buf), 3);
}

static void
test_decode_invalid(void **state)
{
	static const char *const bad[] = {
		"\x80",			/* lone continuation */
		"\xbf",
		"\xc0\x80",		/* overlong NUL */
		"\xc1\xbf",		/* overlong U+007F */
		"\xe0\x80\xaf",		/* overlong '/' */
		"\xe0\x9f\xbf",		/* overlong U+07FF */
		"\xf0\x8f\xbf\xbf",	/* overlong U+FFFF */
		"\xed\xa0\x80",		/* surrogate U+D800 */
		"\xed\xbf\xbf",		/* surrogate U+DFFF */
		"\xf4\x90\x80\x80",	/* U+110000 */
		"\xf5\x80\x80\x80",
		"\xf8\x88\x80\x80\x80",
		"\xfe",
		"\xff",
		"\xe2\x28\xa1",		/* bad second byte */
		"\xe2\x82\x28",		/* bad third byte */
		"\xf0\x9f\x98\x28",	/* bad fourth byte */
		"\xe2\x82",		/* truncated */
		"\xf0\x9f\x98"
	};
	uint32_t	cp = 0x1234;
	size_t		i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		if (utf8_decode(bad[i], strlen(bad[i]), &cp) != 0)
			fail_msg("bad sequence %zu was accepted", i);
	}
	assert_int_equal(cp, 0x1234);
	assert_int_equal(utf8_decode("a", 0, &cp), 0);
	/* A NUL inside a sequence stops the decoder before it reads on. */
	assert_int_equal(utf8_decode("\xe2\0\xac", 3, &cp), 0);
}

/* ASCII, 2-, 3- and 4-byte characters, side by side. */
static const char mixed[] = "aé€😀bЖ東\xf0\xa0\xae\xb7z ΟΔΟΣ 이 ok";

static void
test_prefix_boundaries(void **state)
{
	size_t	len = strlen(mixed), max, n, next;

	(void)state;
	for (max = 0; max <= len + 2; max++) {
		n = utf8_prefix(mixed, max);
		assert_true(n <= max && n <= len);
		if (!valid_utf8(mixed, n, NULL))
			fail_msg("utf8_prefix(%zu) = %zu splits a character",
			    max, n);
		/* Longest: the next whole character would not fit. */
		if (n < len) {
			next = utf8_decode(mixed + n, len - n, &(uint32_t){0});
			assert_true(next > 0 && n + next > max);
		}
	}
	/* Garbage: stray continuation bytes are not a sequence to keep. */
	assert_int_equal(utf8_prefix("ab\x80\x80\x80\x80", 4), 4);
	assert_int_equal(utf8_prefix("a\xe2\x82\xac", 3), 1);
	assert_int_equal(utf8_prefix("", 5), 0);
}

static void
test_truncate_boundaries(void **state)
{
	size_t	 total, max, chars, n;
	char	*t;

	(void)state;
	assert_true(valid_utf8(mixed, strlen(mixed), &total));
	for (max = 0; max <= total + 2; max++) {
		t = text_truncate(mixed, max);
		n = strlen(t);
		if (!valid_utf8(t, n, &chars))
			fail_msg("text_truncate(%zu) split a character", max);
		assert_true(chars <= max);
		if (max >= total) {
			assert_string_equal(t, mixed);
		} else if (max > 0) {
			/* Cut: max characters, the last one "…". */
			assert_int_equal(chars, max);
			assert_true(n >= 3);
			assert_memory_equal(t + n - 3, "\xe2\x80\xa6", 3);
			assert_memory_equal(t, mixed, n - 3);
		} else
			assert_string_equal(t, "");
		free(t);
	}
	t = text_truncate("short", 5);
	assert_string_equal(t, "short");
	free(t);
	t = text_truncate("shorter", 5);
	assert_string_equal(t, "shor\xe2\x80\xa6");
	free(t);
	t = text_truncate("ΟΔΟΣ", 2);
	assert_string_equal(t, "Ο\xe2\x80\xa6");
	free(t);
}

static void
test_chars_and_controls(void **state)
{
	(void)state;
	assert_int_equal(text_chars(""), 0);
	assert_int_equal(text_chars("abc"), 3);
	/* é (2 bytes), 日 (3), 😂 (4): one code point each. */
	assert_int_equal(text_chars("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x82"), 3);
	assert_true(text_control(0x00));
	assert_true(text_control(0x1b));
	assert_true(text_control(0x7f));
	assert_true(text_control(0x85));	/* C1: NEL */
	assert_true(text_control(0x9f));
	assert_false(text_control(' '));
	assert_false(text_control(0xa0));
	assert_false(text_control(0xe9));
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_words_english),
		cmocka_unit_test(test_words_latin_accents),
		cmocka_unit_test(test_words_greek),
		cmocka_unit_test(test_words_cyrillic),
		cmocka_unit_test(test_words_cjk),
		cmocka_unit_test(test_words_other_scripts),
		cmocka_unit_test(test_words_emoji),
		cmocka_unit_test(test_words_invalid_utf8),
		cmocka_unit_test(test_lower_ranges),
		cmocka_unit_test(test_lower_properties),
		cmocka_unit_test(test_lower_str),
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_invalid),
		cmocka_unit_test(test_prefix_boundaries),
		cmocka_unit_test(test_truncate_boundaries),
		cmocka_unit_test(test_chars_and_controls)
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
