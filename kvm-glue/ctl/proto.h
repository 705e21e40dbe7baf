/* SPDX-License-Identifier: MIT */
/*
 * The control socket's wire format (docs/kvm-host.md, "Control socket"),
 * shared by hvshim-kvm and hvshim-ctl. Pure functions, no I/O.
 *
 * A request is one line: words separated by single spaces, ended by '\n'.
 * A reply is zero or more data lines, then one final line:
 *   "ok"               the command succeeded;
 *   "error TEXT"       it failed (TEXT: one line for a human);
 *   "usage TEXT"       the request itself was malformed.
 * Inside a word (and inside data lines' values) the bytes 0x00-0x20, '%'
 * and 0x7F are written %XX (two upper-case hex digits), so any key, value
 * or path fits in one word; everything else, UTF-8 included, goes as is.
 */
#ifndef HVSHIM_KVM_CTL_PROTO_H
#define HVSHIM_KVM_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

/* Longest request or reply line, '\n' included. */
#define CTL_LINE_MAX 8192u
/* Most words in one request. */
#define CTL_ARGS_MAX 16u

/* Escape len bytes of in into out (NUL-terminated). Returns the length
 * written, or -1 if out (outlen bytes) is too small. */
long ctl_escape(const char *in, size_t len, char *out, size_t outlen);

/* Split a request line (no '\n') in place into at most max words and
 * unescape each. Returns the number of words, or -1 with a reason in
 * *why: empty word (two spaces, leading or trailing space), bad %XX, a
 * NUL byte from %00, or more than max words. */
int ctl_split(char *line, char **argv, int max, const char **why);

/* Whether a reply line is the final one, and of which kind. */
enum ctl_final { CTL_DATA, CTL_OK, CTL_ERROR, CTL_USAGE };
enum ctl_final ctl_final_kind(const char *line);

#endif /* HVSHIM_KVM_CTL_PROTO_H */
