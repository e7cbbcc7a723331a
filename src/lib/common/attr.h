/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiler attributes shared by the modules. MM_PRINTF(f, a) marks a printf-like function
 * (format string argument @f, first variadic argument @a, 0 for a va_list): on mingw gcc's
 * "printf" archetype means the Microsoft C library's rules (no %zu), while the Windows build
 * uses mingw's C99 printf (__USE_MINGW_ANSI_STDIO), whose rules are GNU's.
 */
#ifndef MM_COMMON_ATTR_H
#define MM_COMMON_ATTR_H

#ifdef __MINGW32__
#define MM_PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define MM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

#endif
