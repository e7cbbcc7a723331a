/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Canary files: with `guard_canary = yes` a source gets, in its top folder, a file named
 * MM_GUARD__CANARY_NAME (it sorts before the storage's own folders and looks like an office
 * document, so ransomware that walks in name order or hunts documents meets it first) holding
 * plain text of known content. Its hash is remembered in the guard folder
 * (canary-<source>.txt). At the start of every run (mm_guard_new) each one is checked: changed
 * or gone while remembered is suspect; then it is planted again. A source that cannot be
 * written (vendors' storages are often read-only) gets the note `canary-unwritable`, never a
 * failure. Without a guard folder nothing is planted (nothing could be remembered). The walk
 * reports the canary like any file; the guard counts it nowhere (mm_guard__is_canary).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "crypto/crypto.h"
#include "guard/guard_int.h"
#include "os/os.h"

#define CANARY_HEAD "mamori-guard-canary 1\n"

static const char canary_text[] =
        "mamori canary file / mamori 監視用ファイル\n"
        "This file is checked by the ransomware guard of mamori at every backup.\n"
        "Do not edit, move or delete it.\n"
        "このファイルは mamori のランサムウェア検知がバックアップのたびに確かめます。\n"
        "編集・移動・削除しないでください。\n";

int mm_guard__is_canary(const char *dir, const char *name)
{
    return dir && !dir[0] && name && !strcmp(name, MM_GUARD__CANARY_NAME);
}

static void hex_of(const unsigned char *id, char *out)
{
    static const char d[] = "0123456789abcdef";
    unsigned i;

    for (i = 0; i < MM_CRYPTO_ID_SIZE; i++) {
        out[2 * i] = d[id[i] >> 4];
        out[2 * i + 1] = d[id[i] & 15];
    }
    out[2 * MM_CRYPTO_ID_SIZE] = 0;
}

/* The remembered hash of source @safe's canary into @hex. @return 1 remembered, 0 not */
static int remembered(const char *dir, const char *safe, char hex[MM_CRYPTO_HEX_SIZE])
{
    char file[128];
    mm_buf b;
    int ok;

    snprintf(file, sizeof(file), "canary-%s.txt", safe);
    if (mm_guard__read_file(dir, file, &b) < 0) {
        mm_error_clear();
        return 0;
    }
    ok = b.ptr && b.len == strlen(CANARY_HEAD) + 65 &&
         !strncmp(b.ptr, CANARY_HEAD, strlen(CANARY_HEAD));
    if (ok) {
        memcpy(hex, b.ptr + strlen(CANARY_HEAD), 64);
        hex[64] = 0;
    }
    mm_buf_release(&b);
    return ok;
}

/* Hash the canary at @path into @hex. @return 1 read, 0 gone (or not a regular file) */
static int current(const char *path, char hex[MM_CRYPTO_HEX_SIZE])
{
    mm_buf b;
    unsigned char id[MM_CRYPTO_ID_SIZE];
    struct stat st;

    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return 0;
    mm_buf_init(&b, 1u << 16);
    if (mm_os_read_file(path, &b) < 0) {
        mm_error_clear();
        mm_buf_release(&b);
        hex[0] = 0; /* there but unreadable or grown: not what was planted */
        return 1;
    }
    mm_crypto_hash(b.ptr ? b.ptr : "", b.len, id);
    hex_of(id, hex);
    mm_buf_release(&b);
    return 1;
}

/* Check, then (re)plant the canary of source @i. */
static void canary_one(mm_guard *g, size_t i)
{
    const struct mm_guard_source_cfg *c = &g->cfg[i];
    struct mm_guard__canary_state *st = &g->canary[i];
    char safe[80], path[4096], known[MM_CRYPTO_HEX_SIZE], now[MM_CRYPTO_HEX_SIZE];
    char want[MM_CRYPTO_HEX_SIZE], file[128], mem[sizeof(CANARY_HEAD) + 66];
    unsigned char id[MM_CRYPTO_ID_SIZE];
    int have_known, have_now;

    mm_guard__safe_name(c->name, safe, sizeof(safe));
    if (snprintf(path, sizeof(path), "%s/%s", c->path, MM_GUARD__CANARY_NAME) >= (int)sizeof(path))
        return;
    mm_crypto_hash(canary_text, sizeof(canary_text) - 1, id);
    hex_of(id, want);
    have_known = remembered(g->dir, safe, known);
    have_now = current(path, now);
    if (have_now && !strcmp(now, have_known ? known : want))
        return; /* as planted */
    if (have_now)
        st->changed++;
    else if (have_known)
        st->gone++;
    if (mm_os_write_atomic(path, canary_text, sizeof(canary_text) - 1) < 0) {
        mm_error_clear();
        st->unwritable++;
        return;
    }
    st->planted++;
    snprintf(file, sizeof(file), "canary-%s.txt", safe);
    snprintf(mem, sizeof(mem), "%s%s\n", CANARY_HEAD, want);
    if (mm_guard__write_file(g->dir, file, mem, strlen(mem)) < 0)
        mm_error_clear(); /* not remembered: the next run plants it again */
}

int mm_guard__canaries(mm_guard *g)
{
    size_t i;

    if (!g->dir)
        return 0;
    for (i = 0; i < g->nsources; i++)
        if (g->cfg[i].canary && !g->cfg[i].off && g->cfg[i].path)
            canary_one(g, i);
    return 0;
}
