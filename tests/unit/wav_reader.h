/* wav_reader: reads the 16 kHz mono 16-bit PCM WAV clips of Debian's
 * pocketsphinx-testdata into float samples, for the unit tests of the ASR
 * engines. Include after <cmocka.h>: a file that is not such a WAV fails
 * the calling test. */
#ifndef CESAR_TEST_WAV_READER_H
#define CESAR_TEST_WAV_READER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t wav_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Reads a 16 kHz mono 16-bit PCM WAV by walking its chunks. */
static inline float *read_wav(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (is pocketsphinx-testdata installed?)", path);
    unsigned char hdr[12];
    assert_int_equal(fread(hdr, 1, 12, f), 12);
    assert_memory_equal(hdr, "RIFF", 4);
    assert_memory_equal(hdr + 8, "WAVE", 4);
    float *out = NULL;
    for (;;) {
        unsigned char ch[8];
        if (fread(ch, 1, 8, f) != 8)
            fail_msg("%s: no data chunk", path);
        uint32_t size = wav_le32(ch + 4);
        if (memcmp(ch, "fmt ", 4) == 0) {
            unsigned char fmt[16];
            assert_true(size >= 16);
            assert_int_equal(fread(fmt, 1, 16, f), 16);
            assert_int_equal(fmt[0] | fmt[1] << 8, 1); /* PCM */
            assert_int_equal(fmt[2] | fmt[3] << 8, 1); /* mono */
            assert_int_equal(wav_le32(fmt + 4), 16000);
            assert_int_equal(fmt[14] | fmt[15] << 8, 16); /* bits */
            fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR);
        } else if (memcmp(ch, "data", 4) == 0) {
            *n = size / 2;
            out = malloc(*n * sizeof *out);
            unsigned char *raw = malloc(size);
            assert_non_null(out);
            assert_non_null(raw);
            assert_int_equal(fread(raw, 1, size, f), size);
            for (size_t i = 0; i < *n; i++)
                out[i] = (float)(int16_t)(raw[2 * i] | raw[2 * i + 1] << 8) / 32768.0f;
            free(raw);
            break;
        } else {
            fseek(f, (long)(size + (size & 1)), SEEK_CUR);
        }
    }
    fclose(f);
    return out;
}

#endif
