/* SPDX-License-Identifier: MIT */
/*
 * guest-kexec KERNEL INITRD CMDLINE: load a kernel with kexec_file_load and
 * boot it at once (reboot(LINUX_REBOOT_CMD_KEXEC)). A static helper for the
 * e2e guest, whose busybox has no kexec applet; the e2e test adds it to the
 * guest's initramfs. Exit status 1 with one line on stderr if either step
 * fails (on success it does not return).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/reboot.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: guest-kexec KERNEL INITRD CMDLINE\n");
        return 2;
    }
    int kfd = open(argv[1], O_RDONLY | O_CLOEXEC);
    int ifd = open(argv[2], O_RDONLY | O_CLOEXEC);
    if (kfd < 0 || ifd < 0) {
        fprintf(stderr, "guest-kexec: open %s: %s\n", kfd < 0 ? argv[1] : argv[2],
                strerror(errno));
        return 1;
    }
    /* The command line length counts its NUL. */
    if (syscall(SYS_kexec_file_load, kfd, ifd, strlen(argv[3]) + 1, argv[3], 0UL) < 0) {
        fprintf(stderr, "guest-kexec: kexec_file_load: %s\n", strerror(errno));
        return 1;
    }
    sync();
    reboot(LINUX_REBOOT_CMD_KEXEC);
    fprintf(stderr, "guest-kexec: reboot(KEXEC): %s\n", strerror(errno));
    return 1;
}
