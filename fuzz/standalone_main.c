/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corpus replayer for gcc builds, where libFuzzer is not available: every regular file
 * under the folders (recursively, in name order) and every file named on the command
 * line is passed once to LLVMFuzzerTestOneInput. A crash or a failed property aborts the
 * process, so meson sees it as a failed test; the replayer itself fails when an argument
 * cannot be read, when there are no inputs at all, or when the target returns a value
 * libFuzzer reserves (anything but 0 and -1). Prints one summary line on stdout.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (64L * 1024 * 1024)

static long replayed; /* inputs run */
static int failed;    /* inputs that could not be read or were refused */

/* Report a problem with @path and remember the failure. */
static void problem(const char *path, const char *what)
{
    fprintf(stderr, "standalone_main: %s: %s\n", path, what);
    failed++;
}

/* Run the target once on the content of the file @path. */
static void run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n = -1;
    int rc;

    if (!f) {
        problem(path, "cannot open");
        return;
    }
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || n > INPUT_MAX || fseek(f, 0, SEEK_SET) != 0) {
        problem(path, "cannot read (or over 64 MiB)");
        goto out;
    }
    /* an exact-size copy, so that ASan sees any read past the end */
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        problem(path, "cannot read");
        goto out;
    }
    rc = LLVMFuzzerTestOneInput(buf, (size_t)n);
    replayed++;
    if (rc != 0 && rc != -1)
        problem(path, "the target returned a reserved value");
out:
    free(buf);
    fclose(f);
}

/* Run every regular file under @path, or @path itself when it is a file. */
static void run_path(const char *path)
{
    struct dirent **names = NULL;
    struct stat st;
    int n;

    if (stat(path, &st) != 0) {
        problem(path, "does not exist");
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        problem(path, "cannot list");
        return;
    }
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(path) + strlen(name) + 2;
        char *child = malloc(len);

        if (name[0] != '.' && child) {
            snprintf(child, len, "%s/%s", path, name);
            run_path(child);
        }
        free(child);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "fuzz";

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", prog);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        run_path(argv[i]);
    if (replayed == 0 && failed == 0)
        problem(argv[1], "no inputs");
    printf("%s: %ld inputs replayed, %d problems\n", prog, replayed, failed);
    return failed ? 1 : 0;
}
