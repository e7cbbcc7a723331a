/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The offline viewer: an HTTP server (libmicrohttpd) on 127.0.0.1 only that serves the
 * built-in web pages and a JSON API over one repository. Nothing is readable before a
 * login: a passphrase unlocks a key slot, then the chosen generation's patient index is
 * decrypted into memory (never onto a disk) and read in place by a pool of read-only
 * SQLite connections, one per request in flight. Sessions are random tokens in an HttpOnly,
 * SameSite=Strict cookie that expire when idle; when the last session ends, the indexes
 * are wiped and the keys dropped. Wrong passphrases are answered slowly and, after many, not
 * at all for a while. Logins, failed logins, patients opened and logouts are reported to
 * the caller (the CLI writes the audit log). No message names a patient.
 */
#ifndef MM_VIEWER_VIEWER_H
#define MM_VIEWER_VIEWER_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "index/index.h"
#include "repo/repo.h"

/* Seconds a session may stay idle (default) and the largest value accepted. */
#define MM_VIEWER_IDLE_DEFAULT 900u
#define MM_VIEWER_IDLE_MAX     86400u
/* Largest file a document or image request reads from a generation. */
#define MM_VIEWER_FILE_MAX (64u * 1024u * 1024u)

typedef struct mm_viewer mm_viewer;

enum mm_viewer_event_kind {
    MM_VIEWER_LOGIN = 1,        /* a passphrase opened a key slot */
    MM_VIEWER_LOGIN_FAILED = 2, /* a wrong passphrase (or unknown user): @r is NULL */
    MM_VIEWER_PATIENT = 3,      /* a patient's record was shown (@patient, @generation) */
    MM_VIEWER_LOGOUT = 4        /* a session ended (@reason "logout" or "idle") */
};

struct mm_viewer_event {
    enum mm_viewer_event_kind kind;
    int64_t time_ns;        /* when it happened: ns since 1970 UTC */
    int32_t utc_offset_s;   /* the local offset east of UTC then */
    const char *user;       /* key slot of the session; for a failed login the name typed or NULL */
    const char *generation; /* hex ID, or NULL */
    const char *patient;    /* MM_VIEWER_PATIENT only */
    const char *reason;     /* MM_VIEWER_LOGOUT only */
};

/*
 * Called with the events in the order they happened, in batches of @n (a group commit: the
 * answer to a request does not wait for its audit record, which the viewer's writer thread
 * hands over within milliseconds; a stop hands over every event first). Never two calls at
 * once. @r is the open repository (for signing the records), NULL for a batch of failed
 * logins (every event of a batch is one or the other).
 */
typedef void (*mm_viewer_event_fn)(const struct mm_viewer_event *evs, size_t n, mm_repo *r,
                                   void *ctx);

struct mm_viewer_opts {
    const char *repo_path;      /* the repository (medium) */
    const char *generation;     /* shown first: "latest" (NULL) or an ID or prefix */
    unsigned int port;          /* 0: any free port */
    unsigned int idle_timeout;  /* seconds; 0: MM_VIEWER_IDLE_DEFAULT */
    unsigned int fail_delay_ms; /* the first wrong passphrase is answered this late, each next
                                   one twice as late up to 30 s; 0: 1000 (tests use less) */
    mm_viewer_event_fn event;   /* NULL: none */
    void *event_ctx;
};

/*
 * Start serving on 127.0.0.1 (threads of its own; returns at once).
 * @param[out] out the server, owned by the caller (mm_viewer_stop); untouched on failure
 * @return 0, MM_ENOTFOUND (no repository at the path), MM_EIO (the port cannot be bound),
 *         MM_EINVAL, MM_ENOMEM
 */
int mm_viewer_start(mm_viewer **out, const struct mm_viewer_opts *o);

/*
 * Make jansson wipe every block it frees (process-wide), so a passphrase parsed from a login
 * body leaves no copy in freed heap. Blocks stay malloc'd and free'd, so values made before
 * the call are freed correctly after it. Call it before other threads use jansson;
 * mm_viewer_start() does.
 */
void mm_viewer_json_wiping(void);

/*
 * Read a login body: a JSON object (UTF-8) with the string member "passphrase" (not empty)
 * and, optionally, the string member "user" ("" or absent: try every key slot), nothing else,
 * no member twice. jansson's copies are wiped once mm_viewer_json_wiping() is installed.
 * @param[out] user the user name (@ucap bytes with the NUL), "" when absent or on error
 * @param[out] pass the passphrase (@pcap bytes with the NUL), wiped on error; *@plen its length
 * @return 0, MM_EINVAL (not such an object), MM_ELIMIT (a value too long for its buffer)
 */
int mm_viewer_login_parse(const char *body, size_t n, char *user, size_t ucap, char *pass,
                          size_t pcap, size_t *plen);

/* The port the server listens on. */
unsigned int mm_viewer_port(const mm_viewer *v);

/* Stop the server, end every session (reported as logouts), wipe and free. Accepts NULL. */
void mm_viewer_stop(mm_viewer *v);

/*
 * A built-in asset ("index.html", "app.js", "app.css", ...).
 * @param[out] type its Content-Type (may be NULL)
 * @return the bytes (static) with *@n set, or NULL when there is no such asset
 */
const unsigned char *mm_viewer_asset(const char *name, size_t *n, const char **type);

/*
 * Append to @out the JSON the patient API answers: {"generation": @gen, "record": the
 * summary, "current_medication": mm_viewer_current_meds() at @as_of (only when @as_of is not
 * NULL), "labs": the lab matrix}.
 * @param as_of local time "YYYY-MM-DDTHH:MM" (the generation's time, or the one asked for)
 * @return 0, MM_ENOTFOUND (no such patient), MM_EINVAL (bad @as_of), MM_ECORRUPT, MM_ELIMIT,
 *         MM_ENOMEM, MM_EIO
 */
int mm_viewer_patient_json(mm_index *ix, const char *gen, const char *as_of, const char *id,
                           mm_buf *out);

/*
 * Append to @out the IDs (NUL-separated) of the patients whose newest stay (admission,
 * transfer, leave or return without a later discharge) is in ward @ward, sorted by room,
 * then ID; *@n is their count.
 * @return 0, MM_ENOMEM, MM_EIO, MM_ECORRUPT (a summary that is not JSON)
 */
int mm_viewer_ward_patients(mm_index *ix, const char *ward, mm_buf *out, size_t *n);

/*
 * The ward screen: with @ward NULL, append {"wards":[{"ward":code,"count":N}...]} (every ward
 * with a current inpatient, as mm_viewer_ward_patients decides, sorted by code; *@n the number
 * of wards); with @ward, {"wards":[{"ward":code,"patients":[{id,name,kana,sex,birth_date,room,
 * bed,since,allergies (a count)}...]}]} for that ward (sorted by room, bed, ID; *@n the
 * number of patients), and their IDs NUL-separated to @ids (may be NULL) for the audit log.
 * @return 0, MM_ENOMEM, MM_ELIMIT, MM_EIO, MM_ECORRUPT (a summary that is not JSON)
 */
int mm_viewer_wards_json(mm_index *ix, const char *ward, mm_buf *out, mm_buf *ids, size_t *n);

/* @ns (since 1970 UTC) as local time "YYYY-MM-DDTHH:MM:SS+09:00"; "" when unknown. */
void mm_viewer_local_time(int64_t ns, char out[48]);

/*
 * Check @as_of is a local time "YYYY-MM-DDTHH:MM" (a real calendar date and time).
 * @return 0, MM_EINVAL (not such a time)
 */
int mm_viewer_as_of_check(const char *as_of);

/*
 * Whether @spec can name a generation as the API's ?gen= does: 8 to 64 lower-case hex
 * digits (an ID or a prefix of one). @return 1 or 0
 */
int mm_viewer_gen_spec_ok(const char *spec);

/*
 * The current medication of @record (the record JSON, parsed) at local time @as_of
 * "YYYY-MM-DDTHH:MM": {"as_of","items":[...],"undetermined":[...],"timeline":[...]} as
 * docs/orders.md ("Current medication") defines it. Only current orders count (no status, or
 * "current"); a line whose dates or duration cannot be read is listed in "undetermined" with a
 * reason code ("no_start", "bad_start", "bad_end", "end_before_start", "bad_days",
 * "bad_days_unit", "pattern_not_understood"), never dropped. Dates are civil dates (no time
 * zone arithmetic).
 * @param[out] out the answer, owned by the caller (json_decref); untouched on failure
 * @return 0, MM_EINVAL (@as_of not such a time), MM_ENOMEM
 */
struct json_t;
int mm_viewer_current_meds(const struct json_t *record, const char *as_of, struct json_t **out);

/*
 * Append to @out the record JSON @json (@n bytes, an object) with the member
 * "current_medication" (mm_viewer_current_meds at @as_of) added as its last member; the rest
 * is copied byte for byte. The medication is judged from @from (@from_n bytes: the same
 * record without history, so that orders a history lists are not taken for current), or
 * from @json itself when @from is NULL.
 * @return 0, MM_EINVAL (bad @as_of), MM_ECORRUPT (not a JSON object), MM_ELIMIT, MM_ENOMEM;
 *         on failure @out keeps its previous content
 */
int mm_viewer_record_with_meds(const char *json, size_t n, const char *from, size_t from_n,
                               const char *as_of, mm_buf *out);

/* The language of text the viewer module writes. */
enum mm_viewer_lang { MM_VIEWER_JA = 0, MM_VIEWER_EN = 1 };

/*
 * Append to @out the terminal summary of one patient's record (what `mamori show` prints):
 * patient header (marked when the identity comes from a message other than ADT-00), the
 * current medication at @as_of (mm_viewer_current_meds), allergies with their source,
 * current diagnoses, recent encounters, prescriptions and injections as a pharmacist
 * transcribes them, the latest value of each lab test, documents and images, the fields not
 * interpreted — rendered from the record JSON @json (@n bytes) of mm_ssmix2_record_json()
 * without history, or a patient index summary (mm_index_summary), which has the same shape.
 * @param as_of "YYYY-MM-DDTHH:MM" (local time) the current medication is judged at and the
 *        age is counted to; "YYYY-MM-DD" (its 00:00); NULL for now (local time)
 * @return 0, MM_ECORRUPT (not a JSON object), MM_ELIMIT, MM_ENOMEM; on failure @out keeps
 *         its previous content
 */
int mm_viewer_record_text(const char *json, size_t n, enum mm_viewer_lang lang, const char *as_of,
                          mm_buf *out);

/* Other generations a recovery search looks into (newest first), and failed types it takes. */
#define MM_VIEWER_RECOVERY_GENS  12
#define MM_VIEWER_RECOVERY_TYPES 16
/* The longest data-type name a read failure may carry (an extended data-type folder). */
#define MM_VIEWER_TYPE_MAX 180

/* A generation a recovery search looked into. */
struct mm_viewer_recovery_gen {
    char id[MM_CRYPTO_HEX_SIZE];
    char time[48]; /* local time of the backup, as mm_viewer_local_time() writes it */
};

/*
 * Where a recovery search finds the other generations: @open is asked for candidate @i = 0,
 * 1, ... (the newest generation with an index other than the record's own first) and fills
 * *@g and *@ix (kept open by the source); it returns MM_ENOTFOUND past the last candidate,
 * another error for one that cannot be opened (skipped; it still counts as one of the
 * MM_VIEWER_RECOVERY_GENS). @close (may be NULL) is called after each successful @open.
 */
struct mm_viewer_recovery_src {
    int (*open)(void *arg, size_t i, struct mm_viewer_recovery_gen *g, mm_index **ix);
    void (*close)(void *arg, mm_index *ix);
    void *arg;
};

/* The answer of a recovery search. */
struct mm_viewer_recovery {
    size_t n;        /* failed data types (at most MM_VIEWER_RECOVERY_TYPES) */
    size_t searched; /* other generations whose index was opened */
    char type[MM_VIEWER_RECOVERY_TYPES][MM_VIEWER_TYPE_MAX + 1];
    int found[MM_VIEWER_RECOVERY_TYPES];                         /* 1: gen[t] holds it readable */
    struct mm_viewer_recovery_gen gen[MM_VIEWER_RECOVERY_TYPES]; /* when found[t] */
};

/*
 * For each data type whose files failed to read in patient @id's summary in @ix (its
 * read_failures with failed or folders > 0), the newest of the first MM_VIEWER_RECOVERY_GENS
 * candidates of @src whose summary of the patient has no read failure of that type and
 * something in the type's section (a generation from before the files existed is no help).
 * @src is not asked at all when nothing failed. A candidate without the patient helps with
 * nothing. @ix is no longer read once @src is first asked (a caller short of open indexes
 * may let it go then). OUT: *@out
 * @return 0, MM_ENOTFOUND (no such patient in @ix), MM_ECORRUPT, MM_ENOMEM, MM_EIO
 */
int mm_viewer_recovery(mm_index *ix, const char *id, const struct mm_viewer_recovery_src *src,
                       struct mm_viewer_recovery *out);

/*
 * Append @r as JSON members (no braces): "searched":N,"help":{"<type>":{"id","short","time"}
 * or null,...}.
 * @return 0, MM_ELIMIT, MM_ENOMEM
 */
int mm_viewer_recovery_json(const struct mm_viewer_recovery *r, mm_buf *out);

/* One generation as the print document's header shows it. */
struct mm_viewer_print_gen {
    const char *id, *name; /* name may be NULL */
    const char *time;      /* local time of the backup, "YYYY-MM-DDTHH:MM:SS+09:00" */
    const char *guard;     /* "none", "clean", "suspect" */
    int latest;
    /* NULL: documents and images listed by name only. Else the repository and generation
     * their files are read from, so that the document holds each CDA document's text and each
     * JPEG (up to MM_VIEWER_PRINT_IMAGE_MAX) to print as a thumbnail. */
    mm_repo *repo;
    const struct mm_repo_gen *gen;
    /* NULL, or the other generations: each patient with read failures then carries
     * "recovery":{mm_viewer_recovery_json()} so that paper names a generation that holds the
     * failed sections readable (the viewer's /api/recovery answer, printed). */
    const struct mm_viewer_recovery_src *others;
};

/* Largest JPEG a print document holds (a larger one is listed by name). */
#define MM_VIEWER_PRINT_IMAGE_MAX (4u * 1024u * 1024u)
/* Largest CDA document a print document holds as text. */
#define MM_VIEWER_PRINT_TEXT_MAX (4u * 1024u * 1024u)

/*
 * Write one standalone printable HTML document (the viewer's stylesheet and script built
 * in, the data of every patient as JSON, with the texts of the CDA documents and the JPEGs
 * as data: URLs when @gen names a repository) with the summaries of the @n patients @ids
 * (patients not in the index are left out and counted in *@missing).
 * @param title shown on top of the document ("3階東病棟 入院患者")
 * @param[out] in_doc NULL, or @n flags: 1 for each patient the document holds
 * @return 0, MM_ENOTFOUND (none of the patients is in the index), MM_ELIMIT, MM_ENOMEM,
 *         MM_EIO, MM_ECORRUPT (a damaged document; a missing one is only left out)
 */
int mm_viewer_print(mm_index *ix, const struct mm_viewer_print_gen *gen, const char *title,
                    const char *const *ids, size_t n, mm_buf *out, size_t *missing,
                    unsigned char *in_doc);

#endif
