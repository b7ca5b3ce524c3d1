/* languages: Whisper's language codes in token order. Language token i is
 * special.lang_first + i, so the order here is part of the model format and
 * must match the reference tokenizer's LANGUAGES table exactly (the first 99
 * for the original multilingual models, "yue" added as the 100th by
 * large-v3). */
#include <string.h>

#include "whisper/whisper.h"

static const char *const whisper_languages[] = {
    "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar",
    "sv", "it", "id", "hi", "fi", "vi", "he", "uk", "el", "ms", "cs", "ro", "da", "hu",
    "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk", "te", "fa",
    "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn",
    "bs", "kk", "sq", "sw", "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc",
    "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo", "ht", "ps", "tk", "nn",
    "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw",
    "su", "yue",
};

#define WHISPER_N_LANGUAGES ((int)(sizeof whisper_languages / sizeof whisper_languages[0]))

const char *whisper_language_code(int index)
{
    if (index < 0 || index >= WHISPER_N_LANGUAGES)
        return NULL;
    return whisper_languages[index];
}

int whisper_language_index(const char *code)
{
    if (!code)
        return -1;
    for (int i = 0; i < WHISPER_N_LANGUAGES; i++)
        if (strcmp(whisper_languages[i], code) == 0)
            return i;
    return -1;
}
