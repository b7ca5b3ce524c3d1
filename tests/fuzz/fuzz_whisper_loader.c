/* fuzz_whisper_loader: a libFuzzer driver for the ggml Whisper model loader.
 * Model files come from users and downloads, so whisper__model_load_memory
 * must reject any damaged file with a message — never crash, leak or read
 * outside the input. On success it checks what the loader promises: every
 * tensor present with data of exactly its byte size (the first and last
 * byte are read, so ASan sees any overrun), f32/f16 data aligned, and the
 * vocabulary usable (tokenize a sentence, decode it back).
 *
 * Not built by CMake as a fuzzer (every build replays the seeds in
 * tests/fuzz/seeds/whisper_loader). bench/fuzz_whisper_loader.sh builds it
 * with clang, libFuzzer, ASan and UBSan and runs it for N seconds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "whisper/loader.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

static volatile uint8_t sink;

static void check_model(whisper_model *m)
{
    size_t n = whisper__tensor_slot_count(m);
    for (size_t i = 0; i < n; i++) {
        const whisper__tensor *t = whisper__tensor_slot(m, i);
        if (!t)
            continue;
        check(t->data != NULL && t->name != NULL && t->nbytes > 0);
        check(t->nbytes == whisper__row_size(t->type, t->ne[0]) * (size_t)(t->ne[1] * t->ne[2]));
        if (t->type == WHISPER__F32)
            check((uintptr_t)t->data % 4 == 0);
        if (t->type == WHISPER__F16)
            check((uintptr_t)t->data % 2 == 0);
        const uint8_t *p = t->data;
        sink ^= p[0];
        sink ^= p[t->nbytes - 1];
    }
    int ids[64];
    int k = whisper_tokenize(m, "Hello, world! It's 2024 \xc3\xa9t\xc3\xa9  \n ok", ids, 64);
    check(k >= 0);
    char text[512];
    size_t needed = 0;
    if (k <= 64)
        check(whisper_tokens_to_text(m, ids, (size_t)k, text, sizeof text, &needed) == WHISPER_OK ||
              needed >= sizeof text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    whisper_model *m = NULL;
    int rc = whisper__model_load_memory(&m, data, size, "fuzz.bin", err, sizeof err);
    if (rc == WHISPER_OK) {
        check(m != NULL);
        check_model(m);
        whisper_model_free(m);
    } else {
        check(m == NULL);
        check(strncmp(err, "fuzz.bin: ", 10) == 0);
    }
    return 0;
}
