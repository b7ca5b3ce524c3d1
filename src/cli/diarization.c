/* diarization: the diarization settings `cesar transcribe` and `cesar
 * diarize` take from the configuration alike — which engine, and where the
 * pyannote engine finds (or fetches) its weights. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/speakers.h"
#include "util/util.h"

int cli_check_diarization_engine(const char *engine, char *err, size_t errlen)
{
    if (diarize_engine_known(engine))
        return CLI_EXIT_OK;
    char names[128];
    diarize_engine_list(names, sizeof names);
    return util_errf(err, errlen, CLI_EXIT_USAGE,
                     "unknown diarization engine '%s' (--diarization-engine or the "
                     "diarization_engine key; available: %s)",
                     engine ? engine : "", names);
}

void cli_diarization_settings(const char *engine, const char *models_dir, const char *data_dir,
                              const char *hub_url, bool hub_allow_insecure, const char *hf_token,
                              int step_ms, const char *precision, diarize_params *dp)
{
    dp->engine = engine;
    dp->models_dir = models_dir;
    dp->data_dir = data_dir;
    dp->hub_url = hub_url;
    dp->hub_allow_insecure = hub_allow_insecure;
    dp->hf_token = hf_token;
    dp->step_seconds = step_ms / 1000.0;
    dp->fast = precision && strcmp(precision, "fast") == 0;
}
