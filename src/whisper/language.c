/* language.c: the language a window is decoded in — checking the caller's
 * choice against the model (English-only models know only "en" and cannot
 * translate) and picking the likeliest language token after [sot] when the
 * caller asks for detection.
 */
#include <stdio.h>
#include <string.h>

#include "whisper/decoding.h"

int whisper__best_language(const whisper_special_tokens *sp, const float *logits, int n_vocab)
{
    int best = 0;
    for (int i = 1; i < sp->n_languages && sp->lang_first + i < n_vocab; i++)
        if (logits[sp->lang_first + i] > logits[sp->lang_first + best])
            best = i;
    return best;
}

static bool wants_detection(const char *lang)
{
    return lang == NULL || lang[0] == '\0' || strcmp(lang, "auto") == 0;
}

int whisper__check_language(const whisper_model *m, const whisper_transcribe_params *p,
                            int *lang_index, char *err, size_t errlen)
{
    bool multi = whisper_model_multilingual(m);
    *lang_index = -1;
    if (p->task != WHISPER_TASK_TRANSCRIBE && p->task != WHISPER_TASK_TRANSLATE) {
        snprintf(err, errlen, "whisper: task %d is neither transcribe nor translate", (int)p->task);
        return WHISPER_ERR_INVALID_ARG;
    }
    if (!multi && p->task == WHISPER_TASK_TRANSLATE) {
        snprintf(err, errlen,
                 "whisper: task translate needs a multilingual model; this one is English-only");
        return WHISPER_ERR_INVALID_ARG;
    }
    if (wants_detection(p->language)) {
        *lang_index = multi ? -1 : 0;
        return WHISPER_OK;
    }
    int idx = whisper_language_index(p->language);
    int n_lang = whisper_model_special(m)->n_languages;
    if (idx < 0 || (multi && idx >= n_lang)) {
        snprintf(err, errlen,
                 "whisper: language \"%s\" is unknown to the model (expected a code "
                 "such as \"en\", or \"auto\")",
                 p->language);
        return WHISPER_ERR_INVALID_ARG;
    }
    if (!multi && idx != 0) {
        snprintf(err, errlen,
                 "whisper: language \"%s\" needs a multilingual model; this one is English-only",
                 p->language);
        return WHISPER_ERR_INVALID_ARG;
    }
    *lang_index = idx;
    return WHISPER_OK;
}
