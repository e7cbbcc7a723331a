/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operating-system helpers: folder creation, bounded file reads, and the one
 * crash-safe way mamori replaces a file (write a temporary name, fsync, rename,
 * fsync the folder). _GNU_SOURCE is allowed in this module only.
 */
#ifndef MM_OS_OS_H
#define MM_OS_OS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "common/buf.h"

/*
 * Create @path and every missing parent with @mode. An existing folder is fine.
 * @return 0, MM_EIO (message names the redacted path)
 */
int mm_os_mkdir_p(const char *path, mode_t mode);

/*
 * Append the whole content of the file at @path to @out (bounded by out->limit).
 * @return 0, MM_ENOTFOUND, MM_ELIMIT when the file is larger than the buffer allows, MM_EIO
 */
int mm_os_read_file(const char *path, mm_buf *out);

/*
 * Replace @path with @n bytes of @data crash-safely: temporary name in the same
 * folder, fsync, rename over @path, fsync of the folder.
 * @return 0, MM_EIO (nothing of the old file is lost on failure)
 */
int mm_os_write_atomic(const char *path, const void *data, size_t n);

/*
 * Write all @n bytes of @data to the open file @fd, retrying short writes and EINTR.
 * @path names the file in the error message (redacted).
 * @return 0, MM_EIO (a full disk is reported as such by the system message)
 */
int mm_os_write_all(int fd, const void *data, size_t n, const char *path);

/* fsync the folder @dir so that a rename in it is durable. @return 0, MM_EIO */
int mm_os_fsync_dir(const char *dir);

/*
 * Remove @path and everything below it (os_rmtree.c; not in the Windows build): links are
 * removed, never followed; read-only folders are opened up first. A missing @path is success.
 * @return 0, MM_EIO (what could not be removed stays; the message names @path, redacted)
 */
int mm_os_rmtree(const char *path);

/*
 * Folder listing straight from the kernel (getdents64): no DIR stream, so a folder costs
 * open, one or two reads and close — a backup lists hundreds of thousands of them.
 * mm_os_dir_read() fills @buf (at least 1 KiB) with raw entries; mm_os_dir_next() walks them.
 * On Windows (os/win/os_win_dir.c) the entries come from FindFirstFileExW on the path @fd was
 * opened at, names in UTF-8, the listing kept with @fd until it is closed.
 * @return bytes read (0 at the end), or -1 with errno set
 */
long mm_os_dir_read(int fd, void *buf, size_t cap);
/*
 * The entry at *@off of the @n bytes read into @buf, advancing *@off; "." and ".." are
 * skipped. @return the NUL-terminated name (in @buf), or NULL when none is left
 */
const char *mm_os_dir_next(const void *buf, size_t n, size_t *off);

/* ---- what differs between Linux and Windows (os.c, os_fs.c; os/win on Windows) ------------ */

/*
 * The name of this computer into @buf (@n bytes, NUL-terminated, cut to fit): gethostname(2),
 * on Windows the DNS host name in UTF-8.
 * @return 0, MM_EIO
 */
int mm_os_hostname(char *buf, size_t n);

/*
 * This machine's identity, 32 lower-case hex digits and a NUL, from /etc/machine-id
 * (systemd's, unique per installation; unlike the host name, two machines made from one image
 * with the same name differ). Windows: MM_ENOTFOUND (not used there).
 * @return 0, MM_ENOTFOUND (none, or not 32 hex digits)
 */
int mm_os_machine_id(char out[33]);

/*
 * @t as local time into @out, and the offset of local time east of UTC at @t, in seconds,
 * into @gmtoff (tm_gmtoff, which Windows lacks).
 * @return 0, MM_EINVAL (@t cannot be represented)
 */
int mm_os_localtime(time_t t, struct tm *out, long *gmtoff);

/*
 * Make a path from outside (the command line, the environment, the system) use '/' only, in
 * place: mamori finds parents and names at '/', and Windows takes either separator. On Windows
 * every '\' becomes '/' and a `\\?\` prefix is dropped (`\\?\C:\x` is "C:/x", `\\?\UNC\s\h` is
 * "//s/h": the file layer adds it back); `\\.\` device paths are left alone. On Linux '\' is
 * a character of names and nothing changes.
 * @return @path
 */
char *mm_os_path_slashes(char *path);

/* Space on the file system holding a path. */
struct mm_os_space {
    uint64_t avail;  /* bytes an unprivileged writer may still use */
    uint64_t total;  /* bytes of the file system */
    uint64_t files;  /* inodes in all, 0 when the file system does not count them */
    uint64_t favail; /* inodes left */
    int readonly;    /* mounted (Windows: the volume is) read-only */
};

/*
 * Say how much room the file system holding @path has and whether it is read-only:
 * statvfs(2), on Windows GetDiskFreeSpaceExW and GetVolumeInformationW.
 * @return 0, MM_EIO (errno set)
 */
int mm_os_space(const char *path, struct mm_os_space *out);

/* ---- decrypted data kept out of core dumps (os_mem.c) --------------------------------------- */

/*
 * Make this process write no core file (RLIMIT_CORE 0) and not be dumpable (PR_SET_DUMPABLE
 * 0: no core dump, and other processes of the same user cannot read its memory through
 * /proc/PID/mem or ptrace). For the CLI, at the start of every command (they decrypt
 * patient data or keys); the library never calls it. On Windows (os/win/os_win_proc.c):
 * Windows Error Reporting off for the process (no error box, no report, no dump: an
 * unhandled exception, abort() or an invalid C library argument ends the process at once).
 * @return 0, MM_EIO
 */
int mm_os_no_core_dumps(void);

/*
 * @n bytes of zeroed memory mapped apart from the heap and marked MADV_DONTDUMP (left out of
 * any core dump), for large buffers of decrypted data. Not locked: they may be larger than
 * RLIMIT_MEMLOCK. Give them back with mm_os_secret_unmap(p, n), which wipes them first.
 * On Windows: VirtualAlloc, locked (VirtualLock, never in the page file) when the working set
 * can grow to hold it.
 * @return the memory, or NULL (MM_ENOMEM set)
 */
void *mm_os_secret_map(size_t n);
void mm_os_secret_unmap(void *p, size_t n);

/* ---- what file system a path is on (os_fs.c) ------------------------------------------------ */

/* File systems mamori tells apart; a medium should be one Windows reads (MM_OS_FS_WINDOWS). */
enum mm_os_fs_kind {
    MM_OS_FS_UNKNOWN = 0,
    MM_OS_FS_EXFAT,      /* the kernel's exfat driver */
    MM_OS_FS_EXFAT_FUSE, /* exfat-fuse (mount.exfat-fuse) */
    MM_OS_FS_NTFS3,      /* the kernel's ntfs3 driver */
    MM_OS_FS_NTFS_3G,    /* ntfs-3g (FUSE) */
    MM_OS_FS_NTFS,       /* the old read-only kernel ntfs driver */
    MM_OS_FS_VFAT,       /* FAT12/16/32 */
    MM_OS_FS_FUSE,       /* another FUSE file system (sshfs...) */
    MM_OS_FS_EXT4,       /* ext2, ext3 or ext4 (one magic) */
    MM_OS_FS_XFS,
    MM_OS_FS_BTRFS,
    MM_OS_FS_TMPFS,
    MM_OS_FS_NFS,
    MM_OS_FS_OVERLAY,
    MM_OS_FS_OTHER /* known to statfs, none of the above */
};

/* Whether a Windows PC reads a medium of this kind without extra drivers. */
#define MM_OS_FS_WINDOWS(k)                                                          \
    ((k) == MM_OS_FS_EXFAT || (k) == MM_OS_FS_EXFAT_FUSE || (k) == MM_OS_FS_NTFS3 || \
     (k) == MM_OS_FS_NTFS_3G || (k) == MM_OS_FS_NTFS || (k) == MM_OS_FS_VFAT)

struct mm_os_fs {
    enum mm_os_fs_kind kind;
    unsigned long magic; /* statfs f_type */
    char name[64];       /* "exfat", "fuseblk:exfat", "ext4", ... (the mount table's type
                            when known, else the magic's name, else "0x<magic>") */
};

/*
 * Say what file system @path lies on: statfs(2)'s f_type, and for FUSE (fuseblk) the
 * mount table's line (/proc/self/mountinfo) of the mount holding @path, whose source and
 * type tell exfat-fuse from ntfs-3g.
 * @return 0, MM_ENOTFOUND (@path does not exist), MM_EIO
 */
int mm_os_fs_type(const char *path, struct mm_os_fs *out);

/* The stable name of @k ("exfat", "exfat-fuse", "ntfs3", "ntfs-3g", "ext4"...). */
const char *mm_os_fs_kind_name(enum mm_os_fs_kind k);

#endif
