/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Extended-storage content for mamori-gen: one-page PDF documents with Japanese
 * text (Type0 font with the predefined UniJIS-UCS2-H CMap, so no font is
 * embedded and any PDF viewer with Japanese support renders it) and baseline
 * JPEG images through libjpeg. Both are deterministic byte for byte.
 */
#include <stdlib.h>
#include <string.h>
/* jpeglib.h needs <stdio.h> and <stddef.h> before it */
/* clang-format off */
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
/* clang-format on */

#include "common/alloc.h"
#include "common/error.h"
#include "tools/gen/gen_int.h"

/* Append @s (UTF-8, BMP only) as UCS-2BE hex digits. */
static int put_ucs2_hex(mm_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int err = mm_buf_putc(b, '<');

    while (*p && err == 0) {
        unsigned int cp;
        if (p[0] < 0x80) {
            cp = p[0];
            p += 1;
        } else if ((p[0] & 0xE0) == 0xC0 && p[1]) {
            cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
            p += 2;
        } else if ((p[0] & 0xF0) == 0xE0 && p[1] && p[2]) {
            cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
            p += 3;
        } else {
            cp = 0x3013; /* 〓 */
            p += 1;
        }
        err = mm_buf_printf(b, "%04X", cp);
    }
    return err ? err : mm_buf_putc(b, '>');
}

int gen_pdf(mm_buf *out, const char *title, const char *const *lines, size_t nlines)
{
    mm_buf content;
    size_t off[8];
    int err;
    size_t xref;

    mm_buf_init(&content, 1u << 20);
    err = mm_buf_puts(&content, "BT\n/F1 16 Tf\n50 790 Td\n");
    if (err == 0)
        err = put_ucs2_hex(&content, title);
    if (err == 0)
        err = mm_buf_puts(&content, " Tj\n/F1 10.5 Tf\n0 -30 Td\n");
    for (size_t i = 0; i < nlines && err == 0; i++) {
        err = put_ucs2_hex(&content, lines[i]);
        if (err == 0)
            err = mm_buf_puts(&content, " Tj\n0 -17 Td\n");
    }
    if (err == 0)
        err = mm_buf_puts(&content, "ET\n");
    if (err)
        goto out;

    err = mm_buf_puts(out, "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
    off[1] = out->len;
    err |= mm_buf_puts(out, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
    off[2] = out->len;
    err |= mm_buf_puts(out, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
    off[3] = out->len;
    err |= mm_buf_puts(out, "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                            "/Resources << /Font << /F1 4 0 R >> >> /Contents 6 0 R >>\nendobj\n");
    off[4] = out->len;
    err |= mm_buf_puts(out, "4 0 obj\n<< /Type /Font /Subtype /Type0 /BaseFont /HeiseiKakuGo-W5 "
                            "/Encoding /UniJIS-UCS2-H /DescendantFonts [5 0 R] >>\nendobj\n");
    off[5] = out->len;
    err |= mm_buf_puts(out,
                       "5 0 obj\n<< /Type /Font /Subtype /CIDFontType0 /BaseFont "
                       "/HeiseiKakuGo-W5 /CIDSystemInfo << /Registry (Adobe) /Ordering "
                       "(Japan1) /Supplement 2 >> /FontDescriptor 7 0 R /DW 1000 >>\nendobj\n");
    off[6] = out->len;
    err |= mm_buf_printf(out, "6 0 obj\n<< /Length %zu >>\nstream\n", content.len);
    err |= mm_buf_put(out, content.ptr, content.len);
    err |= mm_buf_puts(out, "endstream\nendobj\n");
    off[7] = out->len;
    err |= mm_buf_puts(out, "7 0 obj\n<< /Type /FontDescriptor /FontName /HeiseiKakuGo-W5 /Flags 4 "
                            "/FontBBox [-92 -250 1010 922] /ItalicAngle 0 /Ascent 752 /Descent "
                            "-221 /CapHeight 737 /StemV 114 >>\nendobj\n");
    xref = out->len;
    err |= mm_buf_puts(out, "xref\n0 8\n0000000000 65535 f \n");
    for (int i = 1; i <= 7; i++)
        err |= mm_buf_printf(out, "%010zu 00000 n \n", off[i]);
    err |= mm_buf_printf(out, "trailer\n<< /Size 8 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
                         xref);
    if (err)
        err = mm_error_set(MM_ENOMEM, "cannot build pdf");
out:
    mm_buf_release(&content);
    return err;
}

/* A tiny deterministic hash-noise in [0, 1). */
static double noise(uint64_t seed, int x, int y)
{
    uint64_t h = seed ^ ((uint64_t)(unsigned)x * 0x9E3779B97F4A7C15ULL) ^
                 ((uint64_t)(unsigned)y * 0xC2B2AE3D27D4EB4FULL);

    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

int gen_jpeg(mm_buf *out, uint64_t seed, int width, int height, int color)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    unsigned char *row;
    int comps = color ? 3 : 1;
    int err = 0;
    double cx = width * (0.45 + 0.1 * noise(seed, 1, 1));
    double cy = height * (0.45 + 0.1 * noise(seed, 2, 2));

    row = mm_malloc((size_t)width * (size_t)comps);
    if (!row)
        return MM_ENOMEM;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &mem, &memlen);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = comps;
    cinfo.in_color_space = color ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 80, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
            double dx = (x - cx) / (width * 0.38), dy = (y - cy) / (height * 0.42);
            double r2 = dx * dx + dy * dy;
            double v = (r2 < 1.0 ? 0.75 - 0.45 * r2 : 0.15) + 0.08 * noise(seed, x, y);
            if (!color) {
                /* chest-film look: dark lungs either side of a bright mediastinum */
                double lung = (x > width * 0.2 && x < width * 0.45) ||
                              (x > width * 0.55 && x < width * 0.8);
                if (lung && y > height * 0.2 && y < height * 0.75)
                    v *= 0.45;
                row[x] = (unsigned char)(v > 1 ? 255 : v * 255);
            } else {
                /* endoscopy look: pink mucosa, dark lumen in the middle */
                double lum = r2 < 0.08 ? 0.15 : v;
                row[3 * x] = (unsigned char)(lum * 250 > 255 ? 255 : lum * 250);
                row[3 * x + 1] = (unsigned char)(lum * 120);
                row[3 * x + 2] = (unsigned char)(lum * 110);
            }
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&cinfo, &rp, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    err = mm_buf_put(out, mem, memlen);
    free(mem);
    mm_free(row);
    return err;
}
