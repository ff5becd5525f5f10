/* The decompressors an initramfs may use: gzip (zlib), zstd, xz (liblzma), lz4.
 * The init helpers wrap macros Swift cannot import. */
#include <zlib.h>
#include <zstd.h>
#include <lzma.h>
#include <lz4.h>
#include <string.h>

/* inflateInit2 for gzip streams only (16 + the largest window). */
static inline int ra_gzip_init(z_stream *s) {
    memset(s, 0, sizeof *s);
    return inflateInit2(s, 16 + 15);
}

/* One .xz stream (not concatenated: the caller wants to know where it ends). */
static inline lzma_ret ra_xz_init(lzma_stream *s, uint64_t memlimit) {
    lzma_stream init = LZMA_STREAM_INIT;
    *s = init;
    return lzma_stream_decoder(s, memlimit, 0);
}
