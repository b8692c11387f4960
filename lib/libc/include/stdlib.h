/*
 * lib/libc/include/stdlib.h - the little of <stdlib.h> target code needs:
 * libfdt (Debian's libfdt.a, linked into init and the VMM) calls strtoul.
 */
#ifndef LIB_STDLIB_H
#define LIB_STDLIB_H
#include <stddef.h>

unsigned long strtoul(const char *s, char **end, int base);

#endif
