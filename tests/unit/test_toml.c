/* Unit tests for the toml module: every value type, escapes and Unicode, each
 * class of error with its line number checked in the message, duplicate
 * definitions, unsupported features, size bounds, encoding, line endings,
 * and reading files. Messages are compared exactly where the format is part
 * of the contract ("line N: ...", "FILE:N: ..."). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "toml/toml.h"

/* ---- helpers -------------------------------------------------------------- */

static toml_doc *parse_ok(const char *text)
{
    toml_doc *doc = NULL;
    char err[512] = "";
    int rc = toml_parse(text, strlen(text), &doc, err, sizeof err);
    if (rc != TOML_OK)
        fail_msg("unexpected error %d for <<%s>>: %s", rc, text, err);
    assert_non_null(doc);
    return doc;
}

/* Parses text expecting failure with code and exactly the message msg. */
static void parse_fails(const char *text, int code, const char *msg)
{
    toml_doc *doc = (toml_doc *)1;
    char err[512] = "";
    int rc = toml_parse(text, strlen(text), &doc, err, sizeof err);
    if (rc != code)
        fail_msg("<<%s>>: expected code %d, got %d (%s)", text, code, rc, err);
    assert_null(doc);
    assert_string_equal(err, msg);
}

static const toml_value *value_of(const toml_doc *doc, const char *key)
{
    const toml_entry *e = toml_find(doc, key);
    if (!e)
        fail_msg("key '%s' not found", key);
    return &e->value;
}

static long long int_of(const char *text)
{
    toml_doc *doc = parse_ok(text);
    assert_int_equal(doc->n, 1);
    assert_int_equal(doc->entries[0].value.type, TOML_INTEGER);
    long long v = doc->entries[0].value.u.i;
    toml_free(doc);
    return v;
}

static double float_of(const char *text)
{
    toml_doc *doc = parse_ok(text);
    assert_int_equal(doc->n, 1);
    assert_int_equal(doc->entries[0].value.type, TOML_FLOAT);
    double v = doc->entries[0].value.u.f;
    toml_free(doc);
    return v;
}

/* The string value of the only key in text, compared with want. */
static void string_is(const char *text, const char *want)
{
    toml_doc *doc = parse_ok(text);
    assert_int_equal(doc->n, 1);
    assert_int_equal(doc->entries[0].value.type, TOML_STRING);
    assert_string_equal(doc->entries[0].value.u.s, want);
    toml_free(doc);
}

/* ---- empty and trivial documents ------------------------------------------- */

static void test_empty_inputs(void **state)
{
    (void)state;
    const char *blank[] = {"", "\n", "\n\n  \t\n", "# only a comment", "# c\n\n# d\n",
                           "\xEF\xBB\xBF", "\xEF\xBB\xBF# bom then comment\n", "\r\n\r\n"};
    for (size_t i = 0; i < sizeof blank / sizeof blank[0]; i++) {
        toml_doc *doc = parse_ok(blank[i]);
        assert_int_equal(doc->n, 0);
        assert_int_equal(doc->n_tables, 0);
        assert_null(toml_find(doc, "a"));
        toml_free(doc);
    }
    toml_doc *doc = NULL;
    assert_int_equal(toml_parse(NULL, 0, &doc, NULL, 0), TOML_OK);
    assert_non_null(doc);
    assert_int_equal(doc->n, 0);
    toml_free(doc);
}

static void test_not_nul_terminated(void **state)
{
    (void)state;
    const char text[] = {'a', ' ', '=', ' ', '1', '2', 'X'}; /* only 6 bytes are the input */
    toml_doc *doc = NULL;
    assert_int_equal(toml_parse(text, 6, &doc, NULL, 0), TOML_OK);
    assert_int_equal(doc->entries[0].value.u.i, 12);
    toml_free(doc);
}

/* ---- values ---------------------------------------------------------------- */

static void test_integers(void **state)
{
    (void)state;
    assert_true(int_of("a = 0") == 0);
    assert_true(int_of("a = +0") == 0);
    assert_true(int_of("a = -0") == 0);
    assert_true(int_of("a = 42") == 42);
    assert_true(int_of("a = +17") == 17);
    assert_true(int_of("a = -17") == -17);
    assert_true(int_of("a = 1_000_000") == 1000000);
    assert_true(int_of("a = 5_3_4") == 534);
    assert_true(int_of("a = 9223372036854775807") == LLONG_MAX);
    assert_true(int_of("a = -9223372036854775808") == LLONG_MIN);
    assert_true(int_of("a = 0xDEADbeef") == 0xDEADBEEFLL);
    assert_true(int_of("a = 0xdead_beef") == 0xDEADBEEFLL);
    assert_true(int_of("a = 0x00ff") == 255);
    assert_true(int_of("a = 0o755") == 0755);
    assert_true(int_of("a = 0b1101_0110") == 0xD6);
    assert_true(int_of("a = 0x7FFFFFFFFFFFFFFF") == LLONG_MAX);
}

static void test_integer_errors(void **state)
{
    (void)state;
    parse_fails("a = 01", TOML_ERR_SYNTAX, "line 1: leading zeros are not allowed in '01'");
    parse_fails("a = -007", TOML_ERR_SYNTAX, "line 1: leading zeros are not allowed in '-007'");
    parse_fails("a = 0_1", TOML_ERR_SYNTAX, "line 1: leading zeros are not allowed in '0_1'");
    parse_fails("a = 1__2", TOML_ERR_SYNTAX, "line 1: invalid number '1__2'");
    parse_fails("a = 1_", TOML_ERR_SYNTAX, "line 1: invalid number '1_'");
    parse_fails("a = _1", TOML_ERR_SYNTAX, "line 1: invalid value '_1' (strings must be quoted)");
    parse_fails("a = 0x", TOML_ERR_SYNTAX, "line 1: invalid number '0x'");
    parse_fails("a = 0x_1", TOML_ERR_SYNTAX, "line 1: invalid number '0x_1'");
    parse_fails("a = 0b102", TOML_ERR_SYNTAX, "line 1: invalid number '0b102'");
    parse_fails("a = 0o8", TOML_ERR_SYNTAX, "line 1: invalid number '0o8'");
    parse_fails("a = +0x10", TOML_ERR_SYNTAX, "line 1: invalid number '+0x10'");
    parse_fails("a = 0X10", TOML_ERR_SYNTAX, "line 1: invalid number '0X10'");
    parse_fails("a = 12abc", TOML_ERR_SYNTAX, "line 1: invalid number '12abc'");
    parse_fails("x = 1\na = 9223372036854775808", TOML_ERR_SYNTAX,
                "line 2: integer '9223372036854775808' is out of range (64-bit signed)");
    parse_fails("a = -9223372036854775809", TOML_ERR_SYNTAX,
                "line 1: integer '-9223372036854775809' is out of range (64-bit signed)");
    parse_fails("a = 99999999999999999999999999999", TOML_ERR_SYNTAX,
                "line 1: integer '99999999999999999999999999999' is out of range (64-bit "
                "signed)");
    parse_fails("a = 0x8000000000000000", TOML_ERR_SYNTAX,
                "line 1: integer '0x8000000000000000' is out of range (64-bit signed)");
}

static void test_floats(void **state)
{
    (void)state;
    assert_true(float_of("a = 1.5") == 1.5);
    assert_true(float_of("a = -0.5") == -0.5);
    assert_true(float_of("a = +0.25") == 0.25);
    assert_true(float_of("a = 1e3") == 1000.0);
    assert_true(float_of("a = 1E3") == 1000.0);
    assert_true(float_of("a = 6.02e+23") == 6.02e23);
    assert_true(float_of("a = 5e-2") == 0.05);
    assert_true(float_of("a = 3e05") == 300000.0);
    assert_true(float_of("a = 3.141_5") == 3.1415);
    assert_true(float_of("a = 1_000.5") == 1000.5);
    assert_true(float_of("a = 0.0") == 0.0);
    assert_true(float_of("a = -0.0") == 0.0 && signbit(float_of("a = -0.0")));
    assert_true(isinf(float_of("a = inf")) && float_of("a = inf") > 0);
    assert_true(isinf(float_of("a = +inf")) && float_of("a = +inf") > 0);
    assert_true(isinf(float_of("a = -inf")) && float_of("a = -inf") < 0);
    assert_true(isnan(float_of("a = nan")));
    assert_true(isnan(float_of("a = -nan")));
    assert_true(float_of("a = 1e-400") >= 0.0); /* underflow rounds toward zero */
}

static void test_float_errors(void **state)
{
    (void)state;
    parse_fails("a = 1.", TOML_ERR_SYNTAX, "line 1: invalid number '1.'");
    parse_fails("a = .5", TOML_ERR_SYNTAX, "line 1: invalid value '.5' (strings must be quoted)");
    parse_fails("a = 1.e3", TOML_ERR_SYNTAX, "line 1: invalid number '1.e3'");
    parse_fails("a = 1e", TOML_ERR_SYNTAX, "line 1: invalid number '1e'");
    parse_fails("a = 1e+", TOML_ERR_SYNTAX, "line 1: invalid number '1e+'");
    parse_fails("a = 01.5", TOML_ERR_SYNTAX, "line 1: invalid number '01.5'");
    parse_fails("a = 1.5.2", TOML_ERR_SYNTAX, "line 1: invalid number '1.5.2'");
    parse_fails("a = 1._5", TOML_ERR_SYNTAX, "line 1: invalid number '1._5'");
    parse_fails("a = 1e400", TOML_ERR_SYNTAX, "line 1: float '1e400' is out of range");
    parse_fails("a = -1e400", TOML_ERR_SYNTAX, "line 1: float '-1e400' is out of range");
    parse_fails("a = Inf", TOML_ERR_SYNTAX, "line 1: invalid value 'Inf' (strings must be quoted)");
}

static void test_booleans(void **state)
{
    (void)state;
    toml_doc *doc = parse_ok("t = true\nf = false # comment\n");
    assert_int_equal(value_of(doc, "t")->type, TOML_BOOL);
    assert_true(value_of(doc, "t")->u.b);
    assert_int_equal(value_of(doc, "f")->type, TOML_BOOL);
    assert_false(value_of(doc, "f")->u.b);
    toml_free(doc);
    parse_fails("a = True", TOML_ERR_SYNTAX,
                "line 1: invalid value 'True' (strings must be quoted)");
    parse_fails("a = yes", TOML_ERR_SYNTAX, "line 1: invalid value 'yes' (strings must be quoted)");
    parse_fails("a = truex", TOML_ERR_SYNTAX,
                "line 1: invalid value 'truex' (strings must be quoted)");
}

static void test_basic_strings(void **state)
{
    (void)state;
    string_is("a = \"hello world\"", "hello world");
    string_is("a = \"\"", "");
    string_is("a = \"tab\there\"", "tab\there"); /* a raw tab is allowed */
    string_is("a = \"\\b\\t\\n\\f\\r\\\"\\\\\"", "\b\t\n\f\r\"\\");
    string_is("a = \"# not a comment\" # a comment", "# not a comment");
    string_is("a = \"caf\xC3\xA9 \xE2\x82\xAC\"", "caf\xC3\xA9 \xE2\x82\xAC"); /* raw UTF-8 */
}

static void test_unicode_escapes(void **state)
{
    (void)state;
    string_is("a = \"\\u0041\"", "A");
    string_is("a = \"\\u00e9\"", "\xC3\xA9");
    string_is("a = \"\\u00E9\"", "\xC3\xA9");
    string_is("a = \"\\u20AC\"", "\xE2\x82\xAC");
    string_is("a = \"\\uFFFF\"", "\xEF\xBF\xBF");
    string_is("a = \"\\U0001F600\"", "\xF0\x9F\x98\x80");
    string_is("a = \"\\U0010FFFF\"", "\xF4\x8F\xBF\xBF");
    string_is("a = \"\\u007F\"", "\x7F"); /* escaped controls are fine */
    string_is("a = \"x\\u0001y\"", "x\x01y");
}

static void test_escape_errors(void **state)
{
    (void)state;
    parse_fails("a = \"\\q\"", TOML_ERR_SYNTAX, "line 1: invalid escape '\\q' in string");
    parse_fails("a = \"\\x41\"", TOML_ERR_SYNTAX, "line 1: invalid escape '\\x' in string");
    parse_fails("a = \"\\e\"", TOML_ERR_SYNTAX, "line 1: invalid escape '\\e' in string");
    parse_fails("a = \"\\ \"", TOML_ERR_SYNTAX,
                "line 1: invalid escape: backslash followed by ' '");
    parse_fails("a = \"ab\\\n\"", TOML_ERR_SYNTAX,
                "line 1: backslash at end of line (line continuations need multi-line strings, "
                "which are not supported)");
    parse_fails("a = \"\\u12\"", TOML_ERR_SYNTAX,
                "line 1: invalid escape '\\u': expected 4 hex digits");
    parse_fails("a = \"\\u12G4\"", TOML_ERR_SYNTAX,
                "line 1: invalid escape '\\u': expected 4 hex digits");
    parse_fails("a = \"\\U0001F60\"", TOML_ERR_SYNTAX,
                "line 1: invalid escape '\\U': expected 8 hex digits");
    parse_fails("\na = \"\\uD800\"", TOML_ERR_SYNTAX,
                "line 2: escape '\\uD800' is not a Unicode scalar value");
    parse_fails("a = \"\\uDFFF\"", TOML_ERR_SYNTAX,
                "line 1: escape '\\uDFFF' is not a Unicode scalar value");
    parse_fails("a = \"\\U00110000\"", TOML_ERR_SYNTAX,
                "line 1: escape '\\U00110000' is not a Unicode scalar value");
    parse_fails("a = \"\\u0000\"", TOML_ERR_SYNTAX,
                "line 1: escape '\\u0000' would put a NUL character in the string");
    parse_fails("a = \"\\U00000000\"", TOML_ERR_SYNTAX,
                "line 1: escape '\\U00000000' would put a NUL character in the string");
}

static void test_string_errors(void **state)
{
    (void)state;
    parse_fails("a = \"abc", TOML_ERR_SYNTAX,
                "line 1: unterminated string (missing closing '\"')");
    parse_fails("a = \"abc\nb = 1", TOML_ERR_SYNTAX,
                "line 1: unterminated string (missing closing '\"')");
    parse_fails("a = 'abc", TOML_ERR_SYNTAX,
                "line 1: unterminated literal string (missing closing \"'\")");
    parse_fails("a = \"x\x01y\"", TOML_ERR_SYNTAX,
                "line 1: control character U+0001 in string must be written as an escape");
    parse_fails("a = \"x\x7Fy\"", TOML_ERR_SYNTAX,
                "line 1: control character U+007F in string must be written as an escape");
    parse_fails("a = 'x\x1By'", TOML_ERR_SYNTAX,
                "line 1: control character U+001B in literal string");
    parse_fails("a = \"x\ry\"", TOML_ERR_SYNTAX,
                "line 1: control character U+000D in string must be written as an escape");
}

static void test_nul_byte_rejected(void **state)
{
    (void)state;
    const char text[] = "a = \"x\0y\"\n";
    toml_doc *doc = NULL;
    char err[256];
    assert_int_equal(toml_parse(text, sizeof text - 1, &doc, err, sizeof err), TOML_ERR_SYNTAX);
    assert_null(doc);
    assert_string_equal(err, "line 1: control character U+0000 in string must be written as an "
                             "escape");
    const char bare[] = "a = 1\n\0";
    assert_int_equal(toml_parse(bare, sizeof bare - 1, &doc, err, sizeof err), TOML_ERR_SYNTAX);
    assert_string_equal(err, "line 2: expected a key, found control character U+0000");
}

static void test_literal_strings(void **state)
{
    (void)state;
    string_is("a = 'C:\\Users\\nobody'", "C:\\Users\\nobody");
    string_is("a = ''", "");
    string_is("a = 'say \"hi\"'", "say \"hi\"");
    string_is("a = '\\u0041'", "\\u0041");
    string_is("a = 'tab\tok'", "tab\tok");
}

static void test_arrays(void **state)
{
    (void)state;
    toml_doc *doc = parse_ok("a = [1, 2, 3]\n"
                             "b = []\n"
                             "c = [ \"x\", 'y', ]\n"
                             "d = [[1, 2], [true], []]\n"
                             "e = [1, 2.5, \"s\", false]\n");
    const toml_value *a = value_of(doc, "a");
    assert_int_equal(a->type, TOML_ARRAY);
    assert_int_equal(a->u.a.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(a->u.a.items[i].type, TOML_INTEGER);
        assert_true(a->u.a.items[i].u.i == (long long)i + 1);
    }
    assert_int_equal(value_of(doc, "b")->type, TOML_ARRAY);
    assert_int_equal(value_of(doc, "b")->u.a.n, 0);
    const toml_value *c = value_of(doc, "c");
    assert_int_equal(c->u.a.n, 2);
    assert_string_equal(c->u.a.items[0].u.s, "x");
    assert_string_equal(c->u.a.items[1].u.s, "y");
    const toml_value *d = value_of(doc, "d");
    assert_int_equal(d->u.a.n, 3);
    assert_int_equal(d->u.a.items[0].type, TOML_ARRAY);
    assert_int_equal(d->u.a.items[0].u.a.n, 2);
    assert_true(d->u.a.items[0].u.a.items[1].u.i == 2);
    assert_true(d->u.a.items[1].u.a.items[0].u.b);
    assert_int_equal(d->u.a.items[2].u.a.n, 0);
    const toml_value *e = value_of(doc, "e");
    assert_int_equal(e->u.a.n, 4);
    assert_int_equal(e->u.a.items[1].type, TOML_FLOAT);
    assert_int_equal(e->u.a.items[2].type, TOML_STRING);
    assert_int_equal(e->u.a.items[3].type, TOML_BOOL);
    toml_free(doc);
}

static void test_multiline_arrays(void **state)
{
    (void)state;
    toml_doc *doc = parse_ok("a = [\n"
                             "  1,  # first\n"
                             "\n"
                             "  2   # second\n"
                             "  ,\r\n"
                             "]\n"
                             "b = 3\n");
    const toml_entry *a = toml_find(doc, "a");
    assert_non_null(a);
    assert_int_equal(a->line, 1);
    assert_int_equal(a->value.u.a.n, 2);
    assert_int_equal(toml_find(doc, "b")->line, 7);
    toml_free(doc);
}

static void test_array_errors(void **state)
{
    (void)state;
    parse_fails("a = [1 2]", TOML_ERR_SYNTAX, "line 1: expected ',' or ']' in array, found '2'");
    parse_fails("a = [1,\n2\n3]", TOML_ERR_SYNTAX,
                "line 3: expected ',' or ']' in array, found '3'");
    parse_fails("a = [1, 2", TOML_ERR_SYNTAX,
                "line 1: expected ',' or ']' in array, found end of file");
    parse_fails("a = [,]", TOML_ERR_SYNTAX, "line 1: expected a value, found ','");
    parse_fails("a = [1,,2]", TOML_ERR_SYNTAX, "line 1: expected a value, found ','");
    parse_fails("a = [\n", TOML_ERR_SYNTAX, "line 2: expected a value, found end of file");
    parse_fails("a = [1, # c\x01\n]", TOML_ERR_SYNTAX,
                "line 1: control character U+0001 in comment");
}

static void test_array_nesting_limit(void **state)
{
    (void)state;
    char text[256];
    /* 32 levels parse; 33 do not. */
    int n = snprintf(text, sizeof text, "a = ");
    for (int i = 0; i < 32; i++)
        text[n++] = '[';
    for (int i = 0; i < 32; i++)
        text[n++] = ']';
    text[n] = '\0';
    toml_free(parse_ok(text));
    n = snprintf(text, sizeof text, "a = ");
    for (int i = 0; i < 33; i++)
        text[n++] = '[';
    for (int i = 0; i < 33; i++)
        text[n++] = ']';
    text[n] = '\0';
    parse_fails(text, TOML_ERR_TOO_LARGE, "line 1: arrays nested more than 32 deep");
}

/* ---- keys and tables -------------------------------------------------------- */

static void test_keys(void **state)
{
    (void)state;
    toml_doc *doc = parse_ok("bare_key-1 = 1\n"
                             "\"quoted key\" = 2\n"
                             "'literal key' = 3\n"
                             "\"caf\\u00e9\" = 4\n"
                             "1234 = 5\n"
                             "a.b.c = 6\n"
                             "x . \"y\" .\t'z' = 7\n"
                             "  indented = 8\n"
                             "tight=9\n");
    assert_int_equal(doc->n, 9);
    const char *keys[] = {"bare_key-1", "quoted key", "literal key", "caf\xC3\xA9", "1234",
                          "a.b.c", "x.y.z", "indented", "tight"};
    for (size_t i = 0; i < 9; i++) {
        assert_string_equal(doc->entries[i].key, keys[i]);
        assert_int_equal(doc->entries[i].line, (int)i + 1);
        assert_true(doc->entries[i].value.u.i == (long long)i + 1);
        assert_ptr_equal(toml_find(doc, keys[i]), &doc->entries[i]);
    }
    assert_null(toml_find(doc, "a.b"));
    assert_null(toml_find(doc, "a"));
    toml_free(doc);
}

static void test_tables(void **state)
{
    (void)state;
    toml_doc *doc = parse_ok("top = 1\n"
                             "[server]\n"
                             "port = 8000\n"
                             "\n"
                             "[ a . \"b\" ]  # comment\n"
                             "c = 'd'\n"
                             "e.f = 2\n"
                             "[empty]\n");
    assert_int_equal(doc->n, 4);
    assert_string_equal(doc->entries[0].key, "top");
    assert_string_equal(doc->entries[1].key, "server.port");
    assert_int_equal(doc->entries[1].line, 3);
    assert_string_equal(doc->entries[2].key, "a.b.c");
    assert_string_equal(doc->entries[3].key, "a.b.e.f");
    assert_int_equal(doc->n_tables, 3);
    assert_string_equal(doc->tables[0].name, "server");
    assert_int_equal(doc->tables[0].line, 2);
    assert_string_equal(doc->tables[1].name, "a.b");
    assert_int_equal(doc->tables[1].line, 5);
    assert_string_equal(doc->tables[2].name, "empty");
    assert_int_equal(doc->tables[2].line, 8);
    toml_free(doc);
}

static void test_tables_allowed_orders(void **state)
{
    (void)state;
    /* A parent may be defined after its child; a [header] may add a sub-table
     * to a table made by dotted keys. */
    toml_free(parse_ok("[a.b]\nx = 1\n[a]\ny = 2\n"));
    toml_free(parse_ok("[fruit]\napple.color = 'red'\n[fruit.apple.texture]\nsmooth = true\n"));
    toml_free(parse_ok("a.b = 1\na.c = 2\n"));
    toml_free(parse_ok("[a.b.c]\n[a]\nb.d = 1\n")); /* a.b was only implied */
}

static void test_key_errors(void **state)
{
    (void)state;
    parse_fails("a", TOML_ERR_SYNTAX, "line 1: expected '=' after key 'a', found end of file");
    parse_fails("x = 1\nfoo bar = 1", TOML_ERR_SYNTAX,
                "line 2: expected '=' after key 'foo', found 'b'");
    parse_fails("[t]\nkey : 1", TOML_ERR_SYNTAX,
                "line 2: expected '=' after key 'key', found ':'");
    parse_fails("= 1", TOML_ERR_SYNTAX, "line 1: expected a key, found '='");
    parse_fails("a. = 1", TOML_ERR_SYNTAX, "line 1: expected a key, found '='");
    parse_fails("a..b = 1", TOML_ERR_SYNTAX, "line 1: expected a key, found '.'");
    parse_fails("\n\na =", TOML_ERR_SYNTAX, "line 3: missing value for key 'a'");
    parse_fails("a = # nothing", TOML_ERR_SYNTAX, "line 1: missing value for key 'a'");
    parse_fails("a = \nb = 2", TOML_ERR_SYNTAX, "line 1: missing value for key 'a'");
    parse_fails("\"\" = 1", TOML_ERR_SYNTAX, "line 1: empty quoted keys are not supported");
    parse_fails("\"a\\u0007\" = 1", TOML_ERR_SYNTAX,
                "line 1: control characters in keys are not supported");
    parse_fails("x.'a\tb' = 1", TOML_ERR_SYNTAX,
                "line 1: control characters in keys are not supported");
    parse_fails("\"a.b\" = 1", TOML_ERR_SYNTAX,
                "line 1: quoted key \"a.b\" contains '.', which is not supported");
    parse_fails("k\xC3\xA9y = 1", TOML_ERR_SYNTAX,
                "line 1: expected '=' after key 'k', found '\xC3\xA9'");
}

static void test_trailing_garbage(void **state)
{
    (void)state;
    parse_fails("a = 1 2", TOML_ERR_SYNTAX, "line 1: unexpected '2' after the value of key 'a'");
    parse_fails("a = \"x\" \"y\"", TOML_ERR_SYNTAX,
                "line 1: unexpected '\"' after the value of key 'a'");
    parse_fails("[t]\nk = 1, 2", TOML_ERR_SYNTAX,
                "line 2: unexpected ',' after the value of key 'k'");
    parse_fails("[a] b = 1", TOML_ERR_SYNTAX, "line 1: unexpected 'b' after table header [a]");
    parse_fails("[a\nb = 1", TOML_ERR_SYNTAX,
                "line 1: expected ']' after table name 'a', found end of line");
    parse_fails("[]", TOML_ERR_SYNTAX, "line 1: expected a table name, found ']'");
    parse_fails("a = 1 # ok\n\n\nb = 'x' y", TOML_ERR_SYNTAX,
                "line 4: unexpected 'y' after the value of key 'b'");
}

static void test_comments(void **state)
{
    (void)state;
    toml_doc *doc = parse_ok("# leading\n"
                             "a = 1 # after a value\n"
                             "b = \"s\"# no space\n"
                             "[t] # after a header\n"
                             "c = [1] # after an array\n"
                             "# \xC3\xA9 non-ASCII in a comment\n"
                             "d = true#\n");
    assert_int_equal(doc->n, 4);
    assert_true(value_of(doc, "a")->u.i == 1);
    assert_string_equal(value_of(doc, "b")->u.s, "s");
    assert_int_equal(value_of(doc, "t.c")->u.a.n, 1);
    assert_true(value_of(doc, "t.d")->u.b);
    toml_free(doc);
    parse_fails("a = 1\n# bell \x07\n", TOML_ERR_SYNTAX,
                "line 2: control character U+0007 in comment");
    parse_fails("a = 1 # del \x7F", TOML_ERR_SYNTAX,
                "line 1: control character U+007F in comment");
}

/* ---- duplicates --------------------------------------------------------------- */

static void test_duplicates(void **state)
{
    (void)state;
    parse_fails("a = 1\nb = 2\na = 3", TOML_ERR_DUPLICATE,
                "line 3: key 'a' is defined twice (first on line 1)");
    parse_fails("a = 1\n\"a\" = 2", TOML_ERR_DUPLICATE,
                "line 2: key 'a' is defined twice (first on line 1)");
    parse_fails("[s]\nport = 1\n[t]\n[s]\n", TOML_ERR_DUPLICATE,
                "line 4: table [s] is defined twice (first on line 1)");
    parse_fails("[s]\nport = 1\nport = 2", TOML_ERR_DUPLICATE,
                "line 3: key 's.port' is defined twice (first on line 2)");
    parse_fails("a.b = 1\n[a]\nb = 2", TOML_ERR_DUPLICATE,
                "line 2: table [a] was already defined by dotted keys (line 1)");
    parse_fails("[a]\nb = 1\n[a.b]", TOML_ERR_DUPLICATE,
                "line 3: table [a.b] conflicts with key 'a.b' (line 2)");
    parse_fails("a = 1\n[a.b]", TOML_ERR_DUPLICATE,
                "line 2: cannot define table [a.b]: 'a' is already a value (line 1)");
    parse_fails("a = 1\n[a]", TOML_ERR_DUPLICATE,
                "line 2: table [a] conflicts with key 'a' (line 1)");
    parse_fails("a = 1\na.b = 2", TOML_ERR_DUPLICATE,
                "line 2: cannot define key 'a.b': 'a' is already a value (line 1)");
    parse_fails("[a.b]\n[a]\nb = 1", TOML_ERR_DUPLICATE,
                "line 3: key 'a.b' is already defined as a table (line 1)");
    parse_fails("[a.b.c]\nz = 9\n[a]\nb.c.t = 1", TOML_ERR_DUPLICATE,
                "line 4: cannot define key 'a.b.c.t': table [a.b.c] is defined by a header "
                "(line 1)");
    parse_fails("[fruit]\napple.color = 1\n[fruit.apple]", TOML_ERR_DUPLICATE,
                "line 3: table [fruit.apple] was already defined by dotted keys (line 2)");
    parse_fails("a.b.c = 1\na.b = 2", TOML_ERR_DUPLICATE,
                "line 2: key 'a.b' is already defined as a table (line 1)");
}

static void test_many_keys_linear(void **state)
{
    (void)state;
    /* Thousands of distinct keys and tables exercise the name set's growth;
     * one duplicate at the end must still be found. */
    size_t cap = 400000, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(text + n, cap - n, "[t%d]\nk%d = %d\nx.y%d = 1\n", i, i, i, i);
    text[n] = '\0';
    toml_doc *doc = parse_ok(text);
    assert_int_equal(doc->n, 10000);
    assert_int_equal(doc->n_tables, 5000);
    assert_true(value_of(doc, "t4321.k4321")->u.i == 4321);
    toml_free(doc);
    n += (size_t)snprintf(text + n, cap - n, "[t17]\n");
    toml_doc *bad = (toml_doc *)1;
    char err[256];
    assert_int_equal(toml_parse(text, n, &bad, err, sizeof err), TOML_ERR_DUPLICATE);
    assert_null(bad);
    assert_string_equal(err, "line 15001: table [t17] is defined twice (first on line 52)");
    free(text);
}

/* ---- unsupported features -------------------------------------------------------- */

static void test_unsupported(void **state)
{
    (void)state;
    parse_fails("a = 1\n[[products]]\nname = 'x'", TOML_ERR_SYNTAX,
                "line 2: arrays of tables ([[name]]) are not supported");
    parse_fails("\n\npoint = { x = 1, y = 2 }", TOML_ERR_SYNTAX,
                "line 3: inline tables ({...}) are not supported; use a [table] section");
    parse_fails("a = \"\"\"\nmulti\n\"\"\"", TOML_ERR_SYNTAX,
                "line 1: multi-line strings (\"\"\") are not supported");
    parse_fails("a = 1\nb = '''x'''", TOML_ERR_SYNTAX,
                "line 2: multi-line strings (''') are not supported");
    parse_fails("d = 1979-05-27", TOML_ERR_SYNTAX,
                "line 1: dates and times are not supported (found '1979-05-27')");
    parse_fails("d = 1979-05-27T07:32:00Z", TOML_ERR_SYNTAX,
                "line 1: dates and times are not supported (found '1979-05-27T07:32:00Z')");
    parse_fails("d = 1979-05-27 07:32:00", TOML_ERR_SYNTAX,
                "line 1: dates and times are not supported (found '1979-05-27')");
    parse_fails("t = 07:32:00", TOML_ERR_SYNTAX,
                "line 1: dates and times are not supported (found '07:32:00')");
    parse_fails("a = [1979-05-27]", TOML_ERR_SYNTAX,
                "line 1: dates and times are not supported (found '1979-05-27')");
}

/* ---- bounds -------------------------------------------------------------------- */

static void test_input_too_large(void **state)
{
    (void)state;
    size_t n = TOML_MAX_INPUT + 1;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, '\n', n);
    toml_doc *doc = (toml_doc *)1;
    char err[256];
    assert_int_equal(toml_parse(text, n, &doc, err, sizeof err), TOML_ERR_TOO_LARGE);
    assert_null(doc);
    assert_string_equal(err, "input is larger than 1048576 bytes");
    /* Exactly the limit is fine. */
    assert_int_equal(toml_parse(text, n - 1, &doc, err, sizeof err), TOML_OK);
    assert_int_equal(doc->n, 0);
    toml_free(doc);
    free(text);
}

static void test_key_length_limit(void **state)
{
    (void)state;
    char key[TOML_MAX_KEY + 2], text[TOML_MAX_KEY + 64];
    memset(key, 'k', TOML_MAX_KEY);
    key[TOML_MAX_KEY] = '\0';
    snprintf(text, sizeof text, "%s = 1", key);
    toml_doc *doc = parse_ok(text);
    assert_int_equal(strlen(doc->entries[0].key), TOML_MAX_KEY);
    toml_free(doc);

    key[TOML_MAX_KEY] = 'k';
    key[TOML_MAX_KEY + 1] = '\0';
    snprintf(text, sizeof text, "\n%s = 1", key);
    char want[128];
    snprintf(want, sizeof want, "line 2: key '%.40s...' is longer than 256 bytes", key);
    parse_fails(text, TOML_ERR_TOO_LARGE, want);

    /* The limit applies to the full dotted name, table included. */
    memset(key, 'k', 250);
    key[250] = '\0';
    snprintf(text, sizeof text, "[tab]\n%s = 1", key); /* "tab." + 250 = 254 */
    toml_free(parse_ok(text));
    snprintf(text, sizeof text, "[table]\n%s = 1", key); /* "table." + 250 = 256 */
    toml_free(parse_ok(text));
    snprintf(text, sizeof text, "[tables]\n%s = 1", key); /* 257 */
    snprintf(want, sizeof want, "line 2: key 'tables.%.33s...' is longer than 256 bytes", key);
    parse_fails(text, TOML_ERR_TOO_LARGE, want);
    /* A table name is bounded the same way. */
    snprintf(text, sizeof text, "[%s.abcdefg]", key);
    snprintf(want, sizeof want, "line 1: key '%.40s...' is longer than 256 bytes", key);
    parse_fails(text, TOML_ERR_TOO_LARGE, want);
}

static void test_long_number(void **state)
{
    (void)state;
    char text[400];
    int n = snprintf(text, sizeof text, "a = 1.");
    for (int i = 0; i < 240; i++)
        text[n++] = '5';
    text[n] = '\0';
    assert_true(fabs(float_of(text) - 1.5555555555) < 1e-9);
    for (int i = 0; i < 20; i++)
        text[n++] = '5';
    text[n] = '\0';
    parse_fails(text, TOML_ERR_TOO_LARGE,
                "line 1: value '1.555555555555555555...' is longer than 256 bytes");
}

/* ---- encoding and line endings ------------------------------------------------------ */

static void test_invalid_utf8(void **state)
{
    (void)state;
    parse_fails("a = \"\xFF\"", TOML_ERR_SYNTAX, "line 1: invalid UTF-8 (byte 0xFF)");
    parse_fails("a = 1\n# \xC3\n", TOML_ERR_SYNTAX, "line 2: invalid UTF-8 (byte 0xC3)");
    parse_fails("a = 1\nb = 2\n\xC0\xAF = 3", TOML_ERR_SYNTAX,
                "line 3: invalid UTF-8 (byte 0xC0)"); /* overlong '/' */
    parse_fails("a = '\xE0\x80\xAF'", TOML_ERR_SYNTAX,
                "line 1: invalid UTF-8 (byte 0xE0)"); /* overlong, 3 bytes */
    parse_fails("a = '\xED\xA0\x80'", TOML_ERR_SYNTAX,
                "line 1: invalid UTF-8 (byte 0xED)"); /* encoded surrogate */
    parse_fails("a = '\xF4\x90\x80\x80'", TOML_ERR_SYNTAX,
                "line 1: invalid UTF-8 (byte 0xF4)"); /* above U+10FFFF */
    parse_fails("a = '\x80'", TOML_ERR_SYNTAX, "line 1: invalid UTF-8 (byte 0x80)");
    parse_fails("a = '\xE2\x82'", TOML_ERR_SYNTAX, "line 1: invalid UTF-8 (byte 0xE2)");
    parse_fails("a = 1 # \xF0\x9F\x98", TOML_ERR_SYNTAX, "line 1: invalid UTF-8 (byte 0xF0)");
}

static void test_utf8_valid(void **state)
{
    (void)state;
    assert_true(toml_utf8_valid("", 0));
    assert_true(toml_utf8_valid(NULL, 0));
    assert_true(toml_utf8_valid("plain", 5));
    assert_true(toml_utf8_valid("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9));
    assert_true(toml_utf8_valid("\xEF\xBF\xBF", 3));
    assert_false(toml_utf8_valid("\xC3", 1));
    assert_false(toml_utf8_valid("\xC3\xA9", 1)); /* the length is respected */
    assert_false(toml_utf8_valid("\xC1\xBF", 2));
    assert_false(toml_utf8_valid("\xED\xBF\xBF", 3));
    assert_false(toml_utf8_valid("\xF8\x88\x80\x80\x80", 5));
    assert_false(toml_utf8_valid("a\xFE", 2));
}

static void test_crlf(void **state)
{
    (void)state;
    toml_doc *doc = parse_ok("# comment\r\n"
                             "a = 1\r\n"
                             "\r\n"
                             "[server]\r\n"
                             "b = \"x\" # c\r\n"
                             "c = 'y'\r\n");
    assert_int_equal(doc->n, 3);
    assert_int_equal(toml_find(doc, "a")->line, 2);
    assert_int_equal(toml_find(doc, "server.b")->line, 5);
    assert_string_equal(value_of(doc, "server.b")->u.s, "x");
    assert_string_equal(value_of(doc, "server.c")->u.s, "y"); /* no stray \r */
    toml_free(doc);
    parse_fails("a = 1\r\nb = 2\rc = 3", TOML_ERR_SYNTAX,
                "line 2: unexpected control character U+000D after the value of key 'b'");
    parse_fails("a = 1\r\nb = @\r\n", TOML_ERR_SYNTAX, "line 2: expected a value, found '@'");
}

/* ---- misc API ---------------------------------------------------------------- */

static void test_names_and_null_safety(void **state)
{
    (void)state;
    assert_string_equal(toml_type_name(TOML_STRING), "string");
    assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
    assert_string_equal(toml_type_name(TOML_FLOAT), "float");
    assert_string_equal(toml_type_name(TOML_BOOL), "boolean");
    assert_string_equal(toml_type_name(TOML_ARRAY), "array");
    const int codes[] = {TOML_OK, TOML_ERR_SYNTAX, TOML_ERR_DUPLICATE, TOML_ERR_TOO_LARGE,
                         TOML_ERR_NOMEM, TOML_ERR_IO};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_non_null(toml_strerror(codes[i]));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(toml_strerror(codes[i]), toml_strerror(codes[j]));
    }
    assert_string_equal(toml_strerror(999), "unknown error");
    toml_free(NULL);
    assert_null(toml_find(NULL, "a"));
    toml_doc *doc = parse_ok("a = 1");
    assert_null(toml_find(doc, NULL));
    toml_free(doc);
}

static void test_error_buffer_optional(void **state)
{
    (void)state;
    toml_doc *doc = (toml_doc *)1;
    assert_int_equal(toml_parse("a = ", 4, &doc, NULL, 0), TOML_ERR_SYNTAX);
    assert_null(doc);
    char tiny[8];
    assert_int_equal(toml_parse("a = ", 4, &doc, tiny, sizeof tiny), TOML_ERR_SYNTAX);
    assert_string_equal(tiny, "line 1:"); /* truncated, still terminated */
}

/* ---- files ------------------------------------------------------------------ */

typedef struct {
    char dir[PATH_MAX];
} file_fixture;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int file_setup(void **state)
{
    file_fixture *f = calloc(1, sizeof *f);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/cesar-toml-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int file_teardown(void **state)
{
    file_fixture *f = *state;
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void write_text(const char *path, const char *text, size_t n)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void test_parse_file_ok(void **state)
{
    file_fixture *f = *state;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/ok.toml", f->dir);
    const char *text = "name = \"cesar\"\n[server]\nport = 8000\n";
    write_text(path, text, strlen(text));
    toml_doc *doc = NULL;
    char err[256] = "";
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_OK);
    assert_string_equal(value_of(doc, "name")->u.s, "cesar");
    assert_true(value_of(doc, "server.port")->u.i == 8000);
    toml_free(doc);
}

static void test_parse_file_messages(void **state)
{
    file_fixture *f = *state;
    char path[PATH_MAX + 32], want[PATH_MAX + 128], err[PATH_MAX + 128];
    toml_doc *doc = (toml_doc *)1;
    snprintf(path, sizeof path, "%s/bad.toml", f->dir);
    const char *text = "a = 1\n\nfoo = \n";
    write_text(path, text, strlen(text));
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_ERR_SYNTAX);
    assert_null(doc);
    snprintf(want, sizeof want, "%s:3: missing value for key 'foo'", path);
    assert_string_equal(err, want);

    text = "a = 1\na = 2\n";
    write_text(path, text, strlen(text));
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_ERR_DUPLICATE);
    snprintf(want, sizeof want, "%s:2: key 'a' is defined twice (first on line 1)", path);
    assert_string_equal(err, want);

    write_text(path, "a = '\xFF'", 8);
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_ERR_SYNTAX);
    snprintf(want, sizeof want, "%s:1: invalid UTF-8 (byte 0xFF)", path);
    assert_string_equal(err, want);
}

static void test_parse_file_missing_dir_large(void **state)
{
    file_fixture *f = *state;
    char path[PATH_MAX + 32], want[PATH_MAX + 128], err[PATH_MAX + 128];
    toml_doc *doc = (toml_doc *)1;

    snprintf(path, sizeof path, "%s/missing.toml", f->dir);
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_ERR_IO);
    assert_null(doc);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    assert_string_equal(err, want);

    assert_int_equal(toml_parse_file(f->dir, &doc, err, sizeof err), TOML_ERR_IO);
    snprintf(want, sizeof want, "%s: is a directory", f->dir);
    assert_string_equal(err, want);

    snprintf(path, sizeof path, "%s/file", f->dir);
    write_text(path, "a = 1\n", 6);
    snprintf(path, sizeof path, "%s/file/below.toml", f->dir); /* a file used as a directory */
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_ERR_IO);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOTDIR));
    assert_string_equal(err, want);

    snprintf(path, sizeof path, "%s/big.toml", f->dir);
    size_t n = TOML_MAX_INPUT + 10;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, '#', n);
    write_text(path, text, n);
    free(text);
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_ERR_TOO_LARGE);
    assert_null(doc);
    snprintf(want, sizeof want, "%s: larger than 1048576 bytes", path);
    assert_string_equal(err, want);

    assert_int_equal(toml_parse_file(NULL, &doc, err, sizeof err), TOML_ERR_IO);
    assert_null(doc);
}

static void test_parse_file_unreadable(void **state)
{
    file_fixture *f = *state;
    char path[PATH_MAX + 32], want[PATH_MAX + 128], err[PATH_MAX + 128];
    toml_doc *doc = (toml_doc *)1;
    if (geteuid() == 0)
        skip(); /* root reads anything */
    snprintf(path, sizeof path, "%s/secret.toml", f->dir);
    write_text(path, "a = 1\n", 6);
    assert_int_equal(chmod(path, 0), 0);
    assert_int_equal(toml_parse_file(path, &doc, err, sizeof err), TOML_ERR_IO);
    snprintf(want, sizeof want, "%s: %s", path, strerror(EACCES));
    assert_string_equal(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_integer_errors),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_float_errors),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_basic_strings),
        cmocka_unit_test(test_unicode_escapes),
        cmocka_unit_test(test_escape_errors),
        cmocka_unit_test(test_string_errors),
        cmocka_unit_test(test_nul_byte_rejected),
        cmocka_unit_test(test_literal_strings),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_multiline_arrays),
        cmocka_unit_test(test_array_errors),
        cmocka_unit_test(test_array_nesting_limit),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_tables),
        cmocka_unit_test(test_tables_allowed_orders),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_trailing_garbage),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_many_keys_linear),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_input_too_large),
        cmocka_unit_test(test_key_length_limit),
        cmocka_unit_test(test_long_number),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_names_and_null_safety),
        cmocka_unit_test(test_error_buffer_optional),
        cmocka_unit_test_setup_teardown(test_parse_file_ok, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_parse_file_messages, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(test_parse_file_missing_dir_large, file_setup,
                                        file_teardown),
        cmocka_unit_test_setup_teardown(test_parse_file_unreadable, file_setup, file_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
