/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The names ransomware leaves: ransom notes (README_RESTORE*.txt, HOW_TO_DECRYPT*,
 * !!!READ_ME!!!, *_readme.txt, DECRYPT-FILES.html, RESTORE-MY-FILES.TXT, RECOVER-*-FILES.txt,
 * info.hta ...) and the extensions families append (.locked .lockbit .crypt .encrypted .enc
 * .phobos .akira .royal .basta .blackcat ...), plus any extension appended to an SS-MIX2
 * message name (families like BlackCat and LockBit 3 append random 4-10 character ones, and
 * a message file's name never has one). Names are compared case-insensitively, whole words
 * where a generic word ("readme") alone would also be a hospital's own file.
 */
#include <stddef.h>
#include <string.h>

#include "guard/guard_int.h"
#include "ssmix2/ssmix2.h"

/* @name lower-cased into @out (truncated). */
static void lower(const char *name, char *out, size_t cap)
{
    size_t i;

    for (i = 0; name[i] && i + 1 < cap; i++) {
        char c = name[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[i] = 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && !memcmp(s + n - m, suffix, m);
}

/* Whether @s holds one of @words. */
static int has_any(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strstr(s, *words))
            return 1;
    return 0;
}

int mm_guard__ransom_note(const char *name)
{
    static const char *const note_ext[] = { ".txt", ".html", ".htm", ".hta", ".rtf", ".url", NULL };
    static const char *const words[] = { "decrypt", "restore",   "recover", "ransom",
                                         "unlock",  "encrypted", NULL };
    static const char *const exact[] = { "info.hta",           "_readme.txt",
                                         "readme.hta",         "restore-my-files.txt",
                                         "decrypt-files.html", NULL };
    char s[256];
    const char *const *e;
    int is_note_ext = 0;

    lower(name, s, sizeof(s));
    for (e = exact; *e; e++)
        if (!strcmp(s, *e))
            return 1;
    for (e = note_ext; *e; e++)
        if (ends_with(s, *e))
            is_note_ext = 1;
    /* !!!READ_ME!!!, !!!HOW_TO_DECRYPT!!!, #DECRYPT_MY_FILES# */
    if ((!strncmp(s, "!!!", 3) || s[0] == '#') && (strstr(s, "read") || has_any(s, words)))
        return 1;
    if (!is_note_ext && strchr(s, '.'))
        return 0;
    /* README_RESTORE*.txt, HOW_TO_DECRYPT*, RECOVER-xxxx-FILES.txt, restore_files_* */
    if (has_any(s, words) &&
        (strstr(s, "readme") || strstr(s, "read_me") || strstr(s, "how") || strstr(s, "files") ||
         strstr(s, "instruction") || strstr(s, "help") || strstr(s, "decrypt")))
        return 1;
    /* Djvu/STOP, Akira: <x>_readme.txt; LockBit 3: <random>.README.txt */
    return ends_with(s, "_readme.txt") || ends_with(s, ".readme.txt") ||
           ends_with(s, "-readme.txt");
}

int mm_guard__ransom_ext(const char *name, int ssmix2)
{
    /* families' own extensions; words a hospital's software also uses (.lock, .abc) are
     * left out: they would be false alarms */
    static const char *const ext[] = {
        "locked",     "lockbit", "lockbit3", "crypt",     "crypted",    "encrypted", "enc",
        "encr",       "phobos",  "akira",    "royal",     "royal_w",    "basta",     "blackcat",
        "alphv",      "conti",   "ryuk",     "ryk",       "locky",      "wncry",     "wnry",
        "wcry",       "cerber",  "cerber3",  "zepto",     "odin",       "dharma",    "makop",
        "djvu",       "hive",    "8base",    "cuba",      "clop",       "cl0p",      "babuk",
        "babyk",      "avos",    "avos2",    "blacksuit", "rhysida",    "medusa",    "cactus",
        "mallox",     "fargo",   "nefilim",  "darkside",  "sodinokibi", "revil",     "maze",
        "egregor",    "ragnar",  "krab",     "gdcb",      "xtbl",       "zzzzz",     "vvv",
        "lockedfile", "crjoker", "elbie",    "eking",     "devos",      NULL,
    };
    char s[256];
    const char *dot;
    size_t i;
    struct mm_ssmix2_name nm;

    lower(name, s, sizeof(s));
    dot = strrchr(s, '.');
    if (!dot || dot == s)
        return 0;
    for (i = 0; ext[i]; i++)
        if (!strcmp(dot + 1, ext[i]))
            return 1;
    /* Phobos and Dharma: <name>.id[XXXXXXXX-1234].[mail@host].<ext> */
    if (strstr(s, ".id[") || strstr(s, ".id-") || strstr(s, "].["))
        return 1;
    if (!ssmix2)
        return 0;
    /* an SS-MIX2 message name with any extension appended */
    dot = strchr(name, '.');
    return dot && dot > name && !mm_ssmix2_parse_name(&nm, name, (size_t)(dot - name));
}
