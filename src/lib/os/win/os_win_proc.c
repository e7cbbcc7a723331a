/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Keeping decrypted patient data out of crash dumps on Windows (os.h). A crash would hand
 * the process's memory to Windows Error Reporting (a dump under %LOCALAPPDATA%\CrashDumps or
 * sent away); here WER is turned off for the process: no error boxes (SetErrorMode), an
 * unhandled exception ends the process at once without a report, abort() neither prints nor
 * reports, the C library's invalid-parameter handler ends the process too, and WerSetFlags
 * (looked up: not on every Windows) asks for no heap in any report and no UI. Large buffers of
 * decrypted data come from VirtualAlloc and are locked in memory when the working set allows
 * (never in the page file), wiped before they are given back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "crypto/crypto.h"
#include "os/os.h"
#include "os/win/os_win_int.h"

#define WER_NOHEAP 0x1u  /* WER_FAULT_REPORTING_FLAG_NOHEAP */
#define WER_NO_UI  0x20u /* WER_FAULT_REPORTING_NO_UI */
#define ABORT_MSG  0x1u  /* _WRITE_ABORT_MSG */
#define ABORT_WER  0x2u  /* _CALL_REPORTFAULT */

/* An unhandled exception: end the process now, no dump, no report. */
static LONG WINAPI no_report(EXCEPTION_POINTERS *e)
{
    (void)e;
    TerminateProcess(GetCurrentProcess(), 3);
    return EXCEPTION_EXECUTE_HANDLER;
}

/* The C library found an invalid parameter: end the process the same way. */
static void invalid_parameter(const wchar_t *expr, const wchar_t *fn, const wchar_t *file,
                              unsigned int line, uintptr_t reserved)
{
    (void)expr, (void)fn, (void)file, (void)line, (void)reserved;
    TerminateProcess(GetCurrentProcess(), 3);
}

/* @name of the first of the C libraries that exports it, or NULL. */
static FARPROC crt_proc(const char *name)
{
    static const wchar_t *const crts[] = { L"ucrtbase.dll", L"msvcrt.dll" };
    FARPROC p;

    for (size_t i = 0; i < sizeof(crts) / sizeof(crts[0]); i++) {
        HMODULE m = GetModuleHandleW(crts[i]);
        if (m && (p = GetProcAddress(m, name)))
            return p;
    }
    return NULL;
}

int mm_os_no_core_dumps(void)
{
    typedef HRESULT(WINAPI * wer_set_flags)(DWORD);
    typedef unsigned int(__cdecl * set_abort)(unsigned int, unsigned int);
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
    FARPROC p;

    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
    SetUnhandledExceptionFilter(no_report);
    _set_invalid_parameter_handler(invalid_parameter);
    if ((p = crt_proc("_set_abort_behavior"))) {
        set_abort f;
        memcpy(&f, &p, sizeof(f));
        f(0, ABORT_MSG | ABORT_WER);
    }
    if (k32 && (p = GetProcAddress(k32, "WerSetFlags"))) {
        wer_set_flags f;
        memcpy(&f, &p, sizeof(f));
        (void)f(WER_NOHEAP | WER_NO_UI);
    }
    return 0;
}

void *mm_os_secret_map(size_t n)
{
    size_t len = n ? n : 1;
    void *p = VirtualAlloc(NULL, len, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);

    if (!p) {
        mm_error_set(MM_ENOMEM, "out of memory (%zu bytes)", n);
        return NULL;
    }
    if (!VirtualLock(p, len)) {
        /* best effort: grow the working set by @len and try once more */
        SIZE_T lo, hi;
        if (GetProcessWorkingSetSize(GetCurrentProcess(), &lo, &hi) &&
            SetProcessWorkingSetSize(GetCurrentProcess(), lo + len, hi + len))
            (void)VirtualLock(p, len);
    }
    return p;
}

void mm_os_secret_unmap(void *p, size_t n)
{
    size_t len = n ? n : 1;

    if (!p)
        return;
    mm_crypto_wipe(p, len);
    (void)VirtualUnlock(p, len); /* fails harmlessly when it was not locked */
    VirtualFree(p, 0, MEM_RELEASE);
}
