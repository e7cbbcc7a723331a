/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The viewer on the medium: the launcher next to the repository and a copy of this mamori with
 * its shared libraries under bin/ (cli_medium.c).
 */
#ifndef MM_CLI_MEDIUM_H
#define MM_CLI_MEDIUM_H

/* Write (replace) <repo>/mamori-view.sh, executable. @return 0 or an mm_err (message set) */
int cli_medium_launcher(const char *repo);

/*
 * Copy this mamori to <repo>/bin/mamori and the shared libraries it runs with (the dynamic
 * loader included) to <repo>/bin/lib/, rewriting only what differs.
 * @return 0; 1 when not done (MAMORI_VIEWER_COPY=0, or this mamori was started through the
 *         loader, from a medium); or an mm_err (message set)
 */
int cli_medium_bundle(const char *repo);

#endif
