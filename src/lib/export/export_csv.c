/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CSV tables of an export (export.h): one file per record type, UTF-8 with a BOM, CRLF,
 * RFC 4180 quoting, and a leading apostrophe on every cell that starts with = + - @, a tab
 * or CR, so that a spreadsheet shows it as text instead of running it (a negative lab value
 * "-1.2" is escaped too: the apostrophe is the price of never running a formula). Only
 * current items give rows, as mm_ssmix2_record_json() without history lists them: items of
 * current (_1) files, never an order whose message is a cancel, the diagnoses of the newest
 * current PPR-01. Every row starts with the patient ID and ends with where it came from (data
 * type, order number, file time) and the generation. Tables are written under "<name>.tmp"
 * (0600) and renamed when closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/log.h"
#include "common/text.h"
#include "export/export.h"
#include "export/export_int.h"
#include "os/os.h"

enum table {
    T_PATIENTS,
    T_ENCOUNTERS,
    T_DIAGNOSES,
    T_ALLERGIES,
    T_PRESCRIPTIONS,
    T_INJECTIONS,
    T_ADMINS,
    T_LABS,
    T_EXAMS,
    T_DOCUMENTS,
    T_FAILURES,
    T_COUNT
};

/* Timings of the day given their own columns; more go to the "more_timings" column. */
#define CSV_TIMINGS 6

/* The columns between the patient ID and the source columns, per table. */
static const char *const headers[T_COUNT] = {
    "name,kana,birth_date,sex,postal_code,address,phone,blood_type,height_cm,weight_kg",
    "kind,date,time,dept,dept_name,ward,ward_name,room,bed,prior_ward,prior_room,prior_bed,"
    "doctor,doctor_id,disposition",
    "name,icd10,medis,start_date,end_date,outcome,active,main,suspected",
    "type,code,name,system,severity,reaction,onset",
    "order_no,order_date,dept,dept_name,doctor,doctor_id,inpatient,rp,usage_code,usage,days,"
    "days_unit,start,end,prn,condition,tq_text,times,route,route_name,pattern_kind,"
    "pattern_code,pattern_text,pattern_weekdays,pattern_days_on,pattern_days_off,step,"
    "drug_code,drug_name,drug_system,yj,dose,unit,unit_code,dose_max,form,daily_dose,"
    "daily_unit,dispense,dispense_unit,class_code,class_name,instructions,flags,"
    "timing_1_label,timing_1_dose,timing_2_label,timing_2_dose,timing_3_label,timing_3_dose,"
    "timing_4_label,timing_4_dose,timing_5_label,timing_5_dose,timing_6_label,timing_6_dose,"
    "more_timings",
    "order_no,order_date,dept,dept_name,doctor,doctor_id,inpatient,rp,type_code,type_name,"
    "usage_code,usage,days,days_unit,start,end,prn,times,route,route_name,rate,rate_per,"
    "rate_unit,rp_dose,rp_unit,instructions,flags,drug_role,drug_code,drug_name,drug_system,"
    "dose,unit",
    "order_no,given_at,ended_at,injection,drug_code,drug_name,drug_system,dose,unit,route,"
    "route_name,status,given_by,given_by_id,location,location_name,site",
    "order_no,collected_at,code,name,value,unit,range,flag,status",
    "kind,code,name,performed_at,findings,study_uid",
    "kind,title,code,date,folder,file",
    "type,type_name,section,files,failed,folders,damaged,reason",
};

static const char *const names[T_COUNT] = {
    "patients",        "encounters", "diagnoses", "allergies", "prescriptions", "injections",
    "administrations", "labs",       "exams",     "documents", "read_failures",
};

struct mm_export_csv {
    char *dir;
    FILE *f[T_COUNT];
    char *tmp[T_COUNT], *final[T_COUNT];
    int closed;
    int err;       /* the first write error (sticky) */
    uint64_t rows; /* rows written, headers not counted */
};

/* "<dir>/<name><suffix>" in a new string, or NULL. */
static char *path_of(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = mm_malloc(n);

    if (p)
        snprintf(p, n, "%s/%s%s", dir, name, suffix);
    return p;
}

/* Record a write failure of table @t (once). */
static void fail_io(mm_export_csv *c, enum table t, int e)
{
    char red[MM_LOG_PATH_MAX];

    if (!c->err)
        c->err = mm_error_set_errno(MM_EIO, e, "cannot write '%s'",
                                    mm_log_path(red, sizeof(red), c->tmp[t]));
}

void mm_export__csv_cell(FILE *f, const char *s, int first)
{
    size_t n = s ? strlen(s) : 0, i = 0;
    int quote = 0;
    uint32_t cp;

    if (!first)
        fputc(',', f);
    if (!n)
        return;
    for (size_t k = 0; k < n; k++)
        if (s[k] == ',' || s[k] == '"' || s[k] == '\r' || s[k] == '\n') {
            quote = 1;
            break;
        }
    if (quote)
        fputc('"', f);
    if (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r')
        fputc('\'', f); /* a spreadsheet would run it as a formula */
    while (i < n) {
        size_t len = mm_text_utf8((const unsigned char *)s + i, n - i, &cp);
        if (len == 0) {
            fputs("\xEF\xBF\xBD", f); /* U+FFFD for a byte that is not UTF-8 */
            i++;
            continue;
        }
        if (s[i] == '"')
            fputc('"', f);
        fwrite(s + i, 1, len, f);
        i += len;
    }
    if (quote)
        fputc('"', f);
}

static void cell(FILE *f, const char *s, int first)
{
    mm_export__csv_cell(f, s, first);
}

/* An unsigned number as a cell. */
static void cellu(FILE *f, size_t v)
{
    fprintf(f, ",%zu", v);
}

/* A 0/1 flag as a cell. */
static void cellb(FILE *f, int v)
{
    fputs(v ? ",1" : ",0", f);
}

/* Start a row of table @t for patient @pid. @return the stream */
static FILE *row_start(mm_export_csv *c, enum table t, const char *pid)
{
    cell(c->f[t], pid, 1);
    return c->f[t];
}

/* The file name of an origin's message file (o->file, the path the loader read, relative to
 * the storage root: its last part), "" when not known. */
static const char *origin_name(const struct mm_ssmix2_origin *o)
{
    const char *s;

    if (!o || !o->file)
        return "";
    s = strrchr(o->file, '/');
    return s ? s + 1 : o->file;
}

/* End a row: the source columns of @o (NULL: empty; @file: the source file when it is not a
 * message file, else the name of o->file) and the generation; CRLF. */
static void row_end_file(mm_export_csv *c, enum table t, const struct mm_ssmix2_origin *o,
                         const struct mm_export_source *src, const char *file)
{
    FILE *f = c->f[t];

    cell(f, file ? file : origin_name(o), 0);
    cell(f, o ? o->type : NULL, 0);
    cell(f, o ? o->order_no : NULL, 0);
    cell(f, o ? o->file_time : NULL, 0);
    cell(f, src->generation, 0);
    fputs("\r\n", f);
    c->rows++;
    if (ferror(f))
        fail_io(c, t, errno ? errno : EIO);
}

static void row_end(mm_export_csv *c, enum table t, const struct mm_ssmix2_origin *o,
                    const struct mm_export_source *src)
{
    row_end_file(c, t, o, src, NULL);
}

int mm_export_csv_open(mm_export_csv **out, const char *dir)
{
    mm_export_csv *c = NULL;
    char red[MM_LOG_PATH_MAX];
    int err = 0;

    MM_ASSERT_ARG(out != NULL && dir != NULL);
    if (!(c = mm_calloc(1, sizeof(*c))) || !(c->dir = mm_strdup(dir))) {
        err = mm_error_set(MM_ENOMEM, "out of memory");
        goto out;
    }
    for (int t = 0; t < T_COUNT; t++) {
        int fd;
        if (!(c->final[t] = path_of(dir, names[t], ".csv")) ||
            !(c->tmp[t] = path_of(dir, names[t], ".csv.tmp"))) {
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
        if (access(c->final[t], F_OK) == 0) {
            err = mm_error_set(MM_EEXISTS, "'%s' is there already",
                               mm_log_path(red, sizeof(red), c->final[t]));
            goto out;
        }
        if ((fd = open(c->tmp[t], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
            err = mm_error_set_errno(errno == EEXIST ? MM_EEXISTS : MM_EIO, errno,
                                     "cannot create '%s'",
                                     mm_log_path(red, sizeof(red), c->tmp[t]));
            mm_free(c->tmp[t]); /* not ours: never removed */
            c->tmp[t] = NULL;
            goto out;
        }
        if (!(c->f[t] = fdopen(fd, "wb"))) {
            close(fd);
            err = mm_error_set(MM_ENOMEM, "out of memory");
            goto out;
        }
        /* BOM (Excel on Japanese Windows reads Shift_JIS without it), then the header */
        fprintf(c->f[t],
                "\xEF\xBB\xBFpatient_id,%s,source_file,source_type,source_order_no,source_time,"
                "generation\r\n",
                headers[t]);
        if (ferror(c->f[t])) {
            fail_io(c, (enum table)t, errno ? errno : EIO);
            err = c->err;
            goto out;
        }
    }
    *out = c;
    c = NULL;
out:
    mm_export_csv_free(c);
    return err;
}

/* Keep the first error @err of building a cell (never a cell cut short in silence). */
static void keep_err(mm_export_csv *c, int err)
{
    if (err < 0 && !c->err)
        c->err = err;
}

/* A list of strings joined by "; " into @b (reused). @return b->ptr or "" */
static const char *joined(mm_export_csv *c, mm_buf *b, const char *const *v, size_t n)
{
    mm_buf_clear(b);
    for (size_t i = 0; i < n; i++) {
        if (i)
            keep_err(c, mm_buf_puts(b, "; "));
        keep_err(c, mm_buf_puts(b, v[i]));
    }
    return b->ptr ? b->ptr : "";
}

static void add_patient(mm_export_csv *c, const struct mm_ssmix2_patient *p,
                        const struct mm_export_source *src)
{
    FILE *f = row_start(c, T_PATIENTS, p->id);
    const char *v[] = { p->name,    p->kana,  p->birth_date, p->sex,       p->postal_code,
                        p->address, p->phone, p->blood_type, p->height_cm, p->weight_kg };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        cell(f, v[i], 0);
    row_end(c, T_PATIENTS, &p->from, src);
}

static void add_encounters(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                           const struct mm_export_source *src)
{
    const struct mm_ssmix2_encounter *e;
    size_t n = mm_ssmix2_record_encounters(r, &e);

    for (size_t i = 0; i < n; i++) {
        const struct mm_ssmix2_encounter *x = &e[i];
        const char *dn = x->dept_name[0] ? x->dept_name : mm_ssmix2_record_code_name(r, 0, x->dept);
        const char *wn = x->ward_name[0] ? x->ward_name : mm_ssmix2_record_code_name(r, 1, x->ward);
        const char *v[] = { x->kind_name,  x->date,      x->time,   x->dept,      dn,
                            x->ward,       wn,           x->room,   x->bed,       x->prior_ward,
                            x->prior_room, x->prior_bed, x->doctor, x->doctor_id, x->disposition };
        FILE *f;
        if (x->from.flag != MM_SSMIX2_CURRENT)
            continue;
        f = row_start(c, T_ENCOUNTERS, pid);
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
            cell(f, v[k], 0);
        row_end(c, T_ENCOUNTERS, &x->from, src);
    }
}

/* Diagnoses: those of the newest current PPR-01 (it lists them all), active and resolved. */
static void add_diagnoses(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                          const struct mm_export_source *src)
{
    const struct mm_ssmix2_diagnosis *d;
    size_t n = mm_ssmix2_record_diagnoses(r, &d);
    const char *newest = NULL;

    for (size_t i = 0; i < n; i++)
        if (d[i].from.flag == MM_SSMIX2_CURRENT && strcmp(d[i].from.type, "PPR-01") == 0 &&
            (!newest || strcmp(d[i].from.file_time, newest) > 0))
            newest = d[i].from.file_time;
    for (int pass = 0; pass < 2 && newest; pass++) /* active first, as the record lists them */
        for (size_t i = 0; i < n; i++) {
            const struct mm_ssmix2_diagnosis *x = &d[i];
            FILE *f;
            if (x->from.flag != MM_SSMIX2_CURRENT || strcmp(x->from.type, "PPR-01") != 0 ||
                strcmp(x->from.file_time, newest) != 0 || x->active != !pass)
                continue;
            f = row_start(c, T_DIAGNOSES, pid);
            cell(f, x->name, 0);
            cell(f, x->icd10, 0);
            cell(f, x->medis, 0);
            cell(f, x->start_date, 0);
            cell(f, x->end_date, 0);
            cell(f, x->outcome, 0);
            cellb(f, x->active);
            cellb(f, x->main);
            cellb(f, x->suspected);
            row_end(c, T_DIAGNOSES, &x->from, src);
        }
}

/*
 * Allergies: the record's current list (mm_ssmix2_record_allergy_list), each allergen once, in
 * the order of the record's JSON: the viewer's list and the FHIR export's.
 */
static void add_allergies(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                          const struct mm_export_source *src)
{
    struct mm_ssmix2_allergy_list l;
    int err;

    if ((err = mm_ssmix2_record_allergy_list(r, &l)) != 0) {
        if (!c->err)
            c->err = err;
        return;
    }
    for (size_t k = 0; k < l.n; k++) {
        const struct mm_ssmix2_allergy *x = l.v[k].a;
        FILE *f = row_start(c, T_ALLERGIES, pid);
        cell(f, x->type, 0);
        cell(f, x->code, 0);
        cell(f, x->name, 0);
        cell(f, x->system, 0);
        cell(f, x->severity, 0);
        cell(f, x->reaction, 0);
        cell(f, x->onset, 0);
        row_end(c, T_ALLERGIES, &x->from, src);
    }
    mm_ssmix2_allergy_list_release(&l);
}

/* Whether order @o is current: of a current file and not itself a cancel. */
static int order_current(const struct mm_ssmix2_order *o)
{
    return o->from.flag == MM_SSMIX2_CURRENT && !o->cancel;
}

/* The order's columns shared by prescriptions and injections. */
static void order_cells(FILE *f, const mm_ssmix2_record *r, const struct mm_ssmix2_order *o,
                        const struct mm_ssmix2_rp *rp)
{
    cell(f, o->order_no, 0);
    cell(f, o->date, 0);
    cell(f, o->dept, 0);
    cell(f, o->dept_name[0] ? o->dept_name : mm_ssmix2_record_code_name(r, 0, o->dept), 0);
    cell(f, o->doctor, 0);
    cell(f, o->doctor_id, 0);
    cellb(f, o->inpatient);
    cell(f, rp->rp, 0);
}

/* The days of a weekday pattern as "Sun Tue ..." into @out. */
static const char *weekdays(const struct mm_ssmix2_pattern *p, char out[32])
{
    static const char *const d[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    size_t len = 0;

    out[0] = '\0';
    for (int i = 0; p && i < 7; i++)
        if (p->weekdays[i])
            len += (size_t)snprintf(out + len, 32 - len, "%s%s", len ? " " : "", d[i]);
    return out;
}

static void add_prescriptions(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                              const struct mm_export_source *src, mm_buf *tmp)
{
    const struct mm_ssmix2_order *o;
    size_t n = mm_ssmix2_record_orders(r, 0, &o);

    for (size_t i = 0; i < n; i++) {
        if (!order_current(&o[i]))
            continue;
        for (size_t k = 0; k < o[i].nrps; k++) {
            const struct mm_ssmix2_rp *rp = &o[i].rps[k];
            const struct mm_ssmix2_pattern *pt = rp->pattern;
            for (size_t l = 0; l < rp->ndrugs; l++) {
                const struct mm_ssmix2_drug *d = &rp->drugs[l];
                char wd[32], num[64];
                FILE *f = row_start(c, T_PRESCRIPTIONS, pid);
                order_cells(f, r, &o[i], rp);
                cell(f, rp->usage_code, 0);
                cell(f, rp->usage, 0);
                cell(f, rp->days, 0);
                cell(f, rp->days_unit, 0);
                cell(f, rp->start, 0);
                cell(f, rp->end, 0);
                cellb(f, rp->prn);
                cell(f, rp->condition, 0);
                cell(f, rp->tq_text, 0);
                cell(f, joined(c, tmp, rp->times, rp->ntimes), 0);
                cell(f, rp->route, 0);
                cell(f, rp->route_name, 0);
                cell(f, pt ? pt->kind : NULL, 0);
                cell(f, pt ? pt->code : NULL, 0);
                cell(f, pt ? pt->text : NULL, 0);
                cell(f, weekdays(pt, wd), 0);
                if (pt && strcmp(pt->kind, "interval") == 0)
                    fprintf(f, ",%d,%d", pt->on, pt->off);
                else
                    fputs(",,", f);
                if (rp->step.n > 0)
                    snprintf(num, sizeof(num), "%d/%d", rp->step.n, rp->step.of);
                else
                    num[0] = '\0';
                cell(f, num, 0);
                cell(f, d->code, 0);
                cell(f, d->name, 0);
                cell(f, d->system, 0);
                cell(f, d->yj, 0);
                cell(f, d->dose, 0);
                cell(f, d->unit, 0);
                cell(f, d->unit_code, 0);
                cell(f, d->dose_max, 0);
                cell(f, d->form, 0);
                cell(f, d->daily_dose, 0);
                cell(f, d->daily_unit, 0);
                cell(f, d->dispense, 0);
                cell(f, d->dispense_unit, 0);
                cell(f, d->class_code, 0);
                cell(f, d->class_name, 0);
                cell(f, joined(c, tmp, d->instructions, d->ninstructions), 0);
                cell(f, joined(c, tmp, d->flags, d->nflags), 0);
                /* the dose of each timing in its own columns (不均等), never one dose */
                for (size_t t = 0; t < CSV_TIMINGS; t++) {
                    cell(f, t < d->ntimings ? d->per_timing[t].label : NULL, 0);
                    cell(f, t < d->ntimings ? d->per_timing[t].dose : NULL, 0);
                }
                mm_buf_clear(tmp);
                for (size_t t = CSV_TIMINGS; t < d->ntimings; t++)
                    keep_err(c, mm_buf_printf(tmp, "%s%d:%s:%s", t > CSV_TIMINGS ? "; " : "",
                                              d->per_timing[t].n, d->per_timing[t].label,
                                              d->per_timing[t].dose));
                cell(f, tmp->ptr, 0);
                row_end(c, T_PRESCRIPTIONS, &o[i].from, src);
            }
        }
    }
}

static void add_injections(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                           const struct mm_export_source *src, mm_buf *tmp)
{
    const struct mm_ssmix2_order *o;
    size_t n = mm_ssmix2_record_orders(r, 1, &o);

    for (size_t i = 0; i < n; i++) {
        if (!order_current(&o[i]))
            continue;
        for (size_t k = 0; k < o[i].nrps; k++) {
            const struct mm_ssmix2_rp *rp = &o[i].rps[k];
            for (size_t l = 0; l < rp->ndrugs; l++) {
                const struct mm_ssmix2_drug *d = &rp->drugs[l];
                FILE *f = row_start(c, T_INJECTIONS, pid);
                order_cells(f, r, &o[i], rp);
                cell(f, rp->type_code, 0);
                cell(f, rp->type_name, 0);
                cell(f, rp->usage_code, 0);
                cell(f, rp->usage, 0);
                cell(f, rp->days, 0);
                cell(f, rp->days_unit, 0);
                cell(f, rp->start, 0);
                cell(f, rp->end, 0);
                cellb(f, rp->prn);
                cell(f, joined(c, tmp, rp->times, rp->ntimes), 0);
                cell(f, rp->route, 0);
                cell(f, rp->route_name, 0);
                cell(f, rp->rate, 0);
                cell(f, rp->rate_per, 0);
                cell(f, rp->rate_unit, 0);
                cell(f, rp->dose, 0);
                cell(f, rp->unit, 0);
                cell(f, joined(c, tmp, rp->instructions, rp->ninstructions), 0);
                cell(f, joined(c, tmp, rp->flags, rp->nflags), 0);
                cell(f, d->role, 0);
                cell(f, d->code, 0);
                cell(f, d->name, 0);
                cell(f, d->system, 0);
                cell(f, d->dose, 0);
                cell(f, d->unit, 0);
                row_end(c, T_INJECTIONS, &o[i].from, src);
            }
        }
    }
}

static void add_admins(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                       const struct mm_export_source *src)
{
    const struct mm_ssmix2_admin *a;
    size_t n = mm_ssmix2_record_admins(r, &a);

    for (size_t i = 0; i < n; i++) {
        const struct mm_ssmix2_admin *x = &a[i];
        const char *ln = x->location_name[0] ? x->location_name
                                             : mm_ssmix2_record_code_name(r, 1, x->location);
        FILE *f;
        if (x->from.flag != MM_SSMIX2_CURRENT)
            continue;
        f = row_start(c, T_ADMINS, pid);
        cell(f, x->order_no, 0);
        cell(f, x->given_at, 0);
        cell(f, x->ended_at, 0);
        cellb(f, x->injection);
        cell(f, x->drug.code, 0);
        cell(f, x->drug.name, 0);
        cell(f, x->drug.system, 0);
        cell(f, x->drug.dose, 0);
        cell(f, x->drug.unit, 0);
        cell(f, x->route, 0);
        cell(f, x->route_name, 0);
        cell(f, x->status, 0);
        cell(f, x->given_by, 0);
        cell(f, x->given_by_id, 0);
        cell(f, x->location, 0);
        cell(f, ln, 0);
        cell(f, x->site, 0);
        row_end(c, T_ADMINS, &x->from, src);
    }
}

static void add_labs(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                     const struct mm_export_source *src)
{
    const struct mm_ssmix2_lab *l;
    size_t n = mm_ssmix2_record_labs(r, &l);

    for (size_t i = 0; i < n; i++) {
        const struct mm_ssmix2_lab *x = &l[i];
        const char *v[] = { x->order_no, x->collected_at, x->code, x->name,  x->value,
                            x->unit,     x->range,        x->flag, x->status };
        FILE *f;
        if (x->from.flag != MM_SSMIX2_CURRENT)
            continue;
        f = row_start(c, T_LABS, pid);
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
            cell(f, v[k], 0);
        row_end(c, T_LABS, &x->from, src);
    }
}

static void add_exams(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                      const struct mm_export_source *src)
{
    const struct mm_ssmix2_exam *e;
    size_t n = mm_ssmix2_record_exams(r, &e);

    for (size_t i = 0; i < n; i++) {
        const struct mm_ssmix2_exam *x = &e[i];
        const char *v[] = { x->kind, x->code, x->name, x->performed_at, x->findings, x->study_uid };
        FILE *f;
        if (x->from.flag != MM_SSMIX2_CURRENT)
            continue;
        f = row_start(c, T_EXAMS, pid);
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
            cell(f, v[k], 0);
        row_end(c, T_EXAMS, &x->from, src);
    }
}

/* Documents and images: one row per file (a folder without files: one row). */
static void add_documents(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                          const struct mm_export_source *src)
{
    const struct mm_ssmix2_document *d;
    size_t n = mm_ssmix2_record_documents(r, &d);

    for (size_t i = 0; i < n; i++) {
        const struct mm_ssmix2_document *x = &d[i];
        if (x->from.flag != MM_SSMIX2_CURRENT)
            continue;
        for (size_t k = 0; k < (x->nfiles ? x->nfiles : 1); k++) {
            FILE *f = row_start(c, T_DOCUMENTS, pid);
            cell(f, x->kind, 0);
            cell(f, x->title, 0);
            cell(f, x->code, 0);
            cell(f, x->date, 0);
            cell(f, x->folder, 0);
            cell(f, x->nfiles ? x->files[k] : NULL, 0);
            row_end_file(c, T_DOCUMENTS, &x->from, src, x->folder);
        }
    }
}

/* The data types with files left out, damaged, or folders that could not be listed. */
static void add_failures(mm_export_csv *c, const mm_ssmix2_record *r, const char *pid,
                         const struct mm_export_source *src)
{
    const struct mm_ssmix2_failure *fl;
    size_t n = mm_ssmix2_record_failures(r, &fl);

    for (size_t i = 0; i < n; i++) {
        const struct mm_ssmix2_failure *x = &fl[i];
        const struct mm_ssmix2_type *t = mm_ssmix2_type_find(x->type);
        FILE *f;
        if (!x->failed && !x->folders && !x->damaged)
            continue;
        f = row_start(c, T_FAILURES, pid);
        cell(f, x->type, 0);
        cell(f, t ? t->name_ja : NULL, 0);
        cell(f, mm_ssmix2_type_section(x->type), 0);
        cellu(f, x->files);
        cellu(f, x->failed);
        cellu(f, x->folders);
        cellu(f, x->damaged);
        cell(f, x->reason, 0);
        row_end(c, T_FAILURES, NULL, src);
    }
}

int mm_export_csv_add(mm_export_csv *c, const mm_ssmix2_record *r,
                      const struct mm_export_source *src)
{
    const struct mm_ssmix2_patient *p;
    mm_buf tmp;

    MM_ASSERT_ARG(c != NULL && r != NULL && src != NULL && !c->closed);
    if (c->err)
        return c->err;
    if (!(p = mm_ssmix2_record_patient(r)) || !p->id[0])
        return mm_error_set(MM_EINVAL, "the record names no patient");
    mm_buf_init(&tmp, 1u << 20);
    add_patient(c, p, src);
    add_encounters(c, r, p->id, src);
    add_diagnoses(c, r, p->id, src);
    add_allergies(c, r, p->id, src);
    add_prescriptions(c, r, p->id, src, &tmp);
    add_injections(c, r, p->id, src, &tmp);
    add_admins(c, r, p->id, src);
    add_labs(c, r, p->id, src);
    add_exams(c, r, p->id, src);
    add_documents(c, r, p->id, src);
    add_failures(c, r, p->id, src);
    mm_buf_release(&tmp);
    return c->err;
}

/* Flush and fsync table @t. */
static int finish(mm_export_csv *c, int t)
{
    FILE *f = c->f[t];

    c->f[t] = NULL;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        int e = errno;
        fclose(f);
        fail_io(c, (enum table)t, e);
        return c->err;
    }
    if (fclose(f) != 0) {
        fail_io(c, (enum table)t, errno);
        return c->err;
    }
    return 0;
}

int mm_export_csv_close(mm_export_csv *c)
{
    char red[MM_LOG_PATH_MAX];
    int err;

    MM_ASSERT_ARG(c != NULL && !c->closed);
    if (c->err)
        return c->err;
    for (int t = 0; t < T_COUNT; t++)
        if ((err = finish(c, t)) < 0)
            return err;
    for (int t = 0; t < T_COUNT; t++) {
        if (rename(c->tmp[t], c->final[t]) != 0)
            return c->err = mm_error_set_errno(MM_EIO, errno, "cannot rename '%s'",
                                               mm_log_path(red, sizeof(red), c->tmp[t]));
        mm_free(c->tmp[t]);
        c->tmp[t] = NULL;
    }
    c->closed = 1;
    return mm_os_fsync_dir(c->dir);
}

void mm_export_csv_free(mm_export_csv *c)
{
    if (!c)
        return;
    for (int t = 0; t < T_COUNT; t++) {
        if (c->f[t])
            fclose(c->f[t]);
        if (c->tmp[t])
            unlink(c->tmp[t]); /* not closed: no table is left cut short */
        mm_free(c->tmp[t]);
        mm_free(c->final[t]);
    }
    mm_free(c->dir);
    mm_free(c);
}

uint64_t mm_export__csv_rows(const mm_export_csv *c)
{
    return c ? c->rows : 0;
}
