/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the S3 client's XML reader and answer parsers (src/lib/s3/s3_xml.c), offline:
 * answers as Ceph RGW and AWS write them (listings V2 and of versions with continuation
 * markers, lock and versioning configuration, retention, multipart, errors), entities and
 * CDATA, and malformed, truncated and hostile answers (DOCTYPE, unknown entities, deep
 * nesting, too many elements, mixed content, NUL bytes, every truncation of a valid answer,
 * seeded random mutations), which must all be MM_ECORRUPT or MM_ELIMIT and never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/error.h"
#include "s3/s3.h"
#include "s3/s3_wire.h"

static const char list_v2[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>mm-b</Name><Prefix>p/</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
        "<Contents><Key>p/a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos;</Key>"
        "<LastModified>2026-12-07T09:00:00.123Z</LastModified><ETag>&quot;x&quot;</ETag>"
        "<Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>\n"
        "  <Contents><Key>p/&#x65E5;&#26412;</Key><LastModified>2026-12-07T09:00:01Z"
        "</LastModified><Size>18446744073709551615</Size></Contents>"
        "<CommonPrefixes><Prefix>p/d/</Prefix></CommonPrefixes>"
        "<KeyCount>2</KeyCount><NextContinuationToken>a+b/c=d==</NextContinuationToken>"
        "</ListBucketResult>";

static const char list_versions[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListVersionsResult "
        "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name><Prefix></Prefix>"
        "<KeyMarker></KeyMarker><VersionIdMarker></VersionIdMarker>"
        "<NextKeyMarker>k/2</NextKeyMarker><NextVersionIdMarker>-Qa8vj.x</NextVersionIdMarker>"
        "<MaxKeys>3</MaxKeys><IsTruncated>true</IsTruncated>"
        "<DeleteMarker><Key>k/1</Key><VersionId>dm1</VersionId><IsLatest>true</IsLatest>"
        "<LastModified>2026-12-07T09:00:02.000Z</LastModified><Owner><ID>u</ID></Owner>"
        "</DeleteMarker>"
        "<Version><Key>k/1</Key><VersionId>-abc</VersionId><IsLatest>false</IsLatest>"
        "<LastModified>2026-12-07T09:00:01.000Z</LastModified><ETag>\"e\"</ETag><Size>5</Size>"
        "</Version>"
        "<Version><Key>k/2</Key><VersionId>null</VersionId><IsLatest>true</IsLatest>"
        "<LastModified>2026-12-07T09:00:00.000Z</LastModified><Size>0</Size></Version>"
        "</ListVersionsResult>";

struct seen {
    int n;
    struct mm_s3_obj o[8];
    char keys[8][64];
};

static int seen_fn(void *arg, const struct mm_s3_obj *o)
{
    struct seen *s = arg;
    if (s->n < 8) {
        s->o[s->n] = *o;
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", o->key);
    }
    s->n++;
    return 0;
}

static int stop_fn(void *arg, const struct mm_s3_obj *o)
{
    (void)arg;
    (void)o;
    return 7;
}

static void list__v2_entries_and_token(void **state)
{
    struct mm_s3_page pg;
    struct seen s = { 0 };
    (void)state;
    assert_int_equal(mm_s3_parse_list(list_v2, strlen(list_v2), 0, &pg, seen_fn, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "p/a&b <c> \"d\" 'e'");
    assert_string_equal(s.keys[1], "p/\xe6\x97\xa5\xe6\x9c\xac");
    assert_int_equal(s.o[0].size, 12);
    assert_true(s.o[1].size == UINT64_MAX);
    assert_int_equal(s.o[0].mtime, 1796634000);
    assert_int_equal(s.o[1].mtime, 1796634001);
    assert_true(pg.truncated);
    assert_string_equal(pg.next_token, "a+b/c=d==");
}

static void list__versions_and_markers(void **state)
{
    struct mm_s3_page pg;
    struct seen s = { 0 };
    (void)state;
    assert_int_equal(mm_s3_parse_list(list_versions, strlen(list_versions), 1, &pg, seen_fn, &s),
                     0);
    assert_int_equal(s.n, 3);
    assert_true(s.o[0].delete_marker);
    assert_true(s.o[0].latest);
    assert_string_equal(s.o[0].version, "dm1");
    assert_false(s.o[1].delete_marker);
    assert_false(s.o[1].latest);
    assert_string_equal(s.o[1].version, "-abc");
    assert_int_equal(s.o[1].size, 5);
    assert_string_equal(s.o[2].version, "null");
    assert_true(pg.truncated);
    assert_string_equal(pg.next_key, "k/2");
    assert_string_equal(pg.next_version, "-Qa8vj.x");
}

static void list__callback_stops(void **state)
{
    struct mm_s3_page pg;
    (void)state;
    assert_int_equal(mm_s3_parse_list(list_v2, strlen(list_v2), 0, &pg, stop_fn, NULL), 7);
}

static void list__last_page_and_empty(void **state)
{
    static const char last[] = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                               "</ListBucketResult>";
    static const char cdata[] = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents>"
                                "<Key><![CDATA[a<b>&amp;]]>c&amp;</Key><Size>1</Size>"
                                "<LastModified>1970-01-01T00:00:00Z</LastModified></Contents>"
                                "</ListBucketResult>";
    struct mm_s3_page pg;
    struct seen s = { 0 };
    (void)state;
    assert_int_equal(mm_s3_parse_list(last, strlen(last), 0, &pg, seen_fn, &s), 0);
    assert_int_equal(s.n, 0);
    assert_false(pg.truncated);
    assert_int_equal(mm_s3_parse_list(cdata, strlen(cdata), 0, &pg, seen_fn, &s), 0);
    assert_string_equal(s.keys[0], "a<b>&amp;c&");
}

/* Parse @doc as a V2 listing. */
static int list(const char *doc)
{
    struct mm_s3_page pg;
    struct seen s = { 0 };
    return mm_s3_parse_list(doc, strlen(doc), 0, &pg, seen_fn, &s);
}

static void list__bad_fields(void **state)
{
    (void)state;
    /* truncated without a token */
    assert_int_equal(list("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"),
                     MM_ECORRUPT);
    assert_int_equal(list("<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>"),
                     MM_ECORRUPT);
    assert_int_equal(list("<ListBucketResult></ListBucketResult>"), MM_ECORRUPT);
    /* size not a number, too big, negative; missing key; bad time */
    static const char *const bad[] = {
        "<Key>k</Key><Size>1x</Size><LastModified>2026-12-07T09:00:00Z</LastModified>",
        "<Key>k</Key><Size>18446744073709551616</Size><LastModified>2026-12-07T09:00:00Z"
        "</LastModified>",
        "<Key>k</Key><Size>-1</Size><LastModified>2026-12-07T09:00:00Z</LastModified>",
        "<Size>1</Size><LastModified>2026-12-07T09:00:00Z</LastModified>",
        "<Key></Key><Size>1</Size><LastModified>2026-12-07T09:00:00Z</LastModified>",
        "<Key>k</Key><Size>1</Size><LastModified>2026-12-07 09:00:00</LastModified>",
        "<Key>k</Key><Size>1</Size>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char doc[512];
        snprintf(doc, sizeof(doc),
                 "<ListBucketResult><IsTruncated>false</IsTruncated><Contents>%s</Contents>"
                 "</ListBucketResult>",
                 bad[i]);
        assert_int_equal(list(doc), MM_ECORRUPT);
    }
    /* the wrong answer */
    assert_int_equal(list("<ListVersionsResult><IsTruncated>false</IsTruncated>"
                          "</ListVersionsResult>"),
                     MM_ECORRUPT);
}

static void list__every_truncation_is_corrupt(void **state)
{
    (void)state;
    for (int v = 0; v < 2; v++) {
        const char *doc = v ? list_versions : list_v2;
        size_t n = strlen(doc);
        for (size_t i = 0; i < n; i++) {
            struct mm_s3_page pg;
            struct seen s = { 0 };
            int rc = mm_s3_parse_list(doc, i, v, &pg, seen_fn, &s);
            assert_true(rc == MM_ECORRUPT);
        }
    }
}

/* Parse @doc alone. */
static int parse(const char *doc, size_t n)
{
    mm_s3_xml *x = NULL;
    int rc = mm_s3_xml_parse(&x, doc, n);
    mm_s3_xml_free(x);
    return rc;
}

#define PARSE(s) parse(s, sizeof(s) - 1)

static void xml__hostile(void **state)
{
    (void)state;
    assert_int_equal(PARSE("<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]>"
                           "<Error><Code>&lol;</Code></Error>"),
                     MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>&lol;</Code></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>&#0;</Code></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>&#xD800;</Code></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>&#x110000;</Code></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>&amp</Code></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>&#;</Code></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>a</Cod></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>a</Code>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error/><Error/>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error/>junk"), MM_ECORRUPT);
    assert_int_equal(PARSE("junk<Error/>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error>text<Code>a</Code></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><Code>a</Code>text</Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><?pi x?></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error a=\"1></Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><!-- unclosed </Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error><![CDATA[ unclosed </Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE("< Error/>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error\x01/>"), MM_ECORRUPT);
    assert_int_equal(PARSE("<Error>\0</Error>"), MM_ECORRUPT);
    assert_int_equal(PARSE(""), MM_ECORRUPT);
    assert_int_equal(PARSE("   "), MM_ECORRUPT);
    assert_int_equal(PARSE("</Error>"), MM_ECORRUPT);
    /* fine: attributes with '>' in quotes, comments, prefixes, blanks after the root */
    assert_int_equal(PARSE("<!-- c --><s:Error a='>' b=\"/>\"><s:Code>x</s:Code></s:Error>\n"), 0);
}

static void xml__limits(void **state)
{
    mm_buf b;
    (void)state;
    mm_buf_init(&b, 64u << 20);
    for (int i = 0; i < 100; i++)
        assert_int_equal(mm_buf_puts(&b, "<a>"), 0);
    assert_int_equal(parse(b.ptr, b.len), MM_ELIMIT);
    mm_buf_clear(&b);
    assert_int_equal(mm_buf_puts(&b, "<r>"), 0);
    for (unsigned i = 0; i < MM_S3_XML_NODES_MAX + 1; i++)
        assert_int_equal(mm_buf_puts(&b, "<e/>"), 0);
    assert_int_equal(mm_buf_puts(&b, "</r>"), 0);
    assert_int_equal(parse(b.ptr, b.len), MM_ELIMIT);
    mm_buf_clear(&b);
    assert_int_equal(mm_buf_grow(&b, MM_S3_XML_MAX + 1), 0);
    memset(b.ptr, ' ', MM_S3_XML_MAX + 1);
    assert_int_equal(parse(b.ptr, MM_S3_XML_MAX + 1), MM_ELIMIT);
    mm_buf_release(&b);
}

static void xml__tree_access(void **state)
{
    static const char doc[] = "<R><A>1</A><B><C>2</C></B><A>3</A><E/></R>";
    mm_s3_xml *x = NULL;
    (void)state;
    assert_int_equal(mm_s3_xml_parse(&x, doc, strlen(doc)), 0);
    assert_string_equal(mm_s3_xml_name(x, 0), "R");
    int a = mm_s3_xml_child(x, 0, "A");
    assert_string_equal(mm_s3_xml_text(x, a), "1");
    assert_string_equal(mm_s3_xml_text(x, mm_s3_xml_next(x, a, "A")), "3");
    assert_int_equal(mm_s3_xml_next(x, mm_s3_xml_next(x, a, "A"), "A"), -1);
    assert_string_equal(mm_s3_xml_get(x, mm_s3_xml_child(x, 0, "B"), "C"), "2");
    assert_string_equal(mm_s3_xml_get(x, 0, "E"), "");
    assert_null(mm_s3_xml_get(x, 0, "Z"));
    assert_int_equal(mm_s3_xml_child(x, -1, "A"), -1);
    assert_string_equal(mm_s3_xml_text(x, 999), "");
    mm_s3_xml_free(x);
}

static void answers__lock_config(void **state)
{
    static const char on[] = "<ObjectLockConfiguration xmlns=\"x\"><ObjectLockEnabled>Enabled"
                             "</ObjectLockEnabled></ObjectLockConfiguration>";
    static const char rule[] = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
                               "</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE"
                               "</Mode><Years>2</Years></DefaultRetention></Rule>"
                               "</ObjectLockConfiguration>";
    static const char bad[] = "<ObjectLockConfiguration><Rule><DefaultRetention><Mode>X</Mode>"
                              "<Days>2</Days></DefaultRetention></Rule></ObjectLockConfiguration>";
    int en;
    enum mm_s3_lock_mode m;
    unsigned d;
    (void)state;
    assert_int_equal(mm_s3_parse_lock(on, strlen(on), &en, &m, &d), 0);
    assert_true(en);
    assert_int_equal(m, MM_S3_LOCK_NONE);
    assert_int_equal(d, 0);
    assert_int_equal(mm_s3_parse_lock(rule, strlen(rule), &en, &m, &d), 0);
    assert_int_equal(m, MM_S3_LOCK_COMPLIANCE);
    assert_int_equal(d, 730);
    assert_int_equal(mm_s3_parse_lock(bad, strlen(bad), &en, &m, &d), MM_ECORRUPT);
    assert_int_equal(mm_s3_parse_lock("<Error/>", 8, &en, &m, &d), MM_ECORRUPT);
}

static void answers__versioning_retention_upload(void **state)
{
    static const char ven[] = "<VersioningConfiguration><Status>Enabled</Status>"
                              "</VersioningConfiguration>";
    static const char vsus[] = "<VersioningConfiguration><Status>Suspended</Status>"
                               "</VersioningConfiguration>";
    static const char ret[] = "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>"
                              "2026-12-07T09:00:00.000Z</RetainUntilDate></Retention>";
    static const char up[] = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                             "<UploadId>2~abc=+/</UploadId></InitiateMultipartUploadResult>";
    int en;
    enum mm_s3_lock_mode m;
    int64_t until;
    char id[1024];
    (void)state;
    assert_int_equal(mm_s3_parse_versioning(ven, strlen(ven), &en), 0);
    assert_true(en);
    assert_int_equal(mm_s3_parse_versioning(vsus, strlen(vsus), &en), 0);
    assert_false(en);
    assert_int_equal(mm_s3_parse_versioning("<VersioningConfiguration/>", 26, &en), 0);
    assert_false(en);
    assert_int_equal(mm_s3_parse_retention(ret, strlen(ret), &m, &until), 0);
    assert_int_equal(m, MM_S3_LOCK_GOVERNANCE);
    assert_int_equal(until, 1796634000);
    assert_int_equal(
            mm_s3_parse_retention("<Retention><Mode>COMPLIANCE</Mode></Retention>", 46, &m, &until),
            MM_ECORRUPT);
    assert_int_equal(mm_s3_parse_upload_id(up, strlen(up), id), 0);
    assert_string_equal(id, "2~abc=+/");
    assert_int_equal(mm_s3_parse_upload_id("<InitiateMultipartUploadResult/>", 32, id),
                     MM_ECORRUPT);
}

static void answers__error_and_complete(void **state)
{
    static const char err[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied"
                              "</Code><Message></Message><RequestId>tx0</RequestId></Error>";
    static const char done[] = "<CompleteMultipartUploadResult><Key>k</Key><ETag>\"e-2\"</ETag>"
                               "</CompleteMultipartUploadResult>";
    char code[64];
    (void)state;
    mm_s3_parse_error_code(err, strlen(err), code);
    assert_string_equal(code, "AccessDenied");
    mm_s3_parse_error_code("<html>oops</html>", 17, code);
    assert_string_equal(code, "");
    mm_s3_parse_error_code("", 0, code);
    assert_string_equal(code, "");
    assert_int_equal(mm_s3_parse_complete(done, strlen(done), code), 1);
    assert_int_equal(mm_s3_parse_complete(err, strlen(err), code), 0);
    assert_string_equal(code, "AccessDenied");
    assert_int_equal(mm_s3_parse_complete("<x", 2, code), -1);
}

/* Every parser on @doc: no crash, a known code. */
static void all_parsers(const char *doc, size_t n)
{
    struct mm_s3_page pg;
    struct seen s = { 0 };
    int en, rc;
    unsigned d;
    enum mm_s3_lock_mode m;
    int64_t u;
    char id[1024], code[64];
    for (int v = 0; v < 2; v++) {
        rc = mm_s3_parse_list(doc, n, v, &pg, seen_fn, &s);
        assert_true(rc == 0 || rc == MM_ECORRUPT || rc == MM_ELIMIT);
    }
    rc = mm_s3_parse_lock(doc, n, &en, &m, &d);
    assert_true(rc == 0 || rc == MM_ECORRUPT);
    rc = mm_s3_parse_retention(doc, n, &m, &u);
    assert_true(rc == 0 || rc == MM_ECORRUPT);
    rc = mm_s3_parse_upload_id(doc, n, id);
    assert_true(rc == 0 || rc == MM_ECORRUPT);
    mm_s3_parse_error_code(doc, n, code);
    assert_true(strlen(code) < 64);
}

static void xml__random_mutations(void **state)
{
    static const char alphabet[] = "<>/&;#x!?[]-\"'= aZ0\n";
    uint32_t seed = 20261207u;
    char doc[sizeof(list_versions)];
    (void)state;
    for (int round = 0; round < 3000; round++) {
        const char *src = round & 1 ? list_versions : list_v2;
        size_t n = strlen(src);
        memcpy(doc, src, n);
        int edits = 1 + (int)(seed % 4);
        for (int e = 0; e < edits; e++) {
            seed = seed * 1664525u + 1013904223u;
            size_t at = (seed >> 8) % n;
            seed = seed * 1664525u + 1013904223u;
            doc[at] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
        }
        seed = seed * 1664525u + 1013904223u;
        all_parsers(doc, (seed >> 8) % 4 ? n : (seed >> 12) % n);
    }
}

static void xml__allocation_failure_torture(void **state)
{
    long k;
    (void)state;
    mm_alloc_track(1);
    for (k = 1;; k++) {
        struct mm_s3_page pg;
        struct seen s = { 0 };
        mm_alloc_fail_at(k, 0);
        int rc = mm_s3_parse_list(list_versions, strlen(list_versions), 1, &pg, seen_fn, &s);
        assert_int_equal(mm_alloc_live(), 0);
        if (mm_alloc_count() < k) { /* no allocation failed: the run is complete */
            assert_int_equal(rc, 0);
            assert_int_equal(s.n, 3);
            break;
        }
        assert_int_equal(rc, MM_ENOMEM);
        assert_true(k < 100);
    }
    mm_alloc_fail_at(0, 0);
    mm_alloc_track(0);
    assert_true(k > 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list__v2_entries_and_token),
        cmocka_unit_test(list__versions_and_markers),
        cmocka_unit_test(list__callback_stops),
        cmocka_unit_test(list__last_page_and_empty),
        cmocka_unit_test(list__bad_fields),
        cmocka_unit_test(list__every_truncation_is_corrupt),
        cmocka_unit_test(xml__hostile),
        cmocka_unit_test(xml__limits),
        cmocka_unit_test(xml__tree_access),
        cmocka_unit_test(answers__lock_config),
        cmocka_unit_test(answers__versioning_retention_upload),
        cmocka_unit_test(answers__error_and_complete),
        cmocka_unit_test(xml__random_mutations),
        cmocka_unit_test(xml__allocation_failure_torture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
