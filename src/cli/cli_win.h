/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The command line on Windows (the Windows build only, cli_win.c): the arguments and the
 * environment as UTF-8 (the narrow ones of the C runtime are in the ANSI code page, CP932 on
 * a Japanese PC), the console in UTF-8, a passphrase typed without echo, the browser, and
 * Ctrl+C for the viewer. Everything else of the CLI is the same code as on Linux.
 */
#ifndef MM_CLI_CLI_WIN_H
#define MM_CLI_CLI_WIN_H

#ifdef _WIN32

#include <stddef.h>

/*
 * At the start of main(): the console's code pages set to UTF-8 (put back at exit), stdout
 * and stderr in binary mode (the bytes of the Linux build: no CR before LF), and *@argc /
 * *@argv replaced by the wide command line converted to UTF-8 (kept until exit), every
 * argument after the program's name with '/' for '\' (mm_os_path_slashes: the library finds
 * parents and names at '/'; no argument of the Windows build's commands holds a '\' that is
 * not a path's).
 * @return 0, or -1 when the command line cannot be read (out of memory)
 */
int cli_win_start(int *argc, char ***argv);

/* 1 when standard error is a console that takes escape sequences (the progress line): the C
 * runtime's isatty() says yes for NUL too. cli_win_start() first. */
int cli_win_stderr_console(void);

/* The path in the environment variable @name as UTF-8 with '/' for '\' (mm_os_path_slashes),
 * NULL when it is not set (valid until exit). */
const char *cli_env_path(const char *name);

/*
 * Take the environment variable @name out of the process: its UTF-8 value into @out (@cap
 * bytes with the NUL), then the C runtime's copies and the process's environment block
 * overwritten and the variable removed.
 * @return its length, -1 when not set, -2 when it does not fit in @out
 */
long cli_win_env_take(const char *name, char *out, size_t cap);

/*
 * <%LOCALAPPDATA%>\mamori\<sub> (else <%USERPROFILE%>\AppData\Local\mamori\<sub>, else the
 * temporary folder's mamori\<sub>) into @out: the Windows home of the cache and the audit log.
 * @return 0, or -1 when it does not fit
 */
int cli_win_local_dir(const char *sub, char *out, size_t cap);

/* cli_win_prompt(): standard input is not a console (a pipe or a file). */
#define CLI_WIN_NOT_CONSOLE (-4)

/*
 * Print @prompt on the console and read one line without echo (ReadConsoleW, as UTF-8 into
 * @out without the line end; the wide copy wiped).
 * @return its length, -1 at the end of input, -2 when longer than @cap - 1 bytes,
 *         -3 when there is no console, CLI_WIN_NOT_CONSOLE when standard input is redirected
 */
long cli_win_prompt(const char *prompt, char *out, size_t cap);

/* Open @url in the default browser (ShellExecuteW). @return 0 when one was started. */
int cli_win_open_url(const char *url);

/* Catch Ctrl+C, Ctrl+Break and the closing of the console window from now on. @return 0|-1 */
int cli_win_stop_catch(void);
/* Wait until one of them came (cli_win_stop_catch first). */
void cli_win_stop_wait(void);
/* The viewer has stopped: a closing console window may end the process now. */
void cli_win_stop_done(void);

#endif /* _WIN32 */

#endif
