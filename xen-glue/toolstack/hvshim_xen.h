/* SPDX-License-Identifier: MIT */
/* hvshim-xen's command line, callable from tests (hvshim_xen.c). */
#ifndef HVSHIM_XEN_CLI_H
#define HVSHIM_XEN_CLI_H

#include <stdio.h>

/* argv[0] is the program name. Returns the exit status. */
int hvshim_xen_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* HVSHIM_XEN_CLI_H */
