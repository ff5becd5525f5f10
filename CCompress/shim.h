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

/* gzip through ISA-L's igzip (2.5 times as fast as zlib on an initramfs), when
 * the running system has libisal.so.2: it is loaded at run time, so the binary
 * needs no library beyond those it names, and zlib does the work without it.
 * Built only where the header is (libisal-dev); elsewhere the inflater is
 * always absent. The handle is opaque (void *) either way. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#if __has_include(<isa-l/igzip_lib.h>)
#include <isa-l/igzip_lib.h>
typedef struct {
    struct inflate_state state;
    int (*inflate)(struct inflate_state *);
    void *library;
} ra_isal_gzip;
#endif

/* A new gzip inflater, or NULL when libisal.so.2 cannot be loaded. */
static inline void *ra_isal_gzip_new(void) {
#if __has_include(<isa-l/igzip_lib.h>)
    void *lib = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return NULL;
    void (*init)(struct inflate_state *) = (void (*)(struct inflate_state *))dlsym(lib, "isal_inflate_init");
    int (*inflate)(struct inflate_state *) = (int (*)(struct inflate_state *))dlsym(lib, "isal_inflate");
    ra_isal_gzip *g = init && inflate ? (ra_isal_gzip *)calloc(1, sizeof *g) : NULL;
    if (!g) { dlclose(lib); return NULL; }
    init(&g->state);
    g->state.crc_flag = ISAL_GZIP;
    g->inflate = inflate;
    g->library = lib;
    return g;
#else
    return NULL;
#endif
}

static inline void ra_isal_gzip_free(void *handle) {
#if __has_include(<isa-l/igzip_lib.h>)
    ra_isal_gzip *g = (ra_isal_gzip *)handle;
    if (!g) return;
    dlclose(g->library);
    free(g);
#else
    (void)handle;
#endif
}

/* One step: consumes from *in / *avail_in, writes to *out / *avail_out (both
 * advanced). Returns ISA-L's status (0 ok, 1 the input ran out, < 0 corrupt
 * data); *finished is set when the gzip member and its trailer are done, and
 * *in / *avail_in then point just past the trailer. */
static inline int ra_isal_gzip_step(void *handle, const uint8_t **in, uint32_t *avail_in,
                                    uint8_t **out, uint32_t *avail_out, int *finished) {
#if __has_include(<isa-l/igzip_lib.h>)
    ra_isal_gzip *g = (ra_isal_gzip *)handle;
    g->state.next_in = (uint8_t *)*in;
    g->state.avail_in = *avail_in;
    g->state.next_out = *out;
    g->state.avail_out = *avail_out;
    int ret = g->inflate(&g->state);
    *in = g->state.next_in;
    *avail_in = g->state.avail_in;
    *out = g->state.next_out;
    *avail_out = g->state.avail_out;
    *finished = g->state.block_state == ISAL_BLOCK_FINISH;
    return ret;
#else
    (void)handle; (void)in; (void)avail_in; (void)out; (void)avail_out;
    *finished = 0;
    return -1;
#endif
}
