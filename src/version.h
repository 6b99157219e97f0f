/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef LT_VERSION_H
#define LT_VERSION_H
#define LT_VERSION "0.1.0"
#endif
