/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What file system a path lies on, so that `media init` can warn when a medium is one a
 * Windows PC cannot read (ext4, xfs, btrfs...). statfs(2) gives the magic number; FUSE block
 * file systems all share one ("fuseblk"), so for them the mount holding the path is looked
 * up in /proc/self/mountinfo (its longest mount point that is a prefix of the real path),
 * and its source device's boot sector names the file system ("EXFAT   " or "NTFS    " at
 * byte 3) when it can be read (root). Nothing here writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/statvfs.h>
#include <sys/vfs.h>
#endif
#include <unistd.h>

#include "common/error.h"
#include "common/log.h"
#include "os/os.h"

#ifndef _WIN32 /* the Windows variants are in os/win/os_win_misc.c */
#define MAGIC_EXFAT   0x2011BAB0ul
#define MAGIC_NTFS3   0x7366746eul
#define MAGIC_NTFS    0x5346544eul /* the old read-only driver */
#define MAGIC_VFAT    0x4d44ul
#define MAGIC_FUSE    0x65735546ul
#define MAGIC_EXT4    0xEF53ul
#define MAGIC_XFS     0x58465342ul
#define MAGIC_BTRFS   0x9123683Eul
#define MAGIC_TMPFS   0x01021994ul
#define MAGIC_NFS     0x6969ul
#define MAGIC_OVERLAY 0x794c7630ul

static const struct {
    unsigned long magic;
    enum mm_os_fs_kind kind;
} magics[] = {
    { MAGIC_EXFAT, MM_OS_FS_EXFAT },     { MAGIC_NTFS3, MM_OS_FS_NTFS3 },
    { MAGIC_NTFS, MM_OS_FS_NTFS },       { MAGIC_VFAT, MM_OS_FS_VFAT },
    { MAGIC_FUSE, MM_OS_FS_FUSE },       { MAGIC_EXT4, MM_OS_FS_EXT4 },
    { MAGIC_XFS, MM_OS_FS_XFS },         { MAGIC_BTRFS, MM_OS_FS_BTRFS },
    { MAGIC_TMPFS, MM_OS_FS_TMPFS },     { MAGIC_NFS, MM_OS_FS_NFS },
    { MAGIC_OVERLAY, MM_OS_FS_OVERLAY },
};

#endif

const char *mm_os_fs_kind_name(enum mm_os_fs_kind k)
{
    static const char *const names[] = {
        [MM_OS_FS_UNKNOWN] = "unknown",
        [MM_OS_FS_EXFAT] = "exfat",
        [MM_OS_FS_EXFAT_FUSE] = "exfat-fuse",
        [MM_OS_FS_NTFS3] = "ntfs3",
        [MM_OS_FS_NTFS_3G] = "ntfs-3g",
        [MM_OS_FS_NTFS] = "ntfs",
        [MM_OS_FS_VFAT] = "vfat",
        [MM_OS_FS_FUSE] = "fuse",
        [MM_OS_FS_EXT4] = "ext4",
        [MM_OS_FS_XFS] = "xfs",
        [MM_OS_FS_BTRFS] = "btrfs",
        [MM_OS_FS_TMPFS] = "tmpfs",
        [MM_OS_FS_NFS] = "nfs",
        [MM_OS_FS_OVERLAY] = "overlay",
        [MM_OS_FS_OTHER] = "other",
    };

    if ((unsigned)k < sizeof(names) / sizeof(names[0]) && names[k])
        return names[k];
    return "unknown";
}

#ifndef _WIN32
/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
    char *w = s;

    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* Whether mount point @mp holds @real (a prefix ending at a '/' or the end). */
static size_t holds(const char *mp, const char *real)
{
    size_t n = strlen(mp);

    if (strcmp(mp, "/") == 0)
        return 1;
    if (strncmp(mp, real, n) != 0 || (real[n] != '/' && real[n] != '\0'))
        return 0;
    return n;
}

/*
 * The type and source of the mount holding @real in /proc/self/mountinfo (the longest
 * mount point holding it; the last such line wins, as the kernel stacks mounts). OUT: @type,
 * @src. @return 0, -1 when none was found
 */
static int mount_of(const char *real, char *type, size_t tcap, char *src, size_t scap)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char *line = NULL;
    size_t cap = 0, best = 0;
    int found = -1;

    if (!f)
        return -1;
    while (getline(&line, &cap, f) > 0) {
        char *save = NULL, *mp = NULL, *tok, *dash;
        int i = 0;
        /* "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw": the 5th field
         * is the mount point, type and source follow the " - " */
        for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
            if (++i == 5) {
                mp = tok;
                break;
            }
        if (!mp || !save || !(dash = strstr(save, " - ")))
            continue;
        unescape(mp);
        size_t n = holds(mp, real);
        if (n == 0 || n < best)
            continue;
        char t[64] = "", s[PATH_MAX] = "";
        if (sscanf(dash, " - %63s %4095s", t, s) < 1)
            continue;
        unescape(s);
        best = n;
        found = 0;
        snprintf(type, tcap, "%s", t);
        snprintf(src, scap, "%s", s);
    }
    free(line);
    fclose(f);
    return found;
}

/* The file system named by the boot sector of block device @dev, when it can be read. */
static enum mm_os_fs_kind boot_sector(const char *dev)
{
    unsigned char b[11];
    int fd = open(dev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    ssize_t got;

    if (fd < 0)
        return MM_OS_FS_UNKNOWN;
    got = pread(fd, b, sizeof(b), 0);
    close(fd);
    if (got != (ssize_t)sizeof(b))
        return MM_OS_FS_UNKNOWN;
    if (memcmp(b + 3, "EXFAT   ", 8) == 0)
        return MM_OS_FS_EXFAT_FUSE;
    if (memcmp(b + 3, "NTFS    ", 8) == 0)
        return MM_OS_FS_NTFS_3G;
    return MM_OS_FS_UNKNOWN;
}

/* A FUSE mount: tell exfat-fuse from ntfs-3g by the mount table, then the device. */
static void fuse_kind(const char *path, struct mm_os_fs *out)
{
    char type[64], src[PATH_MAX], *real = realpath(path, NULL);
    enum mm_os_fs_kind k;

    if (!real)
        return;
    if (mount_of(real, type, sizeof(type), src, sizeof(src)) == 0) {
        snprintf(out->name, sizeof(out->name), "%s", type);
        if (strstr(type, "exfat"))
            out->kind = MM_OS_FS_EXFAT_FUSE; /* fuse.exfat, fuseblk.exfat (subtype) */
        else if (strstr(type, "ntfs"))
            out->kind = MM_OS_FS_NTFS_3G;
        else if (strcmp(type, "fuseblk") == 0 && (k = boot_sector(src)) != MM_OS_FS_UNKNOWN)
            out->kind = k;
        if (out->kind != MM_OS_FS_FUSE)
            snprintf(out->name, sizeof(out->name), "%s", mm_os_fs_kind_name(out->kind));
    }
    free(real);
}

int mm_os_fs_type(const char *path, struct mm_os_fs *out)
{
    char red[MM_LOG_PATH_MAX];
    struct statfs s;

    MM_ASSERT_ARG(path && out);
    if (statfs(path, &s) != 0)
        return mm_error_set_errno(errno == ENOENT ? MM_ENOTFOUND : MM_EIO, errno,
                                  "cannot tell the file system of '%s'",
                                  mm_log_path(red, sizeof(red), path));
    memset(out, 0, sizeof(*out));
    out->magic = (unsigned long)s.f_type & 0xfffffffful;
    out->kind = MM_OS_FS_OTHER;
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
        if (magics[i].magic == out->magic)
            out->kind = magics[i].kind;
    if (out->kind == MM_OS_FS_OTHER)
        snprintf(out->name, sizeof(out->name), "0x%lx", out->magic);
    else
        snprintf(out->name, sizeof(out->name), "%s", mm_os_fs_kind_name(out->kind));
    if (out->kind == MM_OS_FS_FUSE)
        fuse_kind(path, out);
    return 0;
}

int mm_os_space(const char *path, struct mm_os_space *out)
{
    char red[MM_LOG_PATH_MAX];
    struct statvfs v;

    memset(out, 0, sizeof(*out));
    if (statvfs(path, &v) != 0)
        return mm_error_set_errno(MM_EIO, errno, "cannot tell the free space of '%s'",
                                  mm_log_path(red, sizeof(red), path));
    out->avail = (uint64_t)v.f_bavail * (uint64_t)v.f_frsize;
    out->total = (uint64_t)v.f_blocks * (uint64_t)v.f_frsize;
    out->files = v.f_files;
    out->favail = v.f_favail;
    out->readonly = (v.f_flag & ST_RDONLY) != 0;
    return 0;
}
#endif
