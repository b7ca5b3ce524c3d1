/* output_check: decides, before any audio is decoded, whether the transcript
 * can be written where the user asked — so a typo in -o fails in
 * milliseconds, not after an hour of transcription. Internal to the CLI.
 */
#ifndef CESAR_CLI_OUTPUT_CHECK_H
#define CESAR_CLI_OUTPUT_CHECK_H

#include <stddef.h>

/* Returns 0 when output can be written, else CLI_EXIT_USAGE (output names
 * the input file or a directory) or CLI_EXIT_FAILURE (not writable), with a
 * message naming the path in err. Creates nothing. */
int cli_output_check(const char *input, const char *output, char *err, size_t errlen);

#endif
