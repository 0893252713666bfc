// oci-ns-floor.c - the kernel's own share of stopping OCI containers: N processes that are each the
// init of new pid, mount, ipc and uts namespaces, with the mounts runc gives a container (proc, a
// /dev tmpfs, devpts, shm, mqueue, sysfs; /dev/null over masked files, read-only tmpfs over masked
// dirs, read-only binds), against N plain processes: SIGKILL all at once, time until all are reaped
// (a process leaves its namespaces, and so its mounts, before it can be reaped). No runc, no conmon.
//
// Usage: oci-ns-floor N NAMESPACES(0|1) MOUNTS(0|1)     (as root; see bench/README.md)
// Build: gcc -O2 -Wall -o oci-ns-floor oci-ns-floor.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char base[128];
static int mounts_on = 1;
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static int M(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  if (mount(src, dst, type, flags, data) != 0) { fprintf(stderr, "mount %s: %s\n", dst, strerror(errno)); return -1; }
  return 0;
}

static int child(void *arg) {
  int ready = *(int *)arg;
  char p[600];
  mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL); // nothing below reaches the host's mount table
  if (mounts_on) {
    const char *r = getenv("NSF_ROOT");
    M("tmpfs", r, "tmpfs", 0, "size=64k");
    const char *dirs[] = {"proc", "dev", "sys", NULL};
    for (int i = 0; dirs[i]; i++) { snprintf(p, sizeof p, "%s/%s", r, dirs[i]); mkdir(p, 0755); }
    snprintf(p, sizeof p, "%s/proc", r); M("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    snprintf(p, sizeof p, "%s/dev", r); M("tmpfs", p, "tmpfs", MS_NOSUID, "mode=755,size=64k");
    const char *devdirs[] = {"pts", "shm", "mqueue", NULL};
    for (int i = 0; devdirs[i]; i++) { snprintf(p, sizeof p, "%s/dev/%s", r, devdirs[i]); mkdir(p, 0755); }
    snprintf(p, sizeof p, "%s/dev/null", r); close(open(p, O_CREAT | O_WRONLY, 0666)); // what masked files are bound to
    snprintf(p, sizeof p, "%s/dev/pts", r); M("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
    snprintf(p, sizeof p, "%s/dev/shm", r); M("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    snprintf(p, sizeof p, "%s/dev/mqueue", r); M("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    snprintf(p, sizeof p, "%s/sys", r); M("sysfs", p, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
    // runc's masked paths (/dev/null bound over files, a read-only tmpfs over dirs) and read-only paths
    const char *masked_files[] = {"proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug", NULL};
    for (int i = 0; masked_files[i]; i++) { snprintf(p, sizeof p, "%s/%s", r, masked_files[i]); char n[600]; snprintf(n, sizeof n, "%s/dev/null", r); mount(n, p, NULL, MS_BIND, NULL); }
    const char *masked_dirs[] = {"proc/acpi", "proc/scsi", "sys/firmware", NULL};
    for (int i = 0; masked_dirs[i]; i++) { snprintf(p, sizeof p, "%s/%s", r, masked_dirs[i]); mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL); }
    const char *ro[] = {"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger", NULL};
    for (int i = 0; ro[i]; i++) { snprintf(p, sizeof p, "%s/%s", r, ro[i]); if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) == 0) mount(p, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL); }
  }
  if (write(ready, "x", 1) != 1) _exit(1);
  for (;;) pause();
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100;
  int ns = argc > 2 ? atoi(argv[2]) : 1;
  mounts_on = argc > 3 ? atoi(argv[3]) : 1;
  // Each child mounts a tmpfs here in its own mount namespace: the host sees an empty folder.
  char root[160];
  snprintf(base, sizeof base, "/run/oci-ns-floor-%d", (int)getpid());
  snprintf(root, sizeof root, "%s/r", base);
  mkdir(base, 0700);
  mkdir(root, 0755);
  setenv("NSF_ROOT", root, 1);
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t *pids = calloc(n, sizeof *pids);
  size_t stack_size = 64 * 1024;
  double t0 = now_ms();
  for (int i = 0; i < n; i++) {
    char *stack = malloc(stack_size);
    int flags = SIGCHLD | (ns ? CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS : 0);
    pids[i] = clone(child, stack + stack_size, flags, &fds[1]);
    if (pids[i] < 0) { perror("clone"); return 1; }
  }
  char c;
  for (int i = 0; i < n; i++) if (read(fds[0], &c, 1) != 1) return 1;
  double t1 = now_ms();
  for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
  for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
  double t2 = now_ms();
  printf("n=%d namespaces=%d mounts=%d setup_ms=%.0f kill_reap_ms=%.0f per_ms=%.3f\n", n, ns, mounts_on, t1 - t0, t2 - t1, (t2 - t1) / n);
  rmdir(root);
  rmdir(base);
  return 0;
}
