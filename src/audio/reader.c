/* reader: audio_open / audio_read / audio_close — FFmpeg demuxing, decoding
 * and resampling to 16 kHz mono float, streamed.
 *
 * Data flow: av_read_frame -> avcodec_send_packet / receive_frame -> swr ->
 * a FIFO of converted floats -> the caller's buffer. The FIFO is refilled only
 * when it is empty, so it holds at most one frame's worth of output and memory
 * does not grow with the length of the file.
 *
 * Timing invariant: the k-th sample kept (k from 0) is at source time
 * start_used + k / AUDIO_SAMPLE_RATE. The first decoded frame's timestamp
 * fixes start_used and how many samples to drop to reach the window start;
 * after that samples are counted rather than timestamps trusted, so the window
 * end is exact to the sample. Source time is measured from the container's
 * start time, as players and the ffmpeg tool do.
 *
 * Errors found while decoding are kept on the reader ("sticky"): every later
 * audio_read repeats them, and samples decoded before the error are still
 * delivered first.
 */
#include "audio/audio.h"
#include "audio/probe.h"
#include "util/util.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Real frames convert to a few thousand output samples. A frame claiming more
 * than this (131 s at 16 kHz) is a broken stream, and the cap keeps such a
 * file from driving the FIFO to gigabytes. */
#define FIFO_MAX_SAMPLES ((size_t)1 << 21)

/* receive_frame failures in a row, with no frame decoded and no packet fed in
 * between, before we call the stream broken; guards against a decoder that
 * keeps failing without consuming input. */
#define MAX_ERRORS_IN_ROW 100

/* A first frame this close to the requested start counts as on time: mkv and
 * webm store milliseconds, so their timestamps are rounded to 1 ms. */
#define START_SLACK_SECONDS 0.0005

/* How far before the window start we seek. Decoders need some input before
 * their output is right again (mp3's bit reservoir, the MDCT overlap of aac and
 * vorbis, opus's 80 ms pre-roll); the extra is decoded and dropped. */
#define PREROLL_SECONDS 0.5

/* Internal results of pull(), kept apart from the (positive) audio_err codes. */
#define PULL_END (-1)  /* the window or the stream is exhausted */
#define PULL_SKIP (-2) /* the frame was dropped; carry on */

/* How much shorter than declared a stream may end before it counts as
 * truncated: codec padding and rounding account for a few frames. */
#define TRUNCATION_MIN_SECONDS 1.0
#define TRUNCATION_MIN_FRACTION 0.02

/* Room for the longest path plus the words around it. */
#define MSG_MAX (PATH_MAX + 256)

struct audio_reader {
    char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int stream; /* index of the audio stream we decode */

    SwrContext *swr;            /* built from the first frame, rebuilt on change */
    AVChannelLayout swr_layout; /* the input parameters swr was built for */
    int swr_format;
    int swr_rate;

    float *fifo; /* converted samples not yet returned */
    size_t fifo_alloc, fifo_pos, fifo_len;

    audio_window window; /* as requested */
    double origin;       /* container start time in seconds: source time 0 */
    double src_duration; /* < 0 when unknown */
    double stream_duration; /* the audio stream's own declared length, < 0 if unknown */
    double start_used;   /* source time of the first kept sample */
    int64_t skip;        /* output samples still to drop before the window */
    int64_t limit;       /* samples to return in all; < 0 = to the end */
    size_t returned;

    bool seeked;  /* we sought to the window start */
    bool rewound; /* already fell back to decoding from the beginning */
    bool synced;  /* start_used, skip and limit are known */
    bool demux_eof, dec_eof, swr_drained, at_end;

    size_t packets;       /* packets of our stream handed to the decoder */
    size_t frames;        /* frames decoded */
    size_t decode_errors; /* packets or frames the decoder rejected */
    int last_error;       /* last FFmpeg error from the decoder */
    int read_error;       /* a non-EOF error that ended demuxing, or 0 */

    int sticky; /* error every later audio_read repeats */
    char sticky_msg[MSG_MAX];
    char desc[160];
};

/* FFmpeg logs to stderr by default; the library must not print, and the CLI
 * reports our own messages instead. Process-wide, hence once. */
static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_ffmpeg(void)
{
    av_log_set_level(AV_LOG_QUIET);
}

/* Records an error on the reader (see "sticky" above) and returns code. */
static int fail(audio_reader *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(audio_reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->sticky_msg, sizeof r->sticky_msg, fmt, ap);
    va_end(ap);
    r->sticky = code;
    return code;
}

static int fail_nomem(audio_reader *r)
{
    return fail(r, AUDIO_ERR_NOMEM, "'%s': out of memory while decoding", r->path);
}

/* "12", "3.5", "192.34": seconds for messages, without trailing zeros. */
static const char *fmt_seconds(double s, char *buf, size_t n)
{
    if (s >= 1e7) { /* a typo'd --start-time: keep the message short */
        snprintf(buf, n, "%g", s);
        return buf;
    }
    snprintf(buf, n, "%.2f", s);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    return buf;
}

/* ---- FIFO of converted samples ---------------------------------------- */

/* Makes room for extra more samples at the tail. */
static int fifo_reserve(audio_reader *r, size_t extra)
{
    if (r->fifo_len == 0)
        r->fifo_pos = 0;
    if (r->fifo_pos + r->fifo_len + extra <= r->fifo_alloc)
        return AUDIO_OK;
    if (r->fifo_pos > 0) {
        memmove(r->fifo, r->fifo + r->fifo_pos, r->fifo_len * sizeof(float));
        r->fifo_pos = 0;
        if (r->fifo_len + extra <= r->fifo_alloc)
            return AUDIO_OK;
    }
    size_t need = r->fifo_len + extra;
    if (need > FIFO_MAX_SAMPLES)
        return fail(r, AUDIO_ERR_CORRUPT, "'%s': a decoded audio frame is implausibly large",
                    r->path);
    size_t alloc = r->fifo_alloc ? r->fifo_alloc : 4096;
    while (alloc < need)
        alloc *= 2;
    float *p = realloc(r->fifo, alloc * sizeof(float));
    if (!p)
        return fail_nomem(r);
    r->fifo = p;
    r->fifo_alloc = alloc;
    return AUDIO_OK;
}

/* Accounts for n samples just written at the tail, dropping those that still
 * lie before the window start. While skip > 0 nothing has been kept yet, so
 * the dropped samples are always at the front. */
static void fifo_added(audio_reader *r, size_t n)
{
    r->fifo_len += n;
    if (r->skip > 0) {
        size_t d = r->fifo_len < (size_t)r->skip ? r->fifo_len : (size_t)r->skip;
        r->fifo_pos += d;
        r->fifo_len -= d;
        r->skip -= (int64_t)d;
    }
}

/* ---- resampling ------------------------------------------------------- */

/* Runs in_n input samples (NULL/0 to flush) through swr into the FIFO. */
static int convert(audio_reader *r, const uint8_t **in, int in_n, int *produced)
{
    *produced = 0;
    int cap = swr_get_out_samples(r->swr, in_n);
    if (cap < 0)
        return fail(r, AUDIO_ERR_CORRUPT, "'%s': resampling failed (%s)", r->path, av_err2str(cap));
    if (cap == 0)
        return AUDIO_OK;
    int rc = fifo_reserve(r, (size_t)cap);
    if (rc != AUDIO_OK)
        return rc;
    uint8_t *out = (uint8_t *)(r->fifo + r->fifo_pos + r->fifo_len);
    int n = swr_convert(r->swr, &out, cap, in, in_n);
    if (n < 0)
        return fail(r, AUDIO_ERR_CORRUPT, "'%s': resampling failed (%s)", r->path, av_err2str(n));
    fifo_added(r, (size_t)n);
    *produced = n;
    return AUDIO_OK;
}

/* Pushes out what the resampler still holds (its filter delay). */
static int swr_drain(audio_reader *r)
{
    int produced = 1;
    while (r->swr && produced > 0) {
        int rc = convert(r, NULL, 0, &produced);
        if (rc != AUDIO_OK)
            return rc;
    }
    return AUDIO_OK;
}

/* Ensures swr converts frames shaped like f. Decoders may change rate or
 * layout mid-stream (HE-AAC, concatenated mp3s), so this is checked per
 * frame; a change drains the old resampler before replacing it. */
static int swr_setup(audio_reader *r, const AVFrame *f)
{
    if (r->swr && f->format == r->swr_format && f->sample_rate == r->swr_rate &&
        av_channel_layout_compare(&f->ch_layout, &r->swr_layout) == 0)
        return AUDIO_OK;
    if (f->sample_rate <= 0 || f->ch_layout.nb_channels <= 0)
        return PULL_SKIP;
    int rc = swr_drain(r);
    if (rc != AUDIO_OK)
        return rc;
    swr_free(&r->swr);
    av_channel_layout_uninit(&r->swr_layout);

    /* With only a channel count, swr cannot build a downmix matrix; assume
     * the usual layout for that many channels, as the ffmpeg tool does. */
    AVChannelLayout in = {0};
    int ret;
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(&in, f->ch_layout.nb_channels);
        ret = 0;
    } else {
        ret = av_channel_layout_copy(&in, &f->ch_layout);
    }
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    if (ret >= 0)
        ret = swr_alloc_set_opts2(&r->swr, &mono, AV_SAMPLE_FMT_FLT, AUDIO_SAMPLE_RATE, &in,
                                  (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    /* swr sums channels for float output unless given a maximum; with one,
     * it scales the matrix so a full-scale stereo source stays in [-1, 1]. */
    if (ret >= 0)
        ret = av_opt_set_double(r->swr, "rematrix_maxval", 1.0, 0);
    if (ret >= 0)
        ret = swr_init(r->swr);
    av_channel_layout_uninit(&in);
    if (ret >= 0)
        ret = av_channel_layout_copy(&r->swr_layout, &f->ch_layout);
    if (ret < 0) {
        swr_free(&r->swr);
        if (ret == AVERROR(ENOMEM))
            return fail_nomem(r);
        return fail(r, AUDIO_ERR_CORRUPT, "'%s': cannot convert its %d-channel audio at %d Hz (%s)",
                    r->path, f->ch_layout.nb_channels, f->sample_rate, av_err2str(ret));
    }
    r->swr_format = f->format;
    r->swr_rate = f->sample_rate;
    return AUDIO_OK;
}

/* ---- position --------------------------------------------------------- */

/* Seeks so that decoding resumes at or before source time `seconds`, and
 * resets everything that belonged to the old position. Returns FFmpeg's
 * result (< 0: the seek failed and nothing was changed). */
static int seek_to(audio_reader *r, double seconds)
{
    if (!(r->origin + seconds < 9e12)) /* beyond int64 microseconds */
        return AVERROR(ERANGE);
    int64_t ts = (int64_t)llround((r->origin + seconds) * AV_TIME_BASE);
    /* max_ts = ts: land at or before the target; samples up to it are then
     * decoded and dropped, which is exact where the seek alone is not. */
    int ret = avformat_seek_file(r->fmt, -1, INT64_MIN, ts, ts, 0);
    if (ret < 0)
        return ret;
    avcodec_flush_buffers(r->dec);
    swr_free(&r->swr);
    r->fifo_pos = r->fifo_len = 0;
    r->demux_eof = r->dec_eof = r->swr_drained = false;
    r->synced = false;
    return 0;
}

/* Fixes the window from the first frame's timestamp. Returns PULL_SKIP when
 * the frame was discarded because decoding restarted from the beginning. */
static int sync_start(audio_reader *r, const AVFrame *f)
{
    double start = r->window.start;
    int64_t ts = f->best_effort_timestamp;
    bool known = ts != AV_NOPTS_VALUE;
    double t0 = known ? ts * av_q2d(r->fmt->streams[r->stream]->time_base) - r->origin : 0.0;

    if (r->seeked && !r->rewound && (!known || t0 > start + START_SLACK_SECONDS)) {
        /* The seek overshot, or left us without timestamps: decode from the
         * beginning and drop instead, slower but exact. */
        r->rewound = true;
        if (seek_to(r, 0.0) >= 0) {
            r->seeked = false;
            return PULL_SKIP;
        }
    }
    if (!known)
        t0 = r->seeked ? start : 0.0;
    if (fabs(t0 - start) < START_SLACK_SECONDS)
        t0 = start;
    double lead = (start - t0) * AUDIO_SAMPLE_RATE;
    /* Beyond int64 range nothing can be reached anyway: drop everything. */
    r->skip = lead <= 0 ? 0 : lead < 9e18 ? llround(lead) : INT64_MAX;
    r->start_used = t0 + (double)r->skip / AUDIO_SAMPLE_RATE;
    /* Within a sample of the requested start, report and count the window
     * from the request itself, so [0.3, 2.7] is 38400 samples, not one
     * either side. */
    double from = fabs(r->start_used - start) * AUDIO_SAMPLE_RATE < 1.0 ? start : r->start_used;
    r->start_used = from;
    r->limit = -1;
    if (r->window.end >= 0) {
        double span = (r->window.end - from) * AUDIO_SAMPLE_RATE;
        if (span <= 0)
            r->limit = 0;
        else if (span < 1e18) /* beyond that, "to the end" in practice */
            r->limit = llround(span);
    }
    r->synced = true;
    return AUDIO_OK;
}

/* ---- decoding --------------------------------------------------------- */

/* Reads one packet and hands it to the decoder if it is ours. A packet the
 * decoder rejects is counted and skipped, as the ffmpeg tool does. */
static int feed(audio_reader *r)
{
    int ret = av_read_frame(r->fmt, r->pkt);
    if (ret < 0) {
        if (ret == AVERROR(ENOMEM))
            return fail_nomem(r);
        if (ret != AVERROR_EOF)
            r->read_error = ret;
        r->demux_eof = true;
        /* Draining mode: the decoder returns its buffered frames, then EOF. */
        avcodec_send_packet(r->dec, NULL);
        return AUDIO_OK;
    }
    if (r->pkt->stream_index == r->stream) {
        r->packets++;
        ret = avcodec_send_packet(r->dec, r->pkt);
        if (ret == AVERROR(ENOMEM)) {
            av_packet_unref(r->pkt);
            return fail_nomem(r);
        }
        if (ret < 0) {
            r->decode_errors++;
            r->last_error = ret;
        }
    }
    av_packet_unref(r->pkt);
    return AUDIO_OK;
}

/* Converts the frame in r->frame into the FIFO. */
static int take_frame(audio_reader *r)
{
    AVFrame *f = r->frame;
    int rc = AUDIO_OK;
    int produced;
    if (f->nb_samples <= 0)
        goto out;
    if (!r->synced && (rc = sync_start(r, f)) != AUDIO_OK)
        goto out;
    rc = swr_setup(r, f);
    if (rc == PULL_SKIP) {
        r->decode_errors++;
        r->last_error = AVERROR_INVALIDDATA;
    }
    if (rc != AUDIO_OK)
        goto out;
    rc = convert(r, (const uint8_t **)f->extended_data, f->nb_samples, &produced);
    r->frames++;
out:
    av_frame_unref(f);
    return rc == PULL_SKIP ? AUDIO_OK : rc;
}

/* Decodes until the FIFO holds samples. Returns AUDIO_OK (FIFO non-empty),
 * PULL_END (nothing more), or an error recorded on the reader. */
static int pull(audio_reader *r)
{
    int errors_in_row = 0;
    while (r->fifo_len == 0) {
        int rc;
        if (!r->dec_eof) {
            int ret = avcodec_receive_frame(r->dec, r->frame);
            if (ret == 0) {
                errors_in_row = 0;
                if ((rc = take_frame(r)) != AUDIO_OK)
                    return rc;
            } else if (ret == AVERROR_EOF) {
                r->dec_eof = true;
            } else if (ret == AVERROR(EAGAIN)) {
                /* A decoder that wants input after the flush packet will
                 * never produce more; stop rather than spin. */
                if (r->demux_eof)
                    r->dec_eof = true;
                else if ((rc = feed(r)) != AUDIO_OK)
                    return rc;
                errors_in_row = 0;
            } else if (ret == AVERROR(ENOMEM)) {
                return fail_nomem(r);
            } else {
                r->decode_errors++;
                r->last_error = ret;
                if (++errors_in_row > MAX_ERRORS_IN_ROW)
                    return fail(r, AUDIO_ERR_CORRUPT, "'%s': the audio stream is broken (%s)",
                                r->path, av_err2str(ret));
            }
            continue;
        }
        if (!r->swr_drained) {
            r->swr_drained = true;
            if ((rc = swr_drain(r)) != AUDIO_OK)
                return rc;
            continue;
        }
        return PULL_END;
    }
    return AUDIO_OK;
}

/* The error for a stream that ended without a single sample kept: why it
 * produced nothing, as precisely as the counters allow. */
static int no_samples(audio_reader *r)
{
    char a[32], b[32];
    double start = r->window.start;
    bool past_end = start > 0 && r->src_duration >= 0 && start >= r->src_duration;
    if (r->frames == 0 && !past_end) {
        if (r->read_error == AVERROR(EIO))
            return fail(r, AUDIO_ERR_IO, "'%s': read error (%s)", r->path,
                        av_err2str(r->read_error));
        if (r->decode_errors > 0)
            return fail(r, AUDIO_ERR_CORRUPT,
                        "'%s' is not decodable audio (%zu of %zu packets failed: %s)", r->path,
                        r->decode_errors, r->packets, av_err2str(r->last_error));
        if (r->packets > 0)
            return fail(r, AUDIO_ERR_CORRUPT,
                        "'%s' is not decodable audio (no frame decoded from %zu packets)", r->path,
                        r->packets);
        if (r->read_error)
            return fail(r, AUDIO_ERR_CORRUPT, "'%s' is not decodable audio (%s)", r->path,
                        av_err2str(r->read_error));
    }
    if (start > 0 && r->src_duration >= 0)
        return fail(r, AUDIO_ERR_NO_SAMPLES,
                    "'%s': no audio in the requested window (starts at %ss, file is %ss long)",
                    r->path, fmt_seconds(start, a, sizeof a),
                    fmt_seconds(r->src_duration, b, sizeof b));
    if (start > 0)
        return fail(r, AUDIO_ERR_NO_SAMPLES,
                    "'%s': no audio in the requested window (starts at %ss)", r->path,
                    fmt_seconds(start, a, sizeof a));
    return fail(r, AUDIO_ERR_NO_SAMPLES, "'%s' contains no audio samples", r->path);
}

/* An audio stream that ends well before the length it declares was cut
 * short (an interrupted download or copy). Only the audio stream's own
 * length counts — a video track may run longer — and only when it is read
 * from headers or timestamps: one guessed from the bitrate (VBR mp3 without
 * an index) is often far off. */
static int check_complete(audio_reader *r)
{
    if (r->stream_duration < 0)
        return AUDIO_OK;
    if (r->fmt->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE)
        return AUDIO_OK;
    double expected_end = r->stream_duration;
    if (r->window.end >= 0 && r->window.end < expected_end)
        expected_end = r->window.end;
    double got_end = r->start_used + (double)r->returned / AUDIO_SAMPLE_RATE;
    double missing = expected_end - got_end;
    if (missing <= TRUNCATION_MIN_SECONDS ||
        missing <= TRUNCATION_MIN_FRACTION * r->stream_duration)
        return AUDIO_OK;
    char a[32], b[32];
    return fail(r, AUDIO_ERR_CORRUPT,
                "'%s' is truncated or corrupt: it declares %ss of audio but the data ends at %ss",
                r->path, fmt_seconds(r->stream_duration, a, sizeof a),
                fmt_seconds(got_end, b, sizeof b));
}

/* ---- opening ---------------------------------------------------------- */

static int open_input(audio_reader *r)
{
    /* "file:" makes FFmpeg read the path as a path, even one containing a
     * colon, and the whitelist keeps playlists inside a file (m3u8, concat)
     * from reaching the network: Cesar is an offline tool. */
    size_t n = strlen(r->path) + sizeof "file:";
    char *url = malloc(n);
    if (!url)
        return fail_nomem(r);
    snprintf(url, n, "file:%s", r->path);
    AVDictionary *opts = NULL;
    int ret = av_dict_set(&opts, "protocol_whitelist", "file", 0);
    if (ret >= 0)
        ret = avformat_open_input(&r->fmt, url, NULL, &opts);
    av_dict_free(&opts);
    free(url);
    if (ret >= 0)
        ret = avformat_find_stream_info(r->fmt, NULL);
    if (ret >= 0)
        return AUDIO_OK;
    if (ret == AVERROR(ENOMEM))
        return fail_nomem(r);
    if (ret == AVERROR(EACCES))
        return fail(r, AUDIO_ERR_PERMISSION, "'%s': permission denied", r->path);
    if (ret == AVERROR(ENOENT))
        return fail(r, AUDIO_ERR_NOT_FOUND, "'%s': no such file", r->path);
    /* EINVAL is what the mp3 demuxer says when a file only matched by its
     * extension; "Invalid argument" would suggest the caller did wrong. EOF
     * here means the file was cut off before its header was complete. */
    const char *why = ret == AVERROR(EINVAL) ? "its header is not valid"
                      : ret == AVERROR_EOF   ? "the file ends inside its header"
                                             : av_err2str(ret);
    return fail(r, AUDIO_ERR_FORMAT, "'%s' is not a recognised audio or video file (%s)", r->path,
                why);
}

/* FFmpeg also reads still images and ANSI art, which have no audio stream by
 * nature; for those "not an audio file" is the truthful message rather than
 * "has no audio stream". Returns what the file is, or NULL for real media. */
static const char *not_media(const AVFormatContext *fmt, char *buf, size_t n)
{
    const char *name = fmt->iformat->name;
    size_t len = strlen(name);
    if (!strcmp(name, "tty") || !strcmp(name, "bin") || !strcmp(name, "xbin") ||
        !strcmp(name, "adf") || !strcmp(name, "idf"))
        return "it looks like text";
    if (!strcmp(name, "image2") || !strcmp(name, "image2pipe") ||
        (len > 5 && !strcmp(name + len - 5, "_pipe"))) {
        if (fmt->nb_streams == 0)
            return "it is an image";
        snprintf(buf, n, "it is a %s image", avcodec_get_name(fmt->streams[0]->codecpar->codec_id));
        return buf;
    }
    return NULL;
}

/* av_find_best_stream skips audio streams whose rate or channel count the
 * probe could not establish. Such a stream may still decode, and if it does
 * not, "not decodable audio" is a better message than "no audio stream". */
static int any_audio_stream(const AVFormatContext *fmt, const AVCodec **codec)
{
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVCodecParameters *par = fmt->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_AUDIO && (*codec = avcodec_find_decoder(par->codec_id)))
            return (int)i;
    }
    return AVERROR_STREAM_NOT_FOUND;
}

static int open_decoder(audio_reader *r)
{
    const AVCodec *codec = NULL;
    int idx = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (idx == AVERROR_DECODER_NOT_FOUND) {
        int any = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
        const AVCodecParameters *par = any >= 0 ? r->fmt->streams[any]->codecpar : NULL;
        if (!par || par->codec_id == AV_CODEC_ID_NONE)
            return fail(r, AUDIO_ERR_FORMAT,
                        "'%s' uses an audio codec FFmpeg does not know (codec tag 0x%04x)", r->path,
                        par ? par->codec_tag : 0u);
        return fail(r, AUDIO_ERR_FORMAT,
                    "'%s' uses the audio codec '%s', which this FFmpeg build cannot decode",
                    r->path, avcodec_get_name(par->codec_id));
    }
    if (idx < 0)
        idx = any_audio_stream(r->fmt, &codec);
    if (idx < 0) {
        char buf[64];
        const char *what = not_media(r->fmt, buf, sizeof buf);
        if (what)
            return fail(r, AUDIO_ERR_FORMAT, "'%s' is not a recognised audio or video file (%s)",
                        r->path, what);
        return fail(r, AUDIO_ERR_NO_AUDIO, "'%s' has no audio stream", r->path);
    }
    r->stream = idx;
    /* The demuxer then skips other streams' packets: video is neither
     * decoded nor parsed. */
    for (unsigned i = 0; i < r->fmt->nb_streams; i++)
        if ((int)i != idx)
            r->fmt->streams[i]->discard = AVDISCARD_ALL;

    AVStream *st = r->fmt->streams[idx];
    r->dec = avcodec_alloc_context3(codec);
    if (!r->dec)
        return fail_nomem(r);
    int ret = avcodec_parameters_to_context(r->dec, st->codecpar);
    if (ret >= 0) {
        /* Lets the decoder apply encoder delay and padding (skip_samples)
         * and give frames timestamps in the stream's time base. */
        r->dec->pkt_timebase = st->time_base;
        ret = avcodec_open2(r->dec, codec, NULL);
    }
    if (ret == AVERROR(ENOMEM))
        return fail_nomem(r);
    if (ret < 0)
        return fail(r, AUDIO_ERR_CORRUPT, "'%s': cannot start the %s decoder (%s)", r->path,
                    codec->name, av_err2str(ret));
    return AUDIO_OK;
}

/* Fills origin, src_duration and desc from what the container says. */
static void read_metadata(audio_reader *r)
{
    const AVStream *st = r->fmt->streams[r->stream];
    const AVCodecParameters *par = st->codecpar;
    /* A negative start time is encoder delay (opus pre-skip in webm) that
     * the decoder trims, so its first sample is at 0, not after it. */
    r->origin = 0.0;
    if (r->fmt->start_time != AV_NOPTS_VALUE && r->fmt->start_time > 0)
        r->origin = r->fmt->start_time / (double)AV_TIME_BASE;
    r->src_duration = -1.0;
    if (r->fmt->duration != AV_NOPTS_VALUE && r->fmt->duration >= 0)
        r->src_duration = r->fmt->duration / (double)AV_TIME_BASE;
    else if (st->duration != AV_NOPTS_VALUE && st->duration >= 0)
        r->src_duration = st->duration * av_q2d(st->time_base);
    r->stream_duration = -1.0;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        r->stream_duration = st->duration * av_q2d(st->time_base);

    /* wav and wma often give only a channel count; name it as we will
     * interpret it (2 -> "stereo"), which is also what the user expects. */
    char layout[64];
    AVChannelLayout named = {0};
    if (par->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&named, par->ch_layout.nb_channels);
    else if (av_channel_layout_copy(&named, &par->ch_layout) < 0)
        named.nb_channels = 0;
    if (named.nb_channels <= 0 || av_channel_layout_describe(&named, layout, sizeof layout) < 0)
        snprintf(layout, sizeof layout, "%d channels", par->ch_layout.nb_channels);
    av_channel_layout_uninit(&named);
    int n = snprintf(r->desc, sizeof r->desc, "%s, %d Hz, %s", avcodec_get_name(par->codec_id),
                     par->sample_rate, layout);
    if (r->src_duration >= 0 && n > 0 && (size_t)n < sizeof r->desc) {
        long long s = llround(r->src_duration);
        snprintf(r->desc + n, sizeof r->desc - (size_t)n, ", %02lld:%02lld:%02lld", s / 3600,
                 s / 60 % 60, s % 60);
    }
}

static bool window_valid(audio_window w)
{
    if (!isfinite(w.start) || w.start < 0 || isnan(w.end))
        return false;
    return w.end < 0 || w.end > w.start;
}

int audio_open(audio_reader **out, const char *path, const audio_params *params, char *err,
               size_t errlen)
{
    audio_params p = params ? *params : audio_default_params();
    audio_reader *r = NULL;
    int rc;
    if (out)
        *out = NULL;
    if (!out)
        return util_errf(err, errlen, AUDIO_ERR_IO, "audio_open: no place to store the reader");
    if (!window_valid(p.window))
        return util_errf(err, errlen, AUDIO_ERR_RANGE, "invalid time window (start %g, end %g)",
                         p.window.start, p.window.end);
    if ((rc = audio__probe_path(path, err, errlen)) != AUDIO_OK)
        return rc;
    pthread_once(&quiet_once, quiet_ffmpeg);

    r = calloc(1, sizeof *r);
    if (!r || !(r->path = util_strdup(path)) || !(r->pkt = av_packet_alloc()) ||
        !(r->frame = av_frame_alloc())) {
        rc = util_errf(err, errlen, AUDIO_ERR_NOMEM, "'%s': out of memory", path);
        goto fail;
    }
    r->window = p.window;
    r->start_used = p.window.start;
    r->limit = -1;
    if ((rc = open_input(r)) != AUDIO_OK || (rc = open_decoder(r)) != AUDIO_OK)
        goto fail_msg;
    if (strcmp(r->fmt->iformat->name, "wav") == 0 &&
        (rc = audio__wav_check(path, err, errlen)) != AUDIO_OK)
        goto fail;
    read_metadata(r);
    /* A failed seek is not an error: we decode from the beginning and drop.
     * Within the pre-roll of the beginning there is nothing to gain. */
    if (r->window.start > PREROLL_SECONDS)
        r->seeked = seek_to(r, r->window.start - PREROLL_SECONDS) >= 0;
    /* Decode up to the first kept sample, so undecodable input and empty
     * windows fail here, before the caller starts expensive work. */
    rc = pull(r);
    if (rc == PULL_END)
        rc = no_samples(r);
    if (rc != AUDIO_OK)
        goto fail_msg;
    *out = r;
    return AUDIO_OK;
fail_msg:
    util_errf(err, errlen, rc, "%s", r->sticky_msg);
fail:
    audio_close(r);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

/* Decoders may overshoot full scale slightly (mp3, aac); the header promises
 * [-1, 1], and NaN from a broken decoder would poison every later stage. */
static void copy_clamped(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = src[i];
        dst[i] = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v == v ? v : 0.0f;
    }
}

int audio_read(audio_reader *r, float *buf, size_t max, size_t *n_read, char *err, size_t errlen)
{
    size_t got = 0;
    int rc = AUDIO_OK;
    if (n_read)
        *n_read = 0;
    if (!r || !n_read || (!buf && max > 0))
        return util_errf(err, errlen, AUDIO_ERR_IO, "audio_read: invalid arguments");
    if (r->sticky)
        return util_errf(err, errlen, r->sticky, "%s", r->sticky_msg);
    while (got < max && !r->at_end) {
        if (r->limit >= 0 && r->returned >= (size_t)r->limit) {
            r->at_end = true;
            break;
        }
        if (r->fifo_len == 0) {
            rc = pull(r);
            if (rc == PULL_END) {
                r->at_end = true;
                rc = r->returned > 0 ? check_complete(r) : AUDIO_OK;
                break;
            }
            if (rc != AUDIO_OK)
                break;
        }
        size_t n = r->fifo_len < max - got ? r->fifo_len : max - got;
        if (r->limit >= 0 && n > (size_t)r->limit - r->returned)
            n = (size_t)r->limit - r->returned;
        copy_clamped(buf + got, r->fifo + r->fifo_pos, n);
        r->fifo_pos += n;
        r->fifo_len -= n;
        r->returned += n;
        got += n;
    }
    /* Deliver what was decoded before an error; the error stays on the
     * reader and the next call reports it. */
    if (rc != AUDIO_OK && got > 0)
        rc = AUDIO_OK;
    if (rc == AUDIO_OK && got == 0 && max > 0 && r->at_end && r->returned == 0)
        rc = no_samples(r);
    *n_read = got;
    if (rc != AUDIO_OK)
        return util_errf(err, errlen, rc, "%s", r->sticky_msg);
    return AUDIO_OK;
}

/* ---- accessors -------------------------------------------------------- */

double audio_expected_duration(const audio_reader *r)
{
    if (!r || r->src_duration < 0)
        return -1.0;
    double end = r->src_duration;
    if (r->window.end >= 0 && r->window.end < end)
        end = r->window.end;
    double d = end - r->start_used;
    return d > 0 ? d : 0.0;
}

double audio_source_duration(const audio_reader *r)
{
    return r ? r->src_duration : -1.0;
}

const char *audio_describe(const audio_reader *r)
{
    return r ? r->desc : "";
}

double audio_window_start(const audio_reader *r)
{
    return r ? r->start_used : 0.0;
}

size_t audio_samples_read(const audio_reader *r)
{
    return r ? r->returned : 0;
}

void audio_close(audio_reader *r)
{
    if (!r)
        return;
    avformat_close_input(&r->fmt);
    avcodec_free_context(&r->dec);
    av_packet_free(&r->pkt);
    av_frame_free(&r->frame);
    swr_free(&r->swr);
    av_channel_layout_uninit(&r->swr_layout);
    free(r->fifo);
    free(r->path);
    free(r);
}
