/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line on Windows (cli_win.h; built into the Windows exe only). The C runtime
 * gives main() its arguments and getenv() its values in the ANSI code page, which cannot hold
 * every file name (CP932 on a Japanese PC has no "①" of some fonts, no Korean, no emoji): the
 * wide command line and the wide environment are converted to UTF-8 here, the encoding of the
 * whole program. The console is switched to UTF-8 for its output and input while mamori runs.
 * A passphrase is read from the console with echo off; the viewer opens the default browser
 * with ShellExecuteW and stops on Ctrl+C, Ctrl+Break or the closing of its console window.
 */
#ifdef _WIN32

#include "src/cli/cli_win.h"

#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* clang-format off */
#include <windows.h>
#include <objbase.h>
#include <shellapi.h>
/* clang-format on */

#include "os/os.h"

/* UTF-16 @w (@n units, -1: NUL-terminated) as a new UTF-8 string; NULL out of memory. */
static char *utf8_dup(const WCHAR *w, int n)
{
    int len = WideCharToMultiByte(CP_UTF8, 0, w, n, NULL, 0, NULL, NULL);
    char *s;

    if (len < 0 || !(s = malloc((size_t)len + 1)))
        return NULL;
    if (len > 0 && WideCharToMultiByte(CP_UTF8, 0, w, n, s, len, NULL, NULL) != len) {
        free(s);
        return NULL;
    }
    s[len] = '\0'; /* (n = -1 counted the NUL already: written twice) */
    return s;
}

/* UTF-8 @s into @out (@cap units with the NUL). @return 0, or -1 (bad or too long). */
static int wide(const char *s, WCHAR *out, int cap)
{
    return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, cap) > 0 ? 0 : -1;
}

/* ---- arguments and console ------------------------------------------------------------------ */

static UINT console_out_cp, console_in_cp;
static char **args;
static int nargs;
static int stderr_vt;

#ifndef ENABLE_VIRTUAL_TERMINAL_PROCESSING
#define ENABLE_VIRTUAL_TERMINAL_PROCESSING 0x0004
#endif

/* Let the console @h take the escape sequences of the progress line (Windows 10 and later).
 * @return 1 when @h is a console that does */
static int console_vt(HANDLE h)
{
    DWORD mode;

    if (!h || h == INVALID_HANDLE_VALUE || !GetConsoleMode(h, &mode))
        return 0;
    return (mode & ENABLE_VIRTUAL_TERMINAL_PROCESSING) ||
           SetConsoleMode(h, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
}

static void start_undo(void)
{
    if (console_out_cp)
        SetConsoleOutputCP(console_out_cp);
    if (console_in_cp)
        SetConsoleCP(console_in_cp);
    for (int i = 0; args && i < nargs; i++)
        free(args[i]);
    free(args);
    args = NULL;
}

int cli_win_start(int *argc, char ***argv)
{
    int n = 0;
    WCHAR **w = CommandLineToArgvW(GetCommandLineW(), &n);

    if (!w || n < 0 || !(args = calloc((size_t)n + 1, sizeof(*args)))) {
        if (w)
            LocalFree(w);
        return -1;
    }
    for (nargs = 0; nargs < n; nargs++) {
        if (!(args[nargs] = utf8_dup(w[nargs], -1))) {
            LocalFree(w);
            start_undo();
            return -1;
        }
        if (nargs > 0)
            mm_os_path_slashes(args[nargs]);
    }
    LocalFree(w);
    /* 0 when there is no console (started from a program without one) */
    console_out_cp = GetConsoleOutputCP();
    console_in_cp = GetConsoleCP();
    if (console_out_cp)
        SetConsoleOutputCP(CP_UTF8);
    if (console_in_cp)
        SetConsoleCP(CP_UTF8);
    atexit(start_undo);
    stderr_vt = console_vt(GetStdHandle(STD_ERROR_HANDLE));
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
    *argc = n;
    *argv = args;
    return 0;
}

int cli_win_stderr_console(void)
{
    return stderr_vt;
}

/* ---- environment ---------------------------------------------------------------------------- */

#define ENV_CACHED 32

/* The values cli_env_path() gave, by name: each converted once and kept until exit. */
static struct env_value {
    char name[64];
    char *value;
} env_values[ENV_CACHED];
static int env_registered;

static void env_free(void)
{
    for (int i = 0; i < ENV_CACHED; i++) {
        free(env_values[i].value);
        env_values[i].value = NULL;
        env_values[i].name[0] = '\0';
    }
}

/* The variable @wname as a new UTF-8 string (NULL: not set, or out of memory). */
static char *env_utf8(const WCHAR *wname)
{
    DWORD n = GetEnvironmentVariableW(wname, NULL, 0), m;
    WCHAR *w;
    char *s;

    if (n == 0 || !(w = calloc(n, sizeof(WCHAR))))
        return NULL;
    m = GetEnvironmentVariableW(wname, w, n);
    s = m < n ? utf8_dup(w, (int)m) : NULL;
    free(w);
    return s;
}

const char *cli_env_path(const char *name)
{
    WCHAR wname[64];
    int i;

    if (strlen(name) >= sizeof(env_values[0].name) || wide(name, wname, 64) < 0)
        return NULL;
    for (i = 0; i < ENV_CACHED && env_values[i].name[0]; i++)
        if (strcmp(env_values[i].name, name) == 0)
            return env_values[i].value;
    if (i == ENV_CACHED)
        return NULL; /* (a few names are asked for: never reached) */
    if (!env_registered && atexit(env_free) == 0)
        env_registered = 1;
    memcpy(env_values[i].name, name, strlen(name) + 1);
    if ((env_values[i].value = env_utf8(wname)))
        mm_os_path_slashes(env_values[i].value);
    return env_values[i].value;
}

long cli_win_env_take(const char *name, char *out, size_t cap)
{
    WCHAR wname[64], *w;
    DWORD n, m;
    char *e, put[80];
    WCHAR *we;
    long len = -1;
    int k;

    if (wide(name, wname, 64) < 0 || (n = GetEnvironmentVariableW(wname, NULL, 0)) == 0)
        return -1;
    if (!(w = calloc(n, sizeof(WCHAR))))
        return -1;
    m = GetEnvironmentVariableW(wname, w, n);
    if (m < n) {
        k = WideCharToMultiByte(CP_UTF8, 0, w, (int)m, NULL, 0, NULL, NULL);
        if (k >= 0 && (size_t)k < cap) {
            if (k > 0)
                WideCharToMultiByte(CP_UTF8, 0, w, (int)m, out, k, NULL, NULL);
            out[k] = '\0';
            len = k;
        } else {
            len = -2;
        }
    }
    /* the C runtime's copies (narrow, wide), then the process's environment block: its value
     * overwritten in place by one of the same length before the variable goes */
    if ((e = getenv(name)))
        SecureZeroMemory(e, strlen(e));
    if ((we = _wgetenv(wname)))
        SecureZeroMemory(we, wcslen(we) * sizeof(WCHAR));
    for (DWORD i = 0; i < m && i < n; i++)
        w[i] = L'0';
    SetEnvironmentVariableW(wname, w);
    SetEnvironmentVariableW(wname, NULL);
    if ((size_t)snprintf(put, sizeof(put), "%s=", name) < sizeof(put))
        _putenv(put); /* "NAME=" removes it from the C runtime's environment */
    SecureZeroMemory(w, n * sizeof(WCHAR));
    free(w);
    return len;
}

int cli_win_local_dir(const char *sub, char *out, size_t cap)
{
    const char *e;
    char *t = NULL;
    int n;

    if ((e = cli_env_path("LOCALAPPDATA")) && *e) {
        n = snprintf(out, cap, "%s/mamori/%s", e, sub);
    } else if ((e = cli_env_path("USERPROFILE")) && *e) {
        n = snprintf(out, cap, "%s/AppData/Local/mamori/%s", e, sub);
    } else {
        WCHAR tmp[MAX_PATH + 1];
        DWORD k = GetTempPathW(MAX_PATH + 1, tmp);
        if (k == 0 || k > MAX_PATH || !(t = utf8_dup(tmp, (int)k)))
            return -1;
        n = snprintf(out, cap, "%smamori/%s", t, sub);
        free(t);
    }
    if (n < 0 || (size_t)n >= cap)
        return -1;
    mm_os_path_slashes(out); /* (the temporary folder's) */
    return 0;
}

/* ---- passphrase ------------------------------------------------------------------------------ */

/* Write UTF-8 @s on the console @h. */
static void console_puts(HANDLE h, const char *s)
{
    WCHAR w[512];
    DWORD done;

    if (wide(s, w, 512) == 0)
        WriteConsoleW(h, w, (DWORD)wcslen(w), &done, NULL);
}

/* Read wide characters from the console @in up to the line end into @w (@cap units).
 * @return the count, -1 at the end of input, -2 too long */
static long console_line(HANDLE in, WCHAR *w, long cap)
{
    long n = 0;

    for (;;) {
        WCHAR c;
        DWORD got = 0;
        if (!ReadConsoleW(in, &c, 1, &got, NULL) || got == 0)
            return n > 0 ? n : -1;
        if (c == L'\n')
            return n;
        if (c == L'\r')
            continue;
        if (n >= cap)
            return -2; /* (the rest of the line stays in the console's buffer: it is refused) */
        w[n++] = c;
    }
}

long cli_win_prompt(const char *prompt, char *out, size_t cap)
{
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE), con;
    DWORD mode;
    WCHAR w[1024];
    long n;
    int k;

    if (!in || in == INVALID_HANDLE_VALUE)
        return -3;
    if (!GetConsoleMode(in, &mode))
        return CLI_WIN_NOT_CONSOLE;
    con = CreateFileW(L"CONOUT$", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                      NULL, OPEN_EXISTING, 0, NULL);
    if (con != INVALID_HANDLE_VALUE)
        console_puts(con, prompt);
    SetConsoleMode(in,
                   (mode & ~(DWORD)ENABLE_ECHO_INPUT) | ENABLE_LINE_INPUT | ENABLE_PROCESSED_INPUT);
    n = console_line(in, w, (long)(sizeof(w) / sizeof(w[0])));
    SetConsoleMode(in, mode);
    if (con != INVALID_HANDLE_VALUE) {
        console_puts(con, "\r\n"); /* the line end the hidden input did not show */
        CloseHandle(con);
    }
    if (n >= 0) {
        k = n > 0 ? WideCharToMultiByte(CP_UTF8, 0, w, (int)n, NULL, 0, NULL, NULL) : 0;
        if (k < 0 || (size_t)k >= cap) {
            n = -2;
        } else {
            if (k > 0)
                WideCharToMultiByte(CP_UTF8, 0, w, (int)n, out, k, NULL, NULL);
            out[k] = '\0';
            n = k;
        }
    }
    SecureZeroMemory(w, sizeof(w));
    return n;
}

/* ---- browser and Ctrl+C ---------------------------------------------------------------------- */

int cli_win_open_url(const char *url)
{
    WCHAR w[512];
    HINSTANCE h;
    HRESULT co;

    if (wide(url, w, 512) < 0)
        return -1;
    /* what ShellExecute asks of its caller's thread (some handlers are COM objects) */
    co = CoInitializeEx(NULL, COINIT_APARTMENTTHREADED | COINIT_DISABLE_OLE1DDE);
    h = ShellExecuteW(NULL, L"open", w, NULL, NULL, SW_SHOWNORMAL);
    if (SUCCEEDED(co))
        CoUninitialize();
    return (INT_PTR)h > 32 ? 0 : -1;
}

static HANDLE stop_event, done_event;

/* A console control event (its own thread): the viewer stops. Windows ends the process when
 * this returns from a closing window, logoff or shutdown: wait for the viewer (4 s at most,
 * of the 5 s Windows gives) so its keys are wiped and the session end is logged. */
static BOOL WINAPI on_ctrl(DWORD type)
{
    SetEvent(stop_event);
    if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT)
        WaitForSingleObject(done_event, 4000);
    return TRUE;
}

int cli_win_stop_catch(void)
{
    if (!stop_event && !(stop_event = CreateEventW(NULL, TRUE, FALSE, NULL)))
        return -1;
    if (!done_event && !(done_event = CreateEventW(NULL, TRUE, FALSE, NULL)))
        return -1;
    return SetConsoleCtrlHandler(on_ctrl, TRUE) ? 0 : -1;
}

void cli_win_stop_wait(void)
{
    WaitForSingleObject(stop_event, INFINITE);
}

void cli_win_stop_done(void)
{
    SetEvent(done_event);
}

#endif /* _WIN32 */
