/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Orders as the JAHIS 処方 / 注射データ交換規約 write them (docs/orders.md), read from
 * messages written for this test on the constructs of the JAHIS and JAMI examples (not
 * copies of them): unequal doses per timing (RXE-7 V codes, and the older several TQ1),
 * day patterns (隔日 I1100000, 月・木 W0100100), a taper and alternating regimens, PRN
 * with condition, maximum and total, dispense amount, site, instructions, 粉砕, flags,
 * HL7 null, an injection with times, rate and components, fields not interpreted kept in
 * raw[], and a cancel. Both the structs and the JSON of mamori show --json are checked,
 * and the field tally must report nothing dropped.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/limits.h"
#include "hl7/hl7.h"
#include "ssmix2/ssmix2.h"
#include "test_message.h"

/* A: unequal doses, every other day, Mon/Thu, PRN, external with site, narcotic */
static const char msg_a[] =
        "MSH|^~\\&|HIS|S|GW|R|20260821091000||RDE^O11^RDE_O11|20260821091000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|NW|000000000000101||1|||||20260821091000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|1|4|TAB^錠^MR9P||V14NNNNN^４錠^JAMISDP01~V22NNNNN^２錠^JAMISDP01~V31NNNNN^１錠^JAMISDP01|第2病棟||49|TAB^錠^MR9P||||||||7^TAB&錠&MR9P||OHP^外来処方^MR9P~D^粉砕^JHSP0002||||||21^内服^JHSP0003||||2456001F1310\r"
        "TQ1|1||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||7^D&日&ISO+|20260825\r"
        "RXR|PO^口^HL70162\r"
        "NTE|1||粉砕後に分包\r"
        "ORC|NW|000000000000101||2|||||20260821091000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||108665201^ダーゼン錠５ｍｇ^HOT|1||TAB^錠^MR9P|||||4|TAB^錠^MR9P||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01~I1100000&隔日&JAMISDP01|||7^D&日&ISO+|20260821\r"
        "RXR|PO^口^HL70162\r"
        "ORC|NW|000000000000101||3|||||20260821091000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|3||TAB^錠^MR9P|||||6|TAB^錠^MR9P||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01~ W0100100&月曜日、木曜日&JAMISDP01|||2^W&週&ISO+|20260824\r"
        "RXR|PO^口^HL70162\r"
        "ORC|NW|000000000000101||4|||||20260821091000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||100795402^ロキソニン錠６０ｍｇ^HOT|1|\"\"|TAB^錠^MR9P|||||10|TAB^錠^MR9P||||||||||OHP^外来処方^MR9P||||||22^頓用^JHSP0003\r"
        "TQ1|1||1050110020000000&内服・経口・疼痛時&JAMISDP01||||20260821||PRN|疼痛時|1日2回まで|||10\r"
        "RXR|PO^口^HL70162|\"\"\r"
        "ORC|NW|000000000000101||5|||||20260821091000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||106238001^ジフラール軟膏０．０５％^HOT|\"\"||\"\"|OIT^軟膏^MR9P|^血圧低下が見られたら中止^99XYZ|||2|HON^本^MR9P||\"\"||||||||||||||23^外用^JHSP0003\r"
        "TQ1|1||2B74000000000000&外用・塗布・１日４回&JAMISDP01||||20260821\r"
        "RXR|AP^外用^HL70162|77L^左手^JAMISDP01\r"
        "ORC|NW|000000000000101||6|||||20260821091000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||112052301^ＭＳコンチン錠１０ｍｇ^HOT|2||TAB^錠^MR9P|||||28|TAB^錠^MR9P||4-321^医師^一郎||||||4^TAB&錠&MR9P||||||||21^内服^JHSP0003\r"
        "TQ1|1||1022000000000000&内服・経口・１日２回１２時間毎&JAMISDP01|||7^D&日&ISO+|20260821\r"
        "RXR|PO^口^HL70162\r";

/* B: the older unequal form, one TQ1 per timing with its amount in TQ1-2 */
static const char msg_b[] =
        "MSH|^~\\&|HIS|S|GW|R|20260822100000||RDE^O11^RDE_O11|20260822100000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|NW|000000000000102||1|||||20260822100000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|1|4|TAB^錠^MR9P||||||||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1|4|1011000400000000&朝食後&JAMISDP01|||7^D&日&ISO+|20260822\r"
        "TQ1|2|2|1011010000000000&昼食後&JAMISDP01|||7^D&日&ISO+|20260822\r"
        "TQ1|3|1|1011001000000000&夕食後&JAMISDP01|||7^D&日&ISO+|20260822\r"
        "RXR|PO^口^HL70162\r";

/* C: a taper in three steps, each starting when the one before ends */
static const char msg_c[] =
        "MSH|^~\\&|HIS|S|GW|R|20200330100000||RDE^O11^RDE_O11|20200330100000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|NW|000000000000103||000000000000103_01|||||20200330|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||101230901^ペルマックス錠５０μｇ^HOT|1||TAB^錠^MR9P||||||||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1||1011030000000000&内服・経口・１日１回夕食直後&JAMISDP01|||2^D&日&ISO+|20200401\r"
        "RXR|PO^口^HL70162\r"
        "ORC|NW|000000000000103||000000000000103_02|||||20200330|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||101230901^ペルマックス錠５０μｇ^HOT|2||TAB^錠^MR9P||||||||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1||1012030300000000&内服・経口・１日２回朝夕食直後&JAMISDP01|||3^D&日&ISO+|20200403\r"
        "RXR|PO^口^HL70162\r"
        "ORC|NW|000000000000103||000000000000103_03|||||20200330|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||101230901^ペルマックス錠５０μｇ^HOT|3||TAB^錠^MR9P||||||||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1||1013033300000000&内服・経口・１日３回朝昼夕食直後&JAMISDP01|||2^D&日&ISO+|20200406\r"
        "RXR|PO^口^HL70162\r";

/* D: alternating regimens (two Rps of one drug on alternate days): not a taper */
static const char msg_d[] =
        "MSH|^~\\&|HIS|S|GW|R|20260824100000||RDE^O11^RDE_O11|20260824100000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|NW|000000000000104||01|||||20260824|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|3||TAB^錠^MR9P||||||||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01~I1100000&隔日&JAMISDP01|||7^D&日&ISO+|20260825\r"
        "RXR|PO^口^HL70162\r"
        "ORC|NW|000000000000104||02|||||20260824|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|1||TAB^錠^MR9P||||||||||||||||||||||21^内服^JHSP0003\r"
        "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01~I1100000&隔日&JAMISDP01|||7^D&日&ISO+|20260826\r"
        "RXR|PO^口^HL70162\r";

/* E: an injection: times, rate, base and additive, BSA note, an OBX and a Z-segment */
static const char msg_e[] =
        "MSH|^~\\&|HIS|S|GW|R|20260901080000||RDE^O11^RDE_O11|20260901080000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|NW|000000000000105||000000000000105_01_001|||||20260901080000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||I\r"
        "RXE||07^抗がん剤^JHSI0002|510||ml^ミリリットル^ISO+|INJ^注射剤^MR9P|^血圧低下が見られたら中止^JHSIC007~^オーダ時体表面積 1.62 m2^JHSIC007||||||||20260901-001||||||IHP^入院処方^MR9P|H1|102|ml/hr^ミリリットル／時間^ISO+|||02^点滴^JHSI0009\r"
        "TQ1|1|||0900~2100|||202609010900|202609012200\r"
        "RXR|IV^静脈内^HL70162|ARM^腕^HL70550|IVP^点滴ポンプ^HL70164|102^点滴静注^99ILL||L^左^HL70495\r"
        "RXC|B|107750602^ソリタ－Ｔ３号輸液５００ｍＬ^HOT|1|HON^本^MR9P\r"
        "RXC|A|115107702^カルセド注射用２０ｍｇ^HOT|3|BTL^瓶^MR9P|||03^抗がん剤^JHSI0004\r"
        "OBX|1|NM|3140-1^体表面積^LN||1.62|m2^m2^ISO+|||||F\r"
        "ZXY|1|独自の値\r";

/* F: a cancel (ORC-1 CA) */
static const char msg_f[] =
        "MSH|^~\\&|HIS|S|GW|R|20260823100000||RDE^O11^RDE_O11|20260823100000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|CA|000000000000106||1|||||20260823|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|1||TAB^錠^MR9P\r"
        "TQ1|1||1011000400000000&内服・経口・１日１回朝食後&JAMISDP01|||7^D&日&ISO+\r"
        "RXR|PO^口^HL70162\r";

/* G: a PRN narcotic injection (PRN usage code, 頓用処方, RXC-7 classes) and the same drip on
 * two days (a repeat, not a taper) */
static const char msg_g[] =
        "MSH|^~\\&|HIS|S|GW|R|20260902080000||RDE^O11^RDE_O11|20260902080000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|NW|000000000000107||000000000000107_01_001|||||20260902080000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||I\r"
        "RXE||03^麻薬^JHSI0002|50||ml^ミリリットル^ISO+||||||||||||||||IHP^入院処方^MR9P~OTP^頓用処方^JHSI0001||||||01^ワンショット^JHSI0009\r"
        "TQ1|1||PRNpain&疼痛時&MR9P||||||||１日３回まで|||10\r"
        "RXR|IV^静脈内^HL70162\r"
        "RXC|A|185040601^モルヒネ塩酸塩注射液１０ｍｇ^HOT|0.25|AMP^アンプル^MR9P|||01^麻薬^JHSI0005~03^劇薬^JHSI0005\r"
        "RXC|B|107675201^生理食塩液５０ｍＬ^HOT|1|BTL^瓶^MR9P\r"
        "ORC|NW|000000000000107||000000000000107_02_002|||||20260902080000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||I\r"
        "RXE||00^一般^JHSI0002|500||ml^ミリリットル^ISO+||||||||||||||||||100|ml/hr^^ISO+\r"
        "TQ1|1||||||202609020900|202609021400\r"
        "RXR|IV^静脈内^HL70162\r"
        "RXC|B|107750602^ソリタ－Ｔ３号輸液５００ｍＬ^HOT|1|HON^本^MR9P\r"
        "ORC|NW|000000000000107||000000000000107_02_003|||||20260902080000|||D01^医師^一郎|||||01^内科^99Z01||||||||||||I\r"
        "RXE||00^一般^JHSI0002|500||ml^ミリリットル^ISO+||||||||||||||||||100|ml/hr^^ISO+\r"
        "TQ1|1||||||202609030900|202609031400\r"
        "RXR|IV^静脈内^HL70162\r"
        "RXC|B|107750602^ソリタ－Ｔ３号輸液５００ｍＬ^HOT|1|HON^本^MR9P\r";

/* H: one line of a base and seventeen components, then a note */
static const char msg_h[] =
        "MSH|^~\\&|HIS|S|GW|R|20260903100000||RDE^O11^RDE_O11|20260903100000|P|2.5\r"
        "PID|1||0001234^^^^PI||試験^花子^^^^^L^I\r"
        "PV1|1|O\r"
        "ORC|NW|000000000000108||1|||||20260903|||D01^医師^一郎|||||01^内科^99Z01||||||||||||O\r"
        "RXE||620000001^調剤用基剤^HOT|1||G^グラム^MR9P\r"
        "RXC|A|620000100^成分00^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000101^成分01^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000102^成分02^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000103^成分03^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000104^成分04^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000105^成分05^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000106^成分06^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000107^成分07^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000108^成分08^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000109^成分09^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000110^成分10^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000111^成分11^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000112^成分12^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000113^成分13^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000114^成分14^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000115^成分15^HOT|1|G^グラム^MR9P\r"
        "RXC|A|620000116^成分16^HOT|1|G^グラム^MR9P\r"
        "NTE|1||混合して調剤\r"
        "TQ1|1||1013044400000000&内服・経口・１日３回朝昼夕食後&JAMISDP01|||5^D&日&ISO+\r";

/* I: unequal doses written as V codes in TQ1-3 repetitions */
static const char msg_i[] =
        "MSH|^~\\&|HIS|S|GW|R|20260904100000||RDE^O11^RDE_O11|20260904100000|P|2.5\r"
        "PID|1||0001234^^^^PI\r"
        "ORC|NW|000000000000109||1|||||20260904\r"
        "RXE||105271807^プレドニン錠５ｍｇ^HOT|1|2|TAB^錠^MR9P\r"
        "TQ1|1||1012040400000000&内服・経口・１日２回朝夕食後&JAMISDP01~V12NNNNN&２錠&JAMISDP01"
        "~V21NNNNN&１錠&JAMISDP01|||7^D&日&ISO+|20260904\r";

/* A record of one message, with nothing dropped by the field tally. */
static mm_ssmix2_record *record_of(const char *type, const char *order, const char *text)
{
    mm_ssmix2_record *r = NULL;
    struct mm_ssmix2_field_counts c;
    char name[128];

    snprintf(name, sizeof(name), "0001234_20260821_%s_%s_20260821091000000_01_1", type, order);
    assert_int_equal(mm_ssmix2_record_new(&r), 0);
    add_text(r, name, text);
    mm_ssmix2_record_field_counts(r, &c);
    assert_int_equal(c.dropped, 0);
    assert_true(c.read > 0); /* raw: only where a message carries fields not modelled */
    return r;
}

/* The record's JSON, parsed (@flags as mm_ssmix2_record_json). */
static json_t *json_of(const mm_ssmix2_record *r, unsigned flags)
{
    json_error_t jerr;
    json_t *j;
    mm_buf b;

    mm_buf_init(&b, MM_LIMIT_JSON);
    assert_int_equal(mm_ssmix2_record_json(r, &b, flags), 0);
    if (getenv("DUMP"))
        fprintf(stderr, "%s\n", b.ptr);
    j = json_loadb(b.ptr, b.len, 0, &jerr);
    if (!j)
        fail_msg("record JSON does not parse: %s", jerr.text);
    mm_buf_release(&b);
    return j;
}

static const char *js(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);

    if (!json_is_string(v))
        fail_msg("key %s is not a string", k);
    return json_string_value(v);
}

/* Rp @i of the first order of list @list. */
static json_t *rp_at(json_t *j, const char *list, size_t i)
{
    json_t *o = json_array_get(json_object_get(j, list), 0);

    assert_non_null(o);
    return json_array_get(json_object_get(o, "rps"), i);
}

static json_t *drug0(json_t *rp)
{
    json_t *d = json_array_get(json_object_get(rp, "drugs"), 0);

    assert_non_null(d);
    return d;
}

/* Whether the array @a of strings holds @s. */
static int has_str(const json_t *a, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach(a, i, v) if (strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

/* The text of the raw[] entry of field @field in @o, or NULL. */
static const char *raw_text(const json_t *o, const char *field)
{
    size_t i;
    json_t *e;

    json_array_foreach(json_object_get(o, "raw"), i, e)
    {
        if (strcmp(js(e, "field"), field) == 0)
            return js(e, "text");
    }
    return NULL;
}

/* @s, which must be there. */
static const char *must(const char *s)
{
    assert_non_null(s);
    return s;
}

/* Every key of the contract's shape is there, with its type (strings never null). */
static void check_rx_shape(json_t *rp)
{
    static const char *const rkeys[] = { "rp",        "usage",  "usage_code", "days",
                                         "days_unit", "start",  "end",        "condition",
                                         "tq_text",   "total",  "route",      "route_name",
                                         "site",      "device", "method",     NULL };
    static const char *const dkeys[] = {
        "code",          "name",      "system",     "yj",         "dose",       "dose_max",
        "unit",          "unit_code", "form",       "daily_dose", "daily_unit", "dispense",
        "dispense_unit", "class",     "class_code", "rx_no",      NULL
    };
    static const char *const darr[] = { "per_timing", "instructions", "dispensing",
                                        "flags",      "raw",          NULL };
    size_t i;
    json_t *d;

    for (const char *const *k = rkeys; *k; k++)
        js(rp, *k);
    assert_true(json_is_boolean(json_object_get(rp, "prn")));
    assert_true(json_is_array(json_object_get(rp, "times")));
    assert_true(json_is_array(json_object_get(rp, "raw")));
    assert_non_null(json_object_get(rp, "pattern"));
    assert_non_null(json_object_get(rp, "step"));
    json_array_foreach(json_object_get(rp, "drugs"), i, d)
    {
        for (const char *const *k = dkeys; *k; k++)
            js(d, *k);
        for (const char *const *k = darr; *k; k++)
            assert_true(json_is_array(json_object_get(d, *k)));
    }
}

static void order__unequal_doses_dispense_and_raw(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-01", "000000000000101", msg_a);
    const struct mm_ssmix2_order *o;
    const struct mm_ssmix2_rp *rp;
    json_t *j, *d, *pt;

    (void)state;
    assert_int_equal(mm_ssmix2_record_orders(r, 0, &o), 1);
    assert_int_equal(o[0].nrps, 6);
    /* Rp 1: プレドニン 朝4錠・昼2錠・夕1錠, RXE-3 the smallest, RXE-4 the largest */
    rp = &o[0].rps[0];
    assert_string_equal(rp->usage, "内服・経口・１日３回朝昼夕食後");
    assert_string_equal(rp->start, "2026-08-25");
    assert_string_equal(rp->days, "7");
    assert_string_equal(rp->days_unit, "D");
    assert_int_equal(rp->drugs[0].ntimings, 3);
    assert_string_equal(rp->drugs[0].per_timing[0].label, "朝");
    assert_string_equal(rp->drugs[0].per_timing[0].dose, "4");
    assert_string_equal(rp->drugs[0].per_timing[2].label, "夕");
    assert_string_equal(rp->drugs[0].per_timing[2].dose, "1");
    assert_string_equal(rp->drugs[0].dose, "1");
    assert_string_equal(rp->drugs[0].dose_max, "4");
    assert_int_equal(rp->drugs[0].ninstructions, 0); /* V codes are no instructions */
    assert_null(rp->pattern);
    assert_int_equal(rp->step.n, 0);

    j = json_of(r, 0);
    for (size_t i = 0; i < 6; i++)
        check_rx_shape(rp_at(j, "prescriptions", i));
    d = drug0(rp_at(j, "prescriptions", 0));
    pt = json_object_get(d, "per_timing");
    assert_int_equal(json_array_size(pt), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(pt, 1), "n")), 2);
    assert_string_equal(js(json_array_get(pt, 1), "label"), "昼");
    assert_string_equal(js(json_array_get(pt, 1), "dose"), "2");
    assert_string_equal(js(d, "daily_dose"), "7");
    assert_string_equal(js(d, "daily_unit"), "錠");
    assert_string_equal(js(d, "dispense"), "49");
    assert_string_equal(js(d, "dispense_unit"), "錠");
    assert_string_equal(js(d, "unit_code"), "TAB");
    assert_string_equal(js(d, "class"), "内服");
    assert_string_equal(js(d, "class_code"), "21");
    assert_string_equal(js(d, "yj"), "2456001F1310");
    assert_true(has_str(json_object_get(d, "dispensing"), "粉砕"));
    assert_true(has_str(json_object_get(d, "dispensing"), "外来処方"));
    /* RXE-8 is not interpreted: shown raw beside the line, as is the NTE that follows it */
    assert_non_null(raw_text(d, "RXE-8"));
    assert_string_equal(must(raw_text(d, "RXE-8")), "第2病棟");
    assert_non_null(raw_text(d, "NTE"));
    assert_non_null(strstr(must(raw_text(d, "NTE")), "粉砕後に分包"));
    assert_true(json_is_null(json_object_get(rp_at(j, "prescriptions", 0), "pattern")));
    json_decref(j);
    mm_ssmix2_record_free(r);
}

static void order__patterns_prn_site_and_flags(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-01", "000000000000101", msg_a);
    json_t *j = json_of(r, 0), *p;

    (void)state;
    /* Rp 2: 隔日 (TQ1-3 repetition 2, I1100000) */
    p = json_object_get(rp_at(j, "prescriptions", 1), "pattern");
    assert_string_equal(js(p, "kind"), "interval");
    assert_string_equal(js(p, "code"), "I1100000");
    assert_string_equal(js(p, "text"), "隔日");
    assert_int_equal(json_integer_value(json_object_get(p, "on")), 1);
    assert_int_equal(json_integer_value(json_object_get(p, "off")), 1);
    assert_null(json_object_get(p, "weekdays"));
    assert_string_equal(js(rp_at(j, "prescriptions", 1), "start"), "2026-08-21");

    /* Rp 3: 月・木 (W0100100, written with a leading space), for 2 weeks */
    p = json_object_get(rp_at(j, "prescriptions", 2), "pattern");
    assert_string_equal(js(p, "kind"), "weekdays");
    assert_string_equal(js(p, "code"), "W0100100");
    assert_int_equal(json_array_size(json_object_get(p, "weekdays")), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "weekdays"), 0)), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(p, "weekdays"), 1)), 4);
    assert_string_equal(js(rp_at(j, "prescriptions", 2), "days_unit"), "W");

    /* Rp 4: 頓用 ロキソニン, 疼痛時, 1日2回まで, 10回分; RXE-4 and RXR-2 are HL7 null */
    p = rp_at(j, "prescriptions", 3);
    assert_true(json_is_true(json_object_get(p, "prn")));
    assert_string_equal(js(p, "condition"), "疼痛時");
    assert_string_equal(js(p, "tq_text"), "1日2回まで");
    assert_string_equal(js(p, "total"), "10");
    assert_string_equal(js(p, "site"), "");
    assert_string_equal(js(drug0(p), "dose_max"), "");
    assert_string_equal(js(drug0(p), "class_code"), "22");
    assert_true(json_is_false(json_object_get(rp_at(j, "prescriptions", 0), "prn")));

    /* Rp 5: 外用 on the left hand, with a stop criterion; all-null fields stay empty */
    p = rp_at(j, "prescriptions", 4);
    assert_string_equal(js(p, "site"), "左手");
    assert_string_equal(js(p, "route"), "AP");
    assert_string_equal(js(p, "route_name"), "外用");
    assert_true(has_str(json_object_get(drug0(p), "instructions"), "血圧低下が見られたら中止"));
    assert_string_equal(js(drug0(p), "dose"), "");
    assert_string_equal(js(drug0(p), "unit"), "");
    assert_string_equal(js(drug0(p), "form"), "軟膏");
    assert_int_equal(json_array_size(json_object_get(drug0(p), "flags")), 0);

    /* Rp 6: RXE-13 (a licence number) is no flag of its own: shown raw */
    p = rp_at(j, "prescriptions", 5);
    assert_int_equal(json_array_size(json_object_get(drug0(p), "flags")), 0);
    assert_string_equal(must(raw_text(drug0(p), "RXE-13")), "4-321^医師^一郎");
    assert_int_equal(json_array_size(json_object_get(drug0(p), "per_timing")), 0);
    json_decref(j);
    mm_ssmix2_record_free(r);
}

static void order__older_unequal_form_of_several_tq1(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-01", "000000000000102", msg_b);
    const struct mm_ssmix2_order *o;
    const struct mm_ssmix2_drug *d;
    json_t *j, *rp;

    (void)state;
    assert_int_equal(mm_ssmix2_record_orders(r, 0, &o), 1);
    assert_int_equal(o[0].nrps, 1);
    d = &o[0].rps[0].drugs[0];
    assert_int_equal(d->ntimings, 3);
    assert_int_equal(d->per_timing[0].n, 1);
    assert_string_equal(d->per_timing[0].label, "朝食後");
    assert_string_equal(d->per_timing[0].dose, "4");
    assert_string_equal(d->per_timing[1].label, "昼食後");
    assert_string_equal(d->per_timing[1].dose, "2");
    assert_int_equal(d->per_timing[2].n, 3);
    assert_string_equal(d->per_timing[2].dose, "1");
    j = json_of(r, 0);
    rp = rp_at(j, "prescriptions", 0);
    check_rx_shape(rp);
    assert_string_equal(js(rp, "usage"), "朝食後"); /* the first TQ1 */
    assert_null(raw_text(rp, "TQ1"));               /* the others are its timings, not raw */
    assert_null(raw_text(drug0(rp), "TQ1"));
    json_decref(j);
    mm_ssmix2_record_free(r);

    /* V codes in TQ1-3 repetitions are per-timing amounts too, not a day pattern */
    r = record_of("OMP-01", "000000000000109", msg_i);
    assert_int_equal(mm_ssmix2_record_orders(r, 0, &o), 1);
    assert_null(o[0].rps[0].pattern);
    d = &o[0].rps[0].drugs[0];
    assert_int_equal(d->ntimings, 2);
    assert_string_equal(d->per_timing[0].label, "朝");
    assert_string_equal(d->per_timing[0].dose, "2");
    assert_string_equal(d->per_timing[1].label, "夕");
    assert_string_equal(d->per_timing[1].dose, "1");
    mm_ssmix2_record_free(r);
}

static void order__taper_steps_and_alternating_regimens(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-01", "000000000000103", msg_c);
    const struct mm_ssmix2_order *o;
    json_t *j, *s;

    (void)state;
    assert_int_equal(mm_ssmix2_record_orders(r, 0, &o), 1);
    assert_int_equal(o[0].nrps, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(o[0].rps[i].step.n, i + 1);
        assert_int_equal(o[0].rps[i].step.of, 3);
    }
    j = json_of(r, 0);
    s = json_object_get(rp_at(j, "prescriptions", 1), "step");
    assert_int_equal(json_integer_value(json_object_get(s, "n")), 2);
    assert_int_equal(json_integer_value(json_object_get(s, "of")), 3);
    assert_string_equal(js(rp_at(j, "prescriptions", 2), "start"), "2020-04-06");
    json_decref(j);
    mm_ssmix2_record_free(r);

    /* two Rps of one drug on alternate days overlap: concurrent, not steps */
    r = record_of("OMP-01", "000000000000104", msg_d);
    assert_int_equal(mm_ssmix2_record_orders(r, 0, &o), 1);
    assert_int_equal(o[0].nrps, 2);
    assert_int_equal(o[0].rps[0].step.n, 0);
    assert_int_equal(o[0].rps[1].step.n, 0);
    j = json_of(r, 0);
    assert_true(json_is_null(json_object_get(rp_at(j, "prescriptions", 0), "step")));
    assert_true(json_is_null(json_object_get(rp_at(j, "prescriptions", 1), "step")));
    json_decref(j);
    mm_ssmix2_record_free(r);
}

static void order__injection_times_rate_components(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-02", "000000000000105", msg_e);
    static const char *const keys[] = { "rp",         "type_name", "usage",     "usage_code",
                                        "days",       "days_unit", "start",     "end",
                                        "condition",  "tq_text",   "total",     "route",
                                        "route_name", "site",      "device",    "method",
                                        "rate",       "rate_per",  "rate_unit", NULL };
    json_t *j, *rp, *d, *o;

    (void)state;
    j = json_of(r, 0);
    o = json_array_get(json_object_get(j, "injections"), 0);
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "inpatient")));
    rp = rp_at(j, "injections", 0);
    for (const char *const *k = keys; *k; k++)
        js(rp, *k);
    assert_string_equal(js(rp, "type_name"), "抗がん剤");
    assert_string_equal(js(rp, "rate"), "102");
    assert_string_equal(js(rp, "rate_per"), "H1");
    assert_string_equal(js(rp, "rate_unit"), "ミリリットル／時間");
    assert_string_equal(js(rp, "start"), "2026-09-01T09:00");
    assert_string_equal(js(rp, "end"), "2026-09-01T22:00");
    assert_int_equal(json_array_size(json_object_get(rp, "times")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(rp, "times"), 0)),
                        "09:00");
    assert_string_equal(json_string_value(json_array_get(json_object_get(rp, "times"), 1)),
                        "21:00");
    assert_string_equal(js(rp, "site"), "左腕"); /* RXR-6 (site modifier) and RXR-2 */
    assert_string_equal(js(rp, "device"), "点滴ポンプ");
    assert_string_equal(js(rp, "method"), "点滴静注");
    assert_true(has_str(json_object_get(rp, "instructions"), "血圧低下が見られたら中止"));
    assert_true(has_str(json_object_get(rp, "instructions"), "オーダ時体表面積 1.62 m2"));
    assert_true(has_str(json_object_get(rp, "flags"), "抗がん剤"));
    assert_true(json_is_null(json_object_get(rp, "pattern")));
    assert_true(json_is_null(json_object_get(rp, "step")));
    assert_int_equal(json_array_size(json_object_get(rp, "drugs")), 2);
    d = json_array_get(json_object_get(rp, "drugs"), 0);
    assert_string_equal(js(d, "role"), "B");
    assert_string_equal(js(d, "code"), "107750602");
    assert_string_equal(js(d, "unit"), "本");
    d = json_array_get(json_object_get(rp, "drugs"), 1);
    assert_string_equal(js(d, "role"), "A");
    assert_string_equal(js(d, "dose"), "3");
    assert_string_equal(js(d, "unit"), "瓶");
    /* not interpreted: RXC-7, the OBX and the Z-segment, whole */
    assert_null(raw_text(rp, "RXR-6"));
    assert_string_equal(must(raw_text(rp, "RXC-7")), "03^抗がん剤^JHSI0004");
    assert_non_null(raw_text(rp, "OBX"));
    assert_non_null(strstr(must(raw_text(rp, "OBX")), "3140-1^体表面積^LN"));
    assert_string_equal(must(raw_text(rp, "ZXY")), "1|独自の値");
    json_decref(j);
    mm_ssmix2_record_free(r);
}

static void order__prn_narcotic_injection_and_repeated_drips(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-02", "000000000000107", msg_g);
    json_t *j, *rp;

    (void)state;
    j = json_of(r, 0);
    rp = rp_at(j, "injections", 0);
    assert_true(json_is_true(json_object_get(rp, "prn")));
    assert_string_equal(js(rp, "usage"), "疼痛時");
    assert_string_equal(js(rp, "tq_text"), "１日３回まで");
    assert_string_equal(js(rp, "total"), "10");
    assert_true(has_str(json_object_get(rp, "flags"), "麻薬"));
    assert_true(has_str(json_object_get(rp, "flags"), "劇薬")); /* RXC-7's second repetition */
    assert_true(has_str(json_object_get(rp, "dispensing"), "頓用処方"));
    /* the same drip on two days is a repeat: no taper steps */
    for (size_t i = 1; i < 3; i++) {
        rp = rp_at(j, "injections", i);
        assert_non_null(rp);
        assert_true(json_is_false(json_object_get(rp, "prn")));
        assert_true(json_is_null(json_object_get(rp, "step")));
        assert_string_equal(js(rp, "rate_unit"), "ml/hr");
    }
    json_decref(j);
    mm_ssmix2_record_free(r);
}

static void order__line_with_many_components_keeps_its_note(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-01", "000000000000108", msg_h);
    const struct mm_ssmix2_order *o;
    const struct mm_ssmix2_rp *rp;
    int noted = 0;

    (void)state;
    assert_int_equal(mm_ssmix2_record_orders(r, 0, &o), 1);
    rp = &o[0].rps[0];
    assert_int_equal(rp->ndrugs, 18);
    assert_string_equal(rp->drugs[17].name, "成分16");
    assert_string_equal(rp->usage, "内服・経口・１日３回朝昼夕食後");
    for (size_t i = 0; i < rp->drugs[0].nraw; i++)
        noted |= strcmp(rp->drugs[0].raw[i].field, "NTE") == 0 &&
                 strstr(rp->drugs[0].raw[i].text, "混合して調剤") != NULL;
    assert_true(noted);
    mm_ssmix2_record_free(r);
}

static void order__cancel_is_never_current(void **state)
{
    mm_ssmix2_record *r = record_of("OMP-01", "000000000000106", msg_f);
    const struct mm_ssmix2_order *o;
    json_t *j;

    (void)state;
    assert_int_equal(mm_ssmix2_record_orders(r, 0, &o), 1);
    assert_true(o[0].cancel);
    j = json_of(r, 0);
    assert_int_equal(json_array_size(json_object_get(j, "prescriptions")), 0);
    json_decref(j);
    j = json_of(r, MM_SSMIX2_JSON_HISTORY);
    assert_int_equal(json_array_size(json_object_get(j, "prescriptions")), 1);
    assert_true(json_is_array(
            json_object_get(json_array_get(json_object_get(j, "prescriptions"), 0), "raw")));
    json_decref(j);
    mm_ssmix2_record_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order__unequal_doses_dispense_and_raw),
        cmocka_unit_test(order__patterns_prn_site_and_flags),
        cmocka_unit_test(order__older_unequal_form_of_several_tq1),
        cmocka_unit_test(order__taper_steps_and_alternating_regimens),
        cmocka_unit_test(order__injection_times_rate_components),
        cmocka_unit_test(order__prn_narcotic_injection_and_repeated_drips),
        cmocka_unit_test(order__line_with_many_components_keeps_its_note),
        cmocka_unit_test(order__cancel_is_never_current),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
