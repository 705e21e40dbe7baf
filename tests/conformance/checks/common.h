/* SPDX-License-Identifier: MIT */
#ifndef HVCONF_COMMON_H
#define HVCONF_COMMON_H

#include "../hv.h"
#include "../tap.h"
#include "groups.h"

#endif
