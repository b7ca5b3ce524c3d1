/* cli: the `cesar` command line. A thin layer over the library modules: it
 * parses arguments, resolves configuration, draws progress and maps errors
 * to exit codes. `cesar serve` only wires the server and worker modules
 * together; nothing here is needed by them.
 */
#ifndef CESAR_CLI_H
#define CESAR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config/config.h"

/* Exit codes (documented in README.md). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1      /* runtime failure: bad input file, engine error, I/O */
#define CLI_EXIT_USAGE 2        /* bad command line or configuration */
#define CLI_EXIT_PARTIAL 3      /* transcript written, speaker labels missing */
#define CLI_EXIT_INTERRUPTED 130 /* SIGINT; no output left behind */

/* Subcommands: argv[0] is the subcommand name. Return an exit code. */
int cli_cmd_transcribe(int argc, char **argv);
int cli_cmd_config(int argc, char **argv);
int cli_cmd_wer(int argc, char **argv);
int cli_cmd_der(int argc, char **argv);
int cli_cmd_diarize(int argc, char **argv);
int cli_cmd_serve(int argc, char **argv);
int cli_cmd_models(int argc, char **argv);

/* Builds the configuration every command starts from: defaults < config
 * file (explicit_path, which must exist, or the default path, which need
 * not) < CESAR_* environment. On success *out is owned by the caller (free
 * with config_free) and CLI_EXIT_OK is returned; otherwise *out is NULL and
 * the exit code to use is returned with a message in err. */
int cli_load_config(const char *explicit_path, config **out, char *err, size_t errlen);

/* The value of the last --config PATH / --config=PATH in argv (argv[0] is
 * the subcommand; scanning stops at "--"), or NULL. Borrowed from argv. */
const char *cli_find_config_flag(int argc, char **argv);

/* Prints "cesar: error: <message>" (or "cesar: <message>" for notes) to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "cesar: <message>" to stderr: a problem that did not stop the
 * command, worded by the caller. */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a time given on the command line: seconds ("90", "12.5") or
 * clock form ("1:30", "01:02:03.5"). Negative values parse (so the caller
 * can name the option in its message); garbage does not. Returns false on a
 * malformed value. Pure. */
bool cli_parse_time(const char *text, double *seconds);

/* The time-window options shared by commands (--start-time, --end-time:
 * a time >= 0; --max-duration: minutes > 0). name is the option as typed,
 * for the message. Return CLI_EXIT_OK, or CLI_EXIT_USAGE with a message
 * naming the option and the value in err. Pure. */
int cli_parse_time_option(const char *name, const char *text, double *out, char *err,
                          size_t errlen);
int cli_parse_minutes_option(const char *name, const char *text, double *out, char *err,
                             size_t errlen);

/* Renders one progress-bar line into buf (capacity n), at most `width`
 * columns: "label [#####.....]  42%  00:12 elapsed, ETA 00:17".
 * fraction < 0 means unknown (no ETA, spinner-free bar). Pure. */
void cli_progress_render(char *buf, size_t n, int width, const char *label,
                         double fraction, double elapsed_seconds);

/* Writes a few lines about the machine (CPU model, cores, OS) to f. */
void cli_print_system_info(FILE *f);

#endif
