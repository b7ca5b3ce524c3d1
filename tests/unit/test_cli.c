/* Unit tests for the CLI's pure parts: time parsing, the progress bar line,
 * the speaker-count options and their resolution against the configuration,
 * the sums the diarize summary prints, the RTTM file id, and the option
 * parsing of `cesar transcribe` and `cesar diarize` (against built-in
 * defaults: the config file and CESAR_* variables are moved out of the way). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/diarize_args.h"
#include "cli/speakers.h"
#include "cli/transcribe_args.h"

static void assert_time(const char *text, double expected)
{
    double v = -12345;
    assert_true(cli_parse_time(text, &v));
    assert_float_equal(v, expected, 1e-9);
}

static void test_parse_seconds(void **state)
{
    (void)state;
    assert_time("0", 0);
    assert_time("90", 90);
    assert_time("12.5", 12.5);
    assert_time(".5", 0.5);
    assert_time("-3", -3); /* parsed; the caller rejects it with the option's name */
}

static void test_parse_clock(void **state)
{
    (void)state;
    assert_time("1:30", 90);
    assert_time("01:02:03.5", 3723.5);
    assert_time("0:03.5", 3.5);
    assert_time("10:00:00", 36000);
    assert_time("-1:00", -60);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    double v;
    const char *bad[] = {"", "abc", "1:", ":30", "1:60", "1:2:3:4", "1.5:00", "12s",
                         "1e3", "inf", "nan", " 5", "5 ", "--5", "1:-5", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cli_parse_time(bad[i], &v))
            fail_msg("accepted '%s' as %f", bad[i], v);
    }
    assert_false(cli_parse_time(NULL, &v));
}

static void test_progress_line(void **state)
{
    (void)state;
    char line[256];
    cli_progress_render(line, sizeof line, 80, "Transcribing", 0.5, 10);
    assert_non_null(strstr(line, " 50%"));
    assert_non_null(strstr(line, "00:10 elapsed"));
    assert_non_null(strstr(line, "ETA 00:10"));
    assert_true(strlen(line) <= 80);
    /* half the bar filled */
    const char *open = strchr(line, '['), *close = strchr(line, ']');
    assert_non_null(open);
    assert_non_null(close);
    size_t hashes = 0, width = (size_t)(close - open - 1);
    for (const char *p = open + 1; p < close; p++)
        hashes += *p == '#';
    assert_true(hashes * 2 >= width - 1 && hashes * 2 <= width + 1);
}

static void test_progress_edges(void **state)
{
    (void)state;
    char line[256];
    cli_progress_render(line, sizeof line, 80, "Loading", 0.0, 1);
    assert_non_null(strstr(line, "  0%"));
    assert_null(strstr(line, "ETA"));
    cli_progress_render(line, sizeof line, 80, "Transcribing", 1.7, 30);
    assert_non_null(strstr(line, "100%"));
    assert_non_null(strstr(line, "ETA 00:00"));
    cli_progress_render(line, sizeof line, 80, "Transcribing", -1, 5);
    assert_null(strstr(line, "%"));
    /* a narrow terminal still gets a usable, bounded line */
    cli_progress_render(line, sizeof line, 20, "Transcribing", 0.25, 5);
    assert_non_null(strstr(line, "25%"));
    /* a tiny buffer is truncated, never overrun */
    char tiny[12];
    cli_progress_render(tiny, sizeof tiny, 80, "Transcribing", 0.25, 5);
    assert_true(strlen(tiny) < sizeof tiny);
}


/* ---- speaker counts ------------------------------------------------------ */

/* Resolves flags against config bounds 1..8 (the built-in defaults). */
static int resolve(const char *min, const char *max, const char *num, cli_speakers *out,
                   char *err, size_t errlen)
{
    cli_speaker_flags f = {min, max, num};
    return cli_speakers_resolve(&f, 1, 8, out, err, errlen);
}

static void assert_counts(const char *min, const char *max, const char *num, int want_min,
                          int want_max, int want_num)
{
    cli_speakers s;
    char err[256] = "";
    assert_int_equal(resolve(min, max, num, &s, err, sizeof err), CLI_EXIT_OK);
    assert_int_equal(s.min, want_min);
    assert_int_equal(s.max, want_max);
    assert_int_equal(s.num, want_num);
}

/* The call fails with a usage error whose message holds every needle. */
static void assert_rejected(const char *min, const char *max, const char *num,
                            const char *needle1, const char *needle2)
{
    cli_speakers s = {7, 7, 7};
    char err[256] = "";
    assert_int_equal(resolve(min, max, num, &s, err, sizeof err), CLI_EXIT_USAGE);
    assert_non_null(strstr(err, needle1));
    if (needle2)
        assert_non_null(strstr(err, needle2));
    assert_null(strchr(err, '\n'));
    assert_int_equal(s.min, 0); /* zeroed on failure */
    assert_int_equal(s.num, 0);
}

static void test_speakers_valid(void **state)
{
    (void)state;
    assert_counts(NULL, NULL, NULL, 1, 8, 0); /* the configured bounds */
    assert_counts("2", NULL, NULL, 2, 8, 0);
    assert_counts(NULL, "3", NULL, 1, 3, 0);
    assert_counts("2", "5", NULL, 2, 5, 0);
    assert_counts("4", "4", NULL, 4, 4, 0);
    assert_counts("1", "32", NULL, 1, 32, 0);
    assert_counts(NULL, NULL, "3", 3, 3, 3); /* exact count: min = max = num */
    assert_counts("2", "5", "5", 5, 5, 5);
    assert_counts("2", NULL, "2", 2, 2, 2);
    assert_counts("007", NULL, NULL, 7, 8, 0); /* leading zeros are still a number */
}

static void test_speakers_flag_moves_config_bound(void **state)
{
    (void)state;
    /* Only one bound typed, past the configured other one: the flag wins. */
    assert_counts("10", NULL, NULL, 10, 10, 0);
    cli_speakers s;
    char err[256];
    cli_speaker_flags f = {NULL, "2", NULL};
    assert_int_equal(cli_speakers_resolve(&f, 4, 8, &s, err, sizeof err), CLI_EXIT_OK);
    assert_int_equal(s.min, 2);
    assert_int_equal(s.max, 2);
    /* An exact count beyond the configured bounds is fine: it overrides them. */
    assert_counts(NULL, NULL, "20", 20, 20, 20);
    f = (cli_speaker_flags){NULL, NULL, "2"};
    assert_int_equal(cli_speakers_resolve(&f, 4, 8, &s, err, sizeof err), CLI_EXIT_OK);
    assert_int_equal(s.num, 2);
}

static void test_speakers_rejected(void **state)
{
    (void)state;
    assert_rejected("0", NULL, NULL, "--min-speakers", "got 0");
    assert_rejected(NULL, "33", NULL, "--max-speakers", "got 33");
    assert_rejected(NULL, NULL, "-1", "--num-speakers", "got -1");
    assert_rejected(NULL, "99999999999999999999999", NULL, "--max-speakers", "1 to 32");
    assert_rejected("abc", NULL, NULL, "--min-speakers: 'abc' is not a whole number",
                    "1 to 32");
    assert_rejected(NULL, "3x", NULL, "--max-speakers: '3x'", NULL);
    assert_rejected(NULL, " 3", NULL, "--max-speakers: ' 3'", NULL);
    assert_rejected(NULL, "+3", NULL, "--max-speakers: '+3'", NULL);
    assert_rejected(NULL, NULL, "2.5", "--num-speakers: '2.5'", NULL);
    assert_rejected("", NULL, NULL, "--min-speakers: ''", NULL);
    assert_rejected(NULL, NULL, "-", "--num-speakers: '-'", NULL);
    assert_rejected("5", "3", NULL, "--min-speakers 5 is greater than --max-speakers 3",
                    "min <= max");
    assert_rejected("2", "4", "5", "--num-speakers 5 is outside --min-speakers 2 to "
                    "--max-speakers 4", NULL);
    assert_rejected("2", "4", "1", "--num-speakers 1 is outside", NULL);
    assert_rejected(NULL, "4", "6", "--num-speakers 6 is greater than --max-speakers 4", NULL);
    assert_rejected("3", NULL, "2", "--num-speakers 2 is less than --min-speakers 3", NULL);
    /* the first bad value is the one reported */
    assert_rejected("0", "40", NULL, "--min-speakers", NULL);
}

static void test_speaker_option(void **state)
{
    (void)state;
    cli_speaker_flags f = {NULL, NULL, NULL};
    assert_true(cli_speaker_option(&f, CLI_OPT_MIN_SPEAKERS, "2"));
    assert_true(cli_speaker_option(&f, CLI_OPT_MAX_SPEAKERS, "3"));
    assert_true(cli_speaker_option(&f, CLI_OPT_NUM_SPEAKERS, "4"));
    assert_true(cli_speaker_option(&f, CLI_OPT_MIN_SPEAKERS, "1")); /* the last one wins */
    assert_false(cli_speaker_option(&f, 'o', "x"));
    assert_string_equal(f.min, "1");
    assert_string_equal(f.max, "3");
    assert_string_equal(f.num, "4");

    diarize_params p = diarize_default_params();
    cli_speakers s = {2, 5, 0};
    cli_speakers_apply(&s, &p);
    assert_int_equal(p.min_speakers, 2);
    assert_int_equal(p.max_speakers, 5);
    assert_int_equal(p.num_speakers, 0);
    char err[128];
    assert_int_equal(diarize_check_params(&p, err, sizeof err), DIARIZE_OK);
}

static void test_speech_seconds(void **state)
{
    (void)state;
    assert_float_equal(cli_speech_seconds(NULL, 0), 0, 1e-12);
    diarize_turn one[] = {{1.0, 3.5, 0}};
    assert_float_equal(cli_speech_seconds(one, 1), 2.5, 1e-12);
    /* disjoint, overlapping (two at once counts once), nested, touching */
    diarize_turn mix[] = {
        {0.0, 1.0, 0}, {2.0, 4.0, 0}, {3.0, 5.0, 1}, {3.5, 4.5, 2}, {5.0, 6.0, 0},
        {7.0, 7.0, 1}, /* empty: no time */
        {8.0, 9.0, 1},
    };
    assert_float_equal(cli_speech_seconds(mix, sizeof mix / sizeof mix[0]), 1 + 4 + 1,
                       1e-12);
    diarize_turn inside[] = {{0.0, 10.0, 0}, {1.0, 2.0, 1}, {3.0, 4.0, 1}};
    assert_float_equal(cli_speech_seconds(inside, 3), 10, 1e-12);
}

static void test_speaker_count_text(void **state)
{
    (void)state;
    char buf[32];
    cli_speaker_count_text(0, buf, sizeof buf);
    assert_string_equal(buf, "0 speakers");
    cli_speaker_count_text(1, buf, sizeof buf);
    assert_string_equal(buf, "1 speaker");
    cli_speaker_count_text(12, buf, sizeof buf);
    assert_string_equal(buf, "12 speakers");
}

static void test_rttm_file_id(void **state)
{
    (void)state;
    char id[64];
    cli_rttm_file_id("meeting.wav", id, sizeof id);
    assert_string_equal(id, "meeting");
    cli_rttm_file_id("/data/talks/day 1.mp3", id, sizeof id);
    assert_string_equal(id, "day 1");
    cli_rttm_file_id("archive.tar.gz", id, sizeof id);
    assert_string_equal(id, "archive.tar");
    cli_rttm_file_id("dir.d/noext", id, sizeof id);
    assert_string_equal(id, "noext");
    cli_rttm_file_id("hidden/.wav", id, sizeof id);
    assert_string_equal(id, ".wav");
    cli_rttm_file_id("dir/", id, sizeof id);
    assert_string_equal(id, "");
    char small[4];
    cli_rttm_file_id("longname.wav", small, sizeof small);
    assert_string_equal(small, "lon");
}

static void test_time_options(void **state)
{
    (void)state;
    double v = -1;
    char err[256];
    assert_int_equal(cli_parse_time_option("--start-time", "1:30", &v, err, sizeof err),
                     CLI_EXIT_OK);
    assert_float_equal(v, 90, 1e-9);
    assert_int_equal(cli_parse_time_option("--end-time", "x", &v, err, sizeof err),
                     CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "--end-time: 'x' is not a time"));
    assert_int_equal(cli_parse_time_option("--start-time", "-2", &v, err, sizeof err),
                     CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "--start-time must be >= 0 (got -2)"));
    assert_int_equal(cli_parse_minutes_option("--max-duration", "2.5", &v, err, sizeof err),
                     CLI_EXIT_OK);
    assert_float_equal(v, 2.5, 1e-9);
    assert_int_equal(cli_parse_minutes_option("--max-duration", "1:30", &v, err, sizeof err),
                     CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "--max-duration: '1:30' is not a number of minutes"));
    assert_int_equal(cli_parse_minutes_option("--max-duration", "0", &v, err, sizeof err),
                     CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "must be > 0 minutes"));
}

/* ---- command lines ------------------------------------------------------- */

/* Built-in defaults only: no config file (HOME and XDG_CONFIG_HOME point
 * where there is none) and none of the CESAR_* variables. */
static int isolate_config(void **state)
{
    (void)state;
    static const char *const vars[] = {"CESAR_DIARIZE", "CESAR_MIN_SPEAKERS",
                                       "CESAR_MAX_SPEAKERS", "CESAR_FORMAT", "CESAR_ENGINE",
                                       "CESAR_THREADS", "CESAR_LANGUAGE", "CESAR_MODEL"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("XDG_CONFIG_HOME", CESAR_BINARY_DIR "/no-such-config-dir", 1);
    setenv("HOME", CESAR_BINARY_DIR "/no-such-home", 1);
    return 0;
}

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static void test_transcribe_diarize_flags(void **state)
{
    (void)state;
    cli_transcribe_args a;
    char err[512] = "";

    char *plain[] = {"transcribe", "in.wav", NULL};
    assert_int_equal(cli_transcribe_args_parse(ARGC(plain), plain, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_true(a.diarize); /* on by default */
    assert_int_equal(a.speakers.min, 1);
    assert_int_equal(a.speakers.max, 8);
    assert_int_equal(a.speakers.num, 0);
    cli_transcribe_args_clear(&a);

    char *off[] = {"transcribe", "--no-diarize", "in.wav", "-o", "x.md", NULL};
    assert_int_equal(cli_transcribe_args_parse(ARGC(off), off, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_false(a.diarize);
    assert_int_equal(a.format, FORMAT_MD);
    cli_transcribe_args_clear(&a);

    char *on_again[] = {"transcribe", "--no-diarize", "--diarize", "in.wav",
                        "--min-speakers", "2", "--max-speakers=4", NULL};
    assert_int_equal(cli_transcribe_args_parse(ARGC(on_again), on_again, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_true(a.diarize);
    assert_int_equal(a.speakers.min, 2);
    assert_int_equal(a.speakers.max, 4);
    cli_transcribe_args_clear(&a);

    char *num[] = {"transcribe", "in.wav", "--num-speakers", "3", NULL};
    assert_int_equal(cli_transcribe_args_parse(ARGC(num), num, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_int_equal(a.speakers.num, 3);
    cli_transcribe_args_clear(&a);

    /* Counts are checked even when diarization is off. */
    char *bad[] = {"transcribe", "in.wav", "--no-diarize", "--max-speakers", "33", NULL};
    assert_int_equal(cli_transcribe_args_parse(ARGC(bad), bad, &a, err, sizeof err),
                     CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "--max-speakers"));
    assert_non_null(strstr(err, "33"));
    cli_transcribe_args_clear(&a);

    char *no_value[] = {"transcribe", "in.wav", "--min-speakers", NULL};
    assert_int_equal(cli_transcribe_args_parse(ARGC(no_value), no_value, &a, err, sizeof err),
                     CLI_EXIT_USAGE);
    assert_non_null(strstr(err, "--min-speakers"));
    assert_non_null(strstr(err, "needs a value"));
    cli_transcribe_args_clear(&a);

    /* The config key is the default; the environment sets it. */
    setenv("CESAR_DIARIZE", "false", 1);
    assert_int_equal(cli_transcribe_args_parse(ARGC(plain), plain, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_false(a.diarize);
    cli_transcribe_args_clear(&a);
    unsetenv("CESAR_DIARIZE");
}

static void test_diarize_args(void **state)
{
    (void)state;
    cli_diarize_args a;
    char err[512] = "";

    char *plain[] = {"diarize", "talk.wav", NULL};
    assert_int_equal(cli_diarize_args_parse(ARGC(plain), plain, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_string_equal(a.input, "talk.wav");
    assert_null(a.output);
    assert_int_equal(a.verbosity, 0);
    assert_int_equal(a.speakers.min, 1);
    assert_int_equal(a.speakers.max, 8);
    cli_diarize_args_clear(&a);

    char *full[] = {"diarize", "-q", "talk.wav", "-o", "out/t.rttm", "--num-speakers", "2",
                    "--start-time", "1:00", "--end-time", "90", "-t", "2", NULL};
    assert_int_equal(cli_diarize_args_parse(ARGC(full), full, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_string_equal(a.output, "out/t.rttm");
    assert_int_equal(a.verbosity, -1);
    assert_int_equal(a.speakers.num, 2);
    assert_float_equal(a.window.start, 60, 1e-9);
    assert_float_equal(a.window.end, 90, 1e-9);
    assert_int_equal(config_get(a.cfg)->threads, 2);
    cli_diarize_args_clear(&a);

    char *help[] = {"diarize", "--help", NULL};
    assert_int_equal(cli_diarize_args_parse(ARGC(help), help, &a, err, sizeof err),
                     CLI_EXIT_OK);
    assert_true(a.help);
    cli_diarize_args_clear(&a);

    struct {
        char *argv[8];
        const char *needle;
    } bad[] = {
        {{"diarize", NULL}, "no input file given"},
        {{"diarize", "a.wav", "b.wav", NULL}, "expected one input file, got 'a.wav' and 'b.wav'"},
        {{"diarize", "a.wav", "--min-speakers", "6", "--max-speakers", "2", NULL},
         "--min-speakers 6 is greater than --max-speakers 2"},
        {{"diarize", "a.wav", "--num-speakers", "zero", NULL}, "--num-speakers: 'zero'"},
        {{"diarize", "a.wav", "--format", "md", NULL}, "unknown option '--format'"},
        {{"diarize", "a.wav", "-x", NULL}, "unknown option '-x'"},
        {{"diarize", "a.wav", "-o", NULL}, "option '-o' needs a value"},
        {{"diarize", "a.wav", "--start-time", "later", NULL}, "--start-time: 'later'"},
        {{"diarize", "a.wav", "--threads", "many", NULL}, "threads"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = 0;
        while (bad[i].argv[argc])
            argc++;
        err[0] = '\0';
        assert_int_equal(cli_diarize_args_parse(argc, bad[i].argv, &a, err, sizeof err),
                         CLI_EXIT_USAGE);
        if (!strstr(err, bad[i].needle))
            fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].needle);
        cli_diarize_args_clear(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_seconds),  cmocka_unit_test(test_parse_clock),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_progress_line),  cmocka_unit_test(test_progress_edges),
        cmocka_unit_test(test_speakers_valid),
        cmocka_unit_test(test_speakers_flag_moves_config_bound),
        cmocka_unit_test(test_speakers_rejected),
        cmocka_unit_test(test_speaker_option),
        cmocka_unit_test(test_speech_seconds),
        cmocka_unit_test(test_speaker_count_text),
        cmocka_unit_test(test_rttm_file_id),
        cmocka_unit_test(test_time_options),
        cmocka_unit_test_setup(test_transcribe_diarize_flags, isolate_config),
        cmocka_unit_test_setup(test_diarize_args, isolate_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
