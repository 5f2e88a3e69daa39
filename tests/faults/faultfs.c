// SPDX-License-Identifier: Apache-2.0
// faultfs: a passthrough FUSE filesystem over a backing directory that makes
// chosen operations fail on demand, for tests/faults/failing_disk.t: the
// state directory of pam_totp mounted on it sees a disk that fails write,
// fsync, rename... with EIO while everything else works.
//
//   faultfs CONTROL BACKING MOUNTPOINT [fuse options, e.g. -f -s -o default_permissions]
//
// CONTROL is a file outside the mount, read before every operation that can
// be made to fail (a few bytes; the test rewrites it between logins). It
// holds words separated by blanks:
//   OP            every OP fails (write, fsync, fsyncdir, rename, create,
//                 open, unlink, flush, read, truncate, chmod, mkdir)
//   OP@TEXT       only OP on a path that contains TEXT (e.g. write@.tmp:
//                 only the writes into atomic_replace's temp files)
//   errno=N       the error to give (default EIO)
// An empty or missing CONTROL file: no faults. Every failure made is told
// on stderr ("faultfs: OP PATH: error N injected"), so a test can show that
// the fault it meant really happened.
//
// Ownership and modes are the backing directory's (the daemon runs as root
// and creates files as root); the kernel's own flock emulation serves the
// store's locks. hard_remove: a temp file unlinked while still open goes
// at once (no .fuse_hidden files to confuse a "nothing left over" check).
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

static char control_path[PATH_MAX];
static char backing[PATH_MAX];

// The backing path of a path in the mount.
static int real_path(char out[PATH_MAX], const char* path) {
  const int n = snprintf(out, PATH_MAX, "%s%s", backing, path);
  return n > 0 && n < PATH_MAX ? 0 : -ENAMETOOLONG;
}

// 0, or the negative errno the control file asks for on `op` of `path`.
static int fault(const char* op, const char* path) {
  char buf[1024];
  const int fd = open(control_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  const ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  int err = EIO;
  int hit = 0;
  const size_t oplen = strlen(op);
  char* save = NULL;
  for (char* w = strtok_r(buf, " \t\r\n", &save); w != NULL; w = strtok_r(NULL, " \t\r\n", &save)) {
    if (strncmp(w, "errno=", 6) == 0) {
      const int e = atoi(w + 6);
      if (e > 0) err = e;
      continue;
    }
    if (strncmp(w, op, oplen) != 0) continue;
    if (w[oplen] == 0) hit = 1;
    else if (w[oplen] == '@' && strstr(path, w + oplen + 1) != NULL) hit = 1;
  }
  if (!hit) return 0;
  fprintf(stderr, "faultfs: %s %s: error %d injected\n", op, path, err);
  return -err;
}

#define FAULT(op, path)                     \
  do {                                      \
    const int f_ = fault((op), (path));     \
    if (f_ != 0) return f_;                 \
  } while (0)
#define REAL(var, path)                     \
  char var[PATH_MAX];                       \
  do {                                      \
    const int r_ = real_path(var, (path));  \
    if (r_ != 0) return r_;                 \
  } while (0)

static void* ff_init(struct fuse_conn_info* conn, struct fuse_config* cfg) {
  (void)conn;
  cfg->use_ino = 1;
  cfg->hard_remove = 1;
  // Ask the daemon every time: a test flips faults between operations.
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->kernel_cache = 0;
  return NULL;
}

static int ff_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  if (fi != NULL) return fstat((int)fi->fh, st) == 0 ? 0 : -errno;
  REAL(p, path);
  return lstat(p, st) == 0 ? 0 : -errno;
}

static int ff_readlink(const char* path, char* buf, size_t size) {
  REAL(p, path);
  const ssize_t n = readlink(p, buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = 0;
  return 0;
}

static int ff_readdir(const char* path, void* buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info* fi,
                      enum fuse_readdir_flags flags) {
  (void)off, (void)fi, (void)flags;
  REAL(p, path);
  DIR* d = opendir(p);
  if (d == NULL) return -errno;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = e->d_ino;
    st.st_mode = (mode_t)DTTOIF(e->d_type);
    if (filler(buf, e->d_name, &st, 0, 0) != 0) break;
  }
  closedir(d);
  return 0;
}

static int ff_mkdir(const char* path, mode_t mode) {
  FAULT("mkdir", path);
  REAL(p, path);
  return mkdir(p, mode) == 0 ? 0 : -errno;
}

static int ff_unlink(const char* path) {
  FAULT("unlink", path);
  REAL(p, path);
  return unlink(p) == 0 ? 0 : -errno;
}

static int ff_rmdir(const char* path) {
  REAL(p, path);
  return rmdir(p) == 0 ? 0 : -errno;
}

static int ff_symlink(const char* target, const char* path) {
  REAL(p, path);
  return symlink(target, p) == 0 ? 0 : -errno;
}

static int ff_rename(const char* from, const char* to, unsigned int flags) {
  FAULT("rename", to);
  REAL(a, from);
  REAL(b, to);
  return renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) == 0 ? 0 : -errno;
}

static int ff_link(const char* from, const char* to) {
  REAL(a, from);
  REAL(b, to);
  return link(a, b) == 0 ? 0 : -errno;
}

static int ff_chmod(const char* path, mode_t mode, struct fuse_file_info* fi) {
  FAULT("chmod", path);
  if (fi != NULL) return fchmod((int)fi->fh, mode) == 0 ? 0 : -errno;
  REAL(p, path);
  return chmod(p, mode) == 0 ? 0 : -errno;
}

static int ff_chown(const char* path, uid_t uid, gid_t gid, struct fuse_file_info* fi) {
  if (fi != NULL) return fchown((int)fi->fh, uid, gid) == 0 ? 0 : -errno;
  REAL(p, path);
  return lchown(p, uid, gid) == 0 ? 0 : -errno;
}

static int ff_truncate(const char* path, off_t size, struct fuse_file_info* fi) {
  FAULT("truncate", path);
  if (fi != NULL) return ftruncate((int)fi->fh, size) == 0 ? 0 : -errno;
  REAL(p, path);
  return truncate(p, size) == 0 ? 0 : -errno;
}

static int ff_utimens(const char* path, const struct timespec tv[2], struct fuse_file_info* fi) {
  if (fi != NULL) return futimens((int)fi->fh, tv) == 0 ? 0 : -errno;
  REAL(p, path);
  return utimensat(AT_FDCWD, p, tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int ff_create(const char* path, mode_t mode, struct fuse_file_info* fi) {
  FAULT("create", path);
  REAL(p, path);
  const int fd = open(p, fi->flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int ff_open(const char* path, struct fuse_file_info* fi) {
  FAULT("open", path);
  REAL(p, path);
  const int fd = open(p, (fi->flags & ~O_CREAT) | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -errno;
  fi->fh = (uint64_t)fd;
  return 0;
}

static int ff_read(const char* path, char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  FAULT("read", path);
  const ssize_t n = pread((int)fi->fh, buf, size, off);
  return n >= 0 ? (int)n : -errno;
}

static int ff_write(const char* path, const char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  FAULT("write", path);
  const ssize_t n = pwrite((int)fi->fh, buf, size, off);
  return n >= 0 ? (int)n : -errno;
}

static int ff_statfs(const char* path, struct statvfs* st) {
  (void)path;
  return statvfs(backing, st) == 0 ? 0 : -errno;
}

// close(2) of the caller: an error here is what close() returns.
static int ff_flush(const char* path, struct fuse_file_info* fi) {
  (void)fi;
  FAULT("flush", path);
  return 0;
}

static int ff_release(const char* path, struct fuse_file_info* fi) {
  (void)path;
  close((int)fi->fh);
  return 0;
}

static int ff_fsync(const char* path, int datasync, struct fuse_file_info* fi) {
  FAULT("fsync", path);
  const int r = datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh);
  return r == 0 ? 0 : -errno;
}

static int ff_fsyncdir(const char* path, int datasync, struct fuse_file_info* fi) {
  (void)datasync, (void)fi;
  FAULT("fsyncdir", path);
  REAL(p, path);
  const int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  const int r = fsync(fd) == 0 ? 0 : -errno;
  close(fd);
  return r;
}

static const struct fuse_operations ops = {
    .getattr = ff_getattr,
    .readlink = ff_readlink,
    .mkdir = ff_mkdir,
    .unlink = ff_unlink,
    .rmdir = ff_rmdir,
    .symlink = ff_symlink,
    .rename = ff_rename,
    .link = ff_link,
    .chmod = ff_chmod,
    .chown = ff_chown,
    .truncate = ff_truncate,
    .open = ff_open,
    .read = ff_read,
    .write = ff_write,
    .statfs = ff_statfs,
    .flush = ff_flush,
    .release = ff_release,
    .fsync = ff_fsync,
    .readdir = ff_readdir,
    .fsyncdir = ff_fsyncdir,
    .init = ff_init,
    .create = ff_create,
    .utimens = ff_utimens,
};

int main(int argc, char* argv[]) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s CONTROL BACKING MOUNTPOINT [fuse options]\n", argv[0]);
    return 2;
  }
  if (realpath(argv[2], backing) == NULL) {
    perror(argv[2]);
    return 2;
  }
  // Absolute: the daemon may change directory.
  char cwd[PATH_MAX];
  if (argv[1][0] != '/' && getcwd(cwd, sizeof cwd) == NULL) return 2;
  if (snprintf(control_path, sizeof control_path, "%s%s%s", argv[1][0] == '/' ? "" : cwd, argv[1][0] == '/' ? "" : "/",
               argv[1]) >= (int)sizeof control_path) {
    return 2;
  }
  // fuse_main gets the program name, the mount point and the options.
  argv[2] = argv[0];
  umask(0);
  return fuse_main(argc - 2, argv + 2, &ops, NULL);
}
