/* wav_check: catches WAV files cut short. FFmpeg clamps a WAV's duration to
 * the bytes actually present, so a recording truncated by an interrupted
 * copy would silently decode as a shorter one; the RIFF header still says
 * how much data the writer produced, and that is what we compare against.
 * Streaming writers put a placeholder size (0 or 0xFFFFFFFF) in the header;
 * those files are taken as they are. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audio/audio.h"
#include "audio/probe.h"
#include "util/util.h"

#define WAV_MAX_CHUNKS 64 /* chunks before "data" we are willing to skip */
#define WAV_SLACK_BYTES 32768

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Finds the "data" chunk; returns its declared size and file offset of its
 * first byte, or false when the file is not a plain RIFF/WAVE. */
static bool find_data_chunk(FILE *f, uint32_t *size, long *offset)
{
    unsigned char hdr[12], chunk[8];
    if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr || memcmp(hdr, "RIFF", 4) != 0 ||
        memcmp(hdr + 8, "WAVE", 4) != 0)
        return false;
    for (int i = 0; i < WAV_MAX_CHUNKS; i++) {
        if (fread(chunk, 1, sizeof chunk, f) != sizeof chunk)
            return false;
        uint32_t n = le32(chunk + 4);
        if (memcmp(chunk, "data", 4) == 0) {
            *size = n;
            *offset = ftell(f);
            return true;
        }
        if (fseek(f, (long)n + (n & 1), SEEK_CUR) != 0)
            return false;
    }
    return false;
}

int audio__wav_check(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return AUDIO_OK; /* the demuxer already read it; nothing to add */
    uint32_t declared = 0;
    long offset = 0;
    struct stat st;
    int rc = AUDIO_OK;
    if (find_data_chunk(f, &declared, &offset) && fstat(fileno(f), &st) == 0 &&
        declared != 0 && declared != UINT32_MAX) {
        long long present = (long long)st.st_size - offset;
        long long missing = (long long)declared - present;
        /* a little slack: some writers round the size up or pad the end */
        if (missing > WAV_SLACK_BYTES && missing > (long long)declared / 50)
            rc = util_errf(err, errlen, AUDIO_ERR_CORRUPT,
                           "'%s' is truncated: its header declares %u bytes of audio data but "
                           "only %lld are present", path, declared, present < 0 ? 0 : present);
    }
    fclose(f);
    return rc;
}
