/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Drill records (status.h): one JSON line per restore drill in <state_dir>/drills.jsonl,
 * written by `mamori drill` (full) and by the daily cycle (structural), read by `status`.
 * A line is written with one write and fsync'd, like the window records, so a crash leaves
 * at most a torn last line, which the reader counts and skips. No line names a patient.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup/status.h"
#include "common/error.h"
#include "common/json.h"
#include "os/os.h"

/* Append `,"key":` and @v (-1: null) with 3 decimals. */
static int put_num(mm_buf *b, const char *key, double v)
{
    if (v < 0)
        return mm_buf_printf(b, ",\"%s\":null", key);
    return mm_buf_printf(b, ",\"%s\":%.3f", key, v);
}

int mm_status_drill_json(const struct mm_status_drill *d, mm_buf *out)
{
    char at[32];
    int err;

    mm_status_time_str(d->at, at, sizeof(at));
    if ((err = mm_buf_puts(out, "{")) != 0 || (err = mm_json_kv(out, 1, "kind", d->kind)) != 0 ||
        (err = mm_json_kv(out, 0, "at", at)) != 0 ||
        (err = mm_json_kv(out, 0, "medium", d->medium)) != 0 ||
        (err = mm_json_kv(out, 0, "repo", d->repo_id)) != 0 ||
        (err = mm_json_kv(out, 0, "generation", d->generation)) != 0 ||
        (err = mm_json_kv(out, 0, "result", d->result)) != 0 ||
        (err = mm_json_kv(out, 0, "reason", d->reason)) != 0 ||
        (err = put_num(out, "viewer_s", d->viewer_s)) != 0 ||
        (err = put_num(out, "restore_s", d->restore_s)) != 0 ||
        (err = put_num(out, "total_s", d->total_s)) != 0 ||
        (err = mm_buf_printf(out, ",\"files\":%llu,\"bytes\":%llu", (unsigned long long)d->files,
                             (unsigned long long)d->bytes)) != 0 ||
        (err = put_num(out, "mib_s", d->mib_s)) != 0)
        return err;
    if (d->rpo_s < 0)
        err = mm_buf_puts(out, ",\"rpo_s\":null");
    else
        err = mm_buf_printf(out, ",\"rpo_s\":%lld", (long long)d->rpo_s);
    if (err != 0)
        return err;
    return mm_buf_printf(out, ",\"patients\":%llu,\"patients_failed\":%llu}",
                         (unsigned long long)d->patients, (unsigned long long)d->patients_failed);
}

/* Copy string member @key of @o into @buf. @return 0, -1 (absent or not a string) */
static int str_of(json_t *o, const char *key, char *buf, size_t cap)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v) || strlen(json_string_value(v)) >= cap)
        return -1;
    snprintf(buf, cap, "%s", json_string_value(v));
    return 0;
}

/* Number member @key (null or absent: -1). @return 0, -1 wrong type */
static int num_of(json_t *o, const char *key, double *out)
{
    json_t *v = json_object_get(o, key);

    *out = -1;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 0;
}

/* Unsigned integer member @key (absent: 0). @return 0, -1 wrong type */
static int u64_of(json_t *o, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);

    *out = 0;
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int mm_status_drill_parse(const char *line, size_t n, struct mm_status_drill *out)
{
    struct mm_status_drill d;
    json_t *o = NULL, *rpo;
    char at[32];
    const char *bad = NULL;
    int rc = 0;

    memset(&d, 0, sizeof(d));
    if (n > MM_STATUS_DRILL_LINE_MAX)
        return mm_error_set(MM_ECORRUPT, "drill record: line too long");
    o = json_loadb(line, n, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o))
        bad = "not a JSON object";
    else if (str_of(o, "kind", d.kind, sizeof(d.kind)) != 0 ||
             (strcmp(d.kind, "full") != 0 && strcmp(d.kind, "structural") != 0))
        bad = "kind";
    else if (str_of(o, "at", at, sizeof(at)) != 0 || mm_status_time_parse(at, &d.at) != 0)
        bad = "at";
    else if (str_of(o, "medium", d.medium, sizeof(d.medium)) != 0)
        bad = "medium";
    else if (str_of(o, "repo", d.repo_id, sizeof(d.repo_id)) != 0)
        bad = "repo";
    else if (str_of(o, "generation", d.generation, sizeof(d.generation)) != 0)
        bad = "generation";
    else if (str_of(o, "result", d.result, sizeof(d.result)) != 0 ||
             (strcmp(d.result, "ok") != 0 && strcmp(d.result, "failed") != 0))
        bad = "result";
    else if (str_of(o, "reason", d.reason, sizeof(d.reason)) != 0)
        bad = "reason";
    else if (num_of(o, "viewer_s", &d.viewer_s) != 0 || num_of(o, "restore_s", &d.restore_s) != 0 ||
             num_of(o, "total_s", &d.total_s) != 0 || num_of(o, "mib_s", &d.mib_s) != 0)
        bad = "timings";
    else if (u64_of(o, "files", &d.files) != 0 || u64_of(o, "bytes", &d.bytes) != 0 ||
             u64_of(o, "patients", &d.patients) != 0 ||
             u64_of(o, "patients_failed", &d.patients_failed) != 0)
        bad = "counts";
    else {
        rpo = json_object_get(o, "rpo_s");
        d.rpo_s = -1;
        if (json_is_integer(rpo))
            d.rpo_s = (int64_t)json_integer_value(rpo);
        else if (rpo && !json_is_null(rpo))
            bad = "rpo_s";
    }
    if (bad)
        rc = mm_error_set(MM_ECORRUPT, "drill record: %s", bad);
    else
        *out = d;
    json_decref(o);
    return rc;
}

int mm_status_drill_append(const char *state_dir, const struct mm_status_drill *d)
{
    char path[4096];
    mm_buf line;
    int fd = -1, err, created;

    if (!state_dir || !*state_dir)
        return mm_error_set(MM_EINVAL, "drill record: no state folder");
    if (mm_os_mkdir_p(state_dir, 0750) != 0)
        return mm_error_set(MM_EIO, "drill record: cannot make the state folder");
    if (snprintf(path, sizeof(path), "%s/drills.jsonl", state_dir) >= (int)sizeof(path))
        return mm_error_set(MM_EIO, "drill record: state folder path too long");
    mm_buf_init(&line, MM_STATUS_DRILL_LINE_MAX);
    if ((err = mm_status_drill_json(d, &line)) != 0 || (err = mm_buf_puts(&line, "\n")) != 0)
        goto out;
    created = access(path, F_OK) != 0;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 || mm_os_write_all(fd, line.ptr, line.len, path) != 0 || fsync(fd) != 0) {
        err = mm_error_set(MM_EIO, "drill record: cannot write drills.jsonl");
        goto out;
    }
    err = close(fd);
    fd = -1;
    if (err != 0 || (created && mm_os_fsync_dir(state_dir) != 0))
        err = mm_error_set(MM_EIO, "drill record: cannot write drills.jsonl");
out:
    if (fd >= 0)
        close(fd);
    mm_buf_release(&line);
    return err;
}
