/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows paths, computed portably (built and unit-tested on Linux too): the UTF-8 path the
 * program speaks becomes the NUL-terminated UTF-16 `\\?\` path the wide API takes (no
 * 260-character limit, no ANSI code page, no silent rewriting of names by Win32), and a
 * UTF-16 name read from the system becomes UTF-8. Names Windows forbids are told apart so
 * that the Windows build reports them instead of making files other programs cannot open.
 * UTF-16 is handled as uint16_t (wchar_t is 16-bit on Windows only).
 */
#ifndef MM_OS_WINPATH_H
#define MM_OS_WINPATH_H

#include <stddef.h>
#include <stdint.h>

/* The longest path the wide API takes, in UTF-16 units, the NUL included. */
#define MM_WINPATH_MAX 32767

/*
 * Turn the UTF-8 path @utf8 into a `\\?\` path: `/` and `\` both separate, `.` and `..` are
 * resolved lexically (`..` never climbs above the drive or the share), `C:\x` becomes
 * `\\?\C:\x`, `\\srv\share\x` becomes `\\?\UNC\srv\share\x`, a relative path (`x`, `\x`,
 * `C:x`) is joined to @cwd (an absolute UTF-16 path, itself in any of these forms, `\\?\`
 * included; `C:x` on another drive than @cwd's is taken from that drive's root), and a path
 * that starts with `\\?\` or `\\.\` is kept as it is.
 * @param[out] out the NUL-terminated path, mm_malloc()ed: the caller frees it with mm_free()
 * @return 0, MM_EINVAL (empty, not well-formed UTF-8, relative without @cwd, a root that is
 *         not one), MM_ELIMIT (longer than MM_WINPATH_MAX units), MM_ENOMEM
 */
int mm_winpath_wide(const char *utf8, const uint16_t *cwd, uint16_t **out);

/*
 * Turn the @n UTF-16 units at @w into a NUL-terminated UTF-8 string.
 * @param[out] out mm_malloc()ed, freed by the caller with mm_free()
 * @return 0, MM_EINVAL (a lone surrogate), MM_ENOMEM
 */
int mm_winpath_utf8(const uint16_t *w, size_t n, char **out);

/*
 * Whether Windows forbids the file name @name (@n bytes of UTF-8, one path component):
 * the device names CON PRN AUX NUL COM1-COM9 LPT1-LPT9 (any case, with or without an
 * extension: "con.txt"), the characters < > : " / \ | ? * and 0x01-0x1f, a trailing dot or
 * space. "." and ".." are not names and are not forbidden.
 * @return NULL when allowed, else a short English reason (static)
 */
const char *mm_winpath_forbidden(const char *name, size_t n);

/*
 * The first component of the UTF-8 path @utf8 that Windows forbids (mm_winpath_forbidden),
 * its root (`C:`, `\\srv\share`, `\\?\...`) left out; a `\\?\` or `\\.\` path is not checked.
 * @param[out] at the byte offset of that component in @utf8 (may be NULL)
 * @return NULL when every component is allowed, else the reason
 */
const char *mm_winpath_forbidden_in(const char *utf8, size_t *at);

#endif
