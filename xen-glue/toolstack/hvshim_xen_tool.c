/* SPDX-License-Identifier: MIT */
/* hvshim-xen (see hvshim_xen.c). */
#include <stdio.h>

#include "xen-glue/toolstack/hvshim_xen.h"

int main(int argc, char **argv)
{
    return hvshim_xen_main(argc, argv, stdout, stderr);
}
