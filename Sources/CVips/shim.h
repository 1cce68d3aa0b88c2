// libvips for Swift: libvips' operations take their optional arguments as C varargs, which Swift cannot call.
// These inline functions fix the arguments Meridian uses.
#include <vips/vips.h>

/// Starts libvips once per process; untrusted loaders (ImageMagick, PDF, SVG, ...) are blocked.
static inline int meridian_vips_start(int concurrency, size_t cache_bytes) {
    if (VIPS_INIT("meridian")) return -1;
    vips_block_untrusted_set(TRUE);
    vips_concurrency_set(concurrency);
    vips_cache_set_max(0);
    vips_cache_set_max_mem(cache_bytes);
    return 0;
}

/// The image in memory with only its header read (pixels are decoded later, if ever); first page only.
static inline VipsImage *meridian_vips_header(const void *buffer, size_t length) {
    return vips_image_new_from_buffer(buffer, length, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

/// Decoded with shrink-on-load into a width × height box (EXIF orientation applied; an embedded ICC profile
/// converted to sRGB), failing on truncated or damaged input. Without an embedded profile no colour transform runs
/// (an sRGB-to-sRGB one through lcms cost 5% of the time); the caller converts other colour spaces.
static inline int meridian_vips_thumbnail_buffer(void *buffer, size_t length, VipsImage **out, int width, int height) {
    return vips_thumbnail_buffer(buffer, length, out, width, "height", height, "option_string", "fail_on=truncated",
        NULL);
}

static inline int meridian_vips_thumbnail_image(VipsImage *in, VipsImage **out, int width, int height) {
    return vips_thumbnail_image(in, out, width, "height", height, NULL);
}

/// Alpha composed over white.
static inline int meridian_vips_flatten_white(VipsImage *in, VipsImage **out) {
    VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
    int result = vips_flatten(in, out, "background", white, NULL);
    vips_area_unref(VIPS_AREA(white));
    return result;
}

static inline int meridian_vips_srgb(VipsImage *in, VipsImage **out) {
    return vips_colourspace(in, out, VIPS_INTERPRETATION_sRGB, NULL);
}

/// Centred in a width × height box, the rest white.
static inline int meridian_vips_pad_white(VipsImage *in, VipsImage **out, int width, int height) {
    VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
    int result = vips_gravity(in, out, VIPS_COMPASS_DIRECTION_CENTRE, width, height, "extend", VIPS_EXTEND_BACKGROUND,
        "background", white, NULL);
    vips_area_unref(VIPS_AREA(white));
    return result;
}

/// JPEG at `quality`, metadata stripped. The buffer is freed with g_free.
static inline int meridian_vips_jpeg(VipsImage *in, void **buffer, size_t *length, int quality) {
    return vips_jpegsave_buffer(in, buffer, length, "Q", quality, "strip", TRUE, NULL);
}

/// WebP at `quality`, metadata stripped (the optional extra variants). The buffer is freed with g_free.
static inline int meridian_vips_webp(VipsImage *in, void **buffer, size_t *length, int quality) {
    return vips_webpsave_buffer(in, buffer, length, "Q", quality, "strip", TRUE, NULL);
}

/// PNG (tests make their inputs with it). The buffer is freed with g_free.
static inline int meridian_vips_png(VipsImage *in, void **buffer, size_t *length) {
    return vips_pngsave_buffer(in, buffer, length, NULL);
}

/// JPEG keeping metadata (tests write an EXIF orientation with it; the image benchmark makes its source with it).
static inline int meridian_vips_jpeg_keep(VipsImage *in, void **buffer, size_t *length, int quality) {
    return vips_jpegsave_buffer(in, buffer, length, "Q", quality, NULL);
}

/// The pixel at (x, y) as up to 4 bands.
static inline int meridian_vips_pixel(VipsImage *in, int x, int y, double *bands, int capacity) {
    double *vector = NULL;
    int n = 0;
    if (vips_getpoint(in, &vector, &n, x, y, NULL)) return -1;
    for (int i = 0; i < n && i < capacity; i++) bands[i] = vector[i];
    g_free(vector);
    return n;
}

static inline void meridian_vips_unref(VipsImage *image) {
    if (image) g_object_unref(image);
}
