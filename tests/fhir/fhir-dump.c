/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only: print the FHIR Bundle of patients of an SS-MIX2 storage folder, one Bundle per
 * line-separated JSON document (mm_ssmix2_record_load + mm_export_fhir_bundle), so that
 * tests/fhir can check the FHIR writer before `mamori export` exists; the lead switches the test
 * to the command once it is merged. Documents are embedded from the extended storage.
 *
 *   fhir-dump --std DIR [--ext DIR] [--facility CODE] [--repo-id ID] [--generation ID]
 *             [--gen-time T] PATIENT...
 *
 * Output: for each patient, "### <patient>\n" then the Bundle. Exit 0, 1 on an error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "export/export.h"
#include "os/os.h"
#include "ssmix2/ssmix2.h"

/* The extended storage's files, read below its root. */
static int read_ext(void *ctx, const char *rel, size_t limit, mm_buf *out)
{
    char path[4096];
    mm_buf b;
    int err;

    if (strstr(rel, ".."))
        return MM_ENOTFOUND;
    snprintf(path, sizeof(path), "%s/%s", (const char *)ctx, rel);
    mm_buf_init(&b, limit);
    err = mm_os_read_file(path, &b);
    if (err == 0)
        err = mm_buf_put(out, b.ptr ? b.ptr : "", b.len);
    mm_buf_release(&b);
    return err;
}

int main(int argc, char **argv)
{
    struct mm_export_source src = { "", "", "2026-12-07T02:00:00+09:00", "" };
    const char *std = NULL;
    char *ext = NULL;
    int i, rc = 0;

    for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--std") == 0)
            std = argv[i + 1];
        else if (strcmp(argv[i], "--ext") == 0)
            ext = argv[i + 1];
        else if (strcmp(argv[i], "--facility") == 0)
            src.facility = argv[i + 1];
        else if (strcmp(argv[i], "--repo-id") == 0)
            src.repo_id = argv[i + 1];
        else if (strcmp(argv[i], "--generation") == 0)
            src.generation = argv[i + 1];
        else if (strcmp(argv[i], "--gen-time") == 0)
            src.gen_time = argv[i + 1];
        else
            break;
    }
    if (!std || i >= argc) {
        fprintf(stderr, "usage: fhir-dump --std DIR [--ext DIR] [--facility CODE] "
                        "[--repo-id ID] [--generation ID] [--gen-time T] PATIENT...\n");
        return 2;
    }
    for (; i < argc; i++) {
        mm_ssmix2_record *r = NULL;
        mm_buf out;
        int err;

        mm_buf_init(&out, (size_t)1 << 31);
        err = mm_ssmix2_record_load(&r, std, ext, argv[i], NULL);
        if (err == 0)
            err = mm_export_fhir_bundle(r, &src, ext ? read_ext : NULL, ext, &out);
        if (err == 0) {
            printf("### %s\n", argv[i]);
            fwrite(out.ptr, 1, out.len, stdout);
        } else {
            fprintf(stderr, "fhir-dump: patient %d: %s\n", i, mm_error_last());
            rc = 1;
        }
        mm_buf_release(&out);
        mm_ssmix2_record_free(r);
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = 1;
    return rc;
}
