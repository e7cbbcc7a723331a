/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HL7 v2 for SS-MIX2: ISO-2022-JP <-> UTF-8 conversion that knows the JIS X 0208
 * NEC row-13 and NEC-selected IBM-extension rows (89-92) real storages contain,
 * and an HL7 v2 tokenizer that works on the decoded UTF-8 text only (in JIS,
 * 日 is "F|" and 京 is "5~": raw bytes are never split on delimiters).
 */
#ifndef MM_HL7_HL7_H
#define MM_HL7_HL7_H

#include <stddef.h>

#include "common/buf.h"

/* ---- ISO-2022-JP <-> UTF-8 -------------------------------------------------------------- */

enum mm_jis_flags {
    MM_JIS_STRICT = 1 << 0 /* fail with MM_ECORRUPT / MM_EINVAL instead of substituting */
};

/* What a conversion met; every counter only grows, so one struct can sum many files. */
struct mm_jis_stats {
    size_t chars;     /* characters written */
    size_t bad;       /* invalid sequences replaced by U+FFFD (decode) or 〓 (encode) */
    size_t nec13;     /* NEC row-13 characters (①, ㈱, ...) */
    size_t ibmext;    /* NEC-selected IBM extension characters (rows 89-92) */
    size_t halfwidth; /* JIS X 0201 half-width katakana (ESC ( I) */
};

/*
 * Decode @n bytes of ISO-2022-JP (ESC $ B / ESC $ @ JIS X 0208 with the NEC and IBM
 * extension rows, ESC ( B ASCII, ESC ( J JIS-Roman, ESC ( I half-width kana) and append
 * UTF-8 to @out. Bytes that are not valid become U+FFFD and are counted in @stats->bad,
 * unless MM_JIS_STRICT is set. @stats may be NULL.
 * @return 0, MM_ECORRUPT (strict only: the message gives the byte offset), MM_ELIMIT, MM_ENOMEM
 */
int mm_jis_decode(mm_buf *out, const char *in, size_t n, unsigned int flags,
                  struct mm_jis_stats *stats);

/*
 * Encode @n bytes of UTF-8 as ISO-2022-JP and append to @out, switching with ESC $ B
 * and back with ESC ( B (always back to ASCII at the end). Characters of JIS X 0208
 * use their standard position; NEC row 13 and IBM extensions are used only for
 * characters that have no standard position. U+301C, U+2212, U+2016, U+00A2, U+00A3
 * and U+00AC are accepted for their Microsoft twins. A character with no JIS code
 * becomes 〓 and is counted, unless MM_JIS_STRICT is set.
 * @return 0, MM_EINVAL (strict only: unmappable character or bad UTF-8), MM_ELIMIT, MM_ENOMEM
 */
int mm_jis_encode(mm_buf *out, const char *in, size_t n, unsigned int flags,
                  struct mm_jis_stats *stats);

/*
 * The Unicode code point of JIS X 0208 row @row, cell @cell (both 1..94), or 0 when
 * the position is empty. Rows 13 and 89-92 give the NEC and IBM extensions.
 */
unsigned int mm_jis_to_ucs(int row, int cell);

/* ---- HL7 v2 tokenizer ------------------------------------------------------------------- */
/* (API below is completed by the tokenizer implementation; see hl7_msg.c) */

/*
 * A parsed HL7 v2 message. Positions use HL7 numbering: segments from 0 in file order,
 * fields from 1 as in "PID-5" (MSH-1 is the field separator and MSH-2 the encoding
 * characters, as the standard counts), repetitions, components and sub-components from 1.
 * A 0 at some level means "the whole item of the level above" (field 0 = the whole
 * segment, rep 0 = the whole field with all repetitions, ...); the levels after it are
 * then ignored. MSH-1 and MSH-2 are never split or unescaped (BHS and FHS batch headers
 * are counted the same way). A message is not thread-safe: mm_hl7_get() fills a
 * per-message cache; the const accessors may be used from several threads at once.
 */
typedef struct mm_hl7_msg mm_hl7_msg;

/*
 * Parse @n bytes of decoded (UTF-8) HL7 v2 text into a new message that keeps its own
 * copy of the text. Segments end at CR, LF or CRLF; blank lines, trailing whitespace,
 * 0x1C and NUL bytes after the last segment, and leading whitespace, 0x0B (MLLP) or a
 * UTF-8 BOM before "MSH" are ignored. The delimiters come from MSH-1 and MSH-2 (1 to 5
 * characters: component, repetition, escape, sub-component, truncation; absent ones are
 * not used). Every other line is a segment as it stands: free text broken by a raw LF
 * gives a segment whose ID is the text before its first field separator.
 * @param[out] out the new message, owned by the caller (mm_hl7_free); untouched on error
 * @return 0, MM_ECORRUPT when the text is not HL7 (no MSH first, MSH too short, bad or
 *         repeated delimiters, a NUL byte inside), MM_ELIMIT when it is over
 *         MM_LIMIT_HL7_MESSAGE bytes or MM_LIMIT_HL7_SEGMENTS segments, MM_ENOMEM
 */
int mm_hl7_parse(mm_hl7_msg **out, const char *utf8, size_t n);

/* Free @m and every string it handed out. Accepts NULL. */
void mm_hl7_free(mm_hl7_msg *m);

/* The number of segments (at least 1: MSH). */
size_t mm_hl7_segment_count(const mm_hl7_msg *m);

/*
 * The ID of segment @seg ("MSH", "PID", ...): the text before its first field
 * separator. Borrowed from @m. @return the ID, or "" when @seg is out of range
 */
const char *mm_hl7_segment_id(const mm_hl7_msg *m, size_t seg);

/* @return the first segment at or after @from whose ID is @id, or SIZE_MAX when none */
size_t mm_hl7_find(const mm_hl7_msg *m, const char *id, size_t from);

/* @return the number of fields of segment @seg (MSH counts MSH-1), 0 when out of range */
size_t mm_hl7_field_count(const mm_hl7_msg *m, size_t seg);

/* @return the number of repetitions of a field; 0 when it is absent or empty */
size_t mm_hl7_rep_count(const mm_hl7_msg *m, size_t seg, int field);

/* @return the number of components of a repetition; 0 when it is absent or empty */
size_t mm_hl7_comp_count(const mm_hl7_msg *m, size_t seg, int field, int rep);

/* @return the number of sub-components of a component; 0 when it is absent or empty */
size_t mm_hl7_sub_count(const mm_hl7_msg *m, size_t seg, int field, int rep, int comp);

/*
 * The value at @seg/@field/@rep/@comp/@sub as a NUL-terminated UTF-8 string with HL7
 * escapes resolved (\F\ \S\ \T\ \R\ \E\, \.br\ as "\n", \Xhh..\ when its bytes are valid
 * UTF-8 without NUL; any other escape is kept as written). An item asked for with a 0 level
 * that contains delimiters of the levels below is returned raw (delimiters and escapes as
 * written), since unescaping would make an escaped "^" look like a component separator.
 * The string is owned by @m and stays valid until mm_hl7_free(); asking again for the
 * same position returns the same string.
 * @return the value; "" when the position is absent or an index is negative; NULL only
 *         when out of memory (the error is then MM_ENOMEM)
 */
const char *mm_hl7_get(mm_hl7_msg *m, size_t seg, int field, int rep, int comp, int sub);

/*
 * The raw text of a position, without copying: escapes are kept and the bytes are not
 * NUL-terminated. Positions and 0 levels as for mm_hl7_get().
 * @param[out] p, n the text (borrowed from @m) and its length; "" and 0 when absent
 * @return 0 (also for a present but empty item), MM_ENOTFOUND when the position does
 *         not exist, MM_EINVAL when an index is negative
 */
int mm_hl7_get_raw(const mm_hl7_msg *m, size_t seg, int field, int rep, int comp, int sub,
                   const char **p, size_t *n);

/*
 * The message type as "code^trigger" from MSH-9.1 and MSH-9.2 ("ADT^A08"), or only the
 * code when MSH-9.2 is empty; the separator is always "^". Borrowed from @m.
 * @return the type, "" when MSH-9 is empty
 */
const char *mm_hl7_msg_type(const mm_hl7_msg *m);

/* ---- segment and field names (hl7_names.c) ---------------------------------------------- */
/*
 * Names for people of the segments SS-MIX2 uses (MSH EVN PID PD1 NK1 PV1 PV2 DB1 OBX AL1
 * IAM IN1 DG1 PRB ZPR ZPD ZI1 ORC RXE RXR RXC RXA TQ1 TQ2 ODS ODT SPM OBR NTE IPC ZE1 ZE2
 * CTI) and of the fields SS-MIX2 fills: HL7 v2.5 names in English, JAHIS / SS-MIX2 terms
 * in Japanese. Static tables, binary search, no allocation: safe from any thread.
 */

/*
 * The name of segment @seg, e.g. "PID" gives "患者識別", or "Patient Identification"
 * when @english is non-zero. @seg must match exactly (upper case, no padding).
 * @return a static string, or NULL when @seg is NULL or not in the table
 */
const char *mm_hl7_segment_name(const char *seg, int english);

/*
 * The name of field @field (HL7 numbering: MSH-1 is the field separator) of segment
 * @seg, e.g. PID-5 gives "患者氏名", or "Patient Name" when @english is non-zero.
 * @return a static string, or NULL when the segment is unknown or the field has no name
 */
const char *mm_hl7_field_name(const char *seg, int field, int english);

/*
 * The tables behind the two lookups, for listings and tests: the ID of the @i-th segment
 * in table order (ascending byte order). @return the ID, or NULL when @i is past the end
 */
const char *mm_hl7_names_segment_at(size_t i);

/*
 * The number of the @i-th named field of the @seg-th segment in table order (ascending).
 * @return the field number (1 or more), or 0 when @seg or @i is past the end
 */
int mm_hl7_names_field_at(size_t seg, size_t i);

#endif
