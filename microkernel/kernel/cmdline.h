/*
 * kernel/cmdline.h - kernel command line options ("key=value key2 ...").
 * Pure C, unit tested on the host.
 */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H
#include <stdbool.h>
#include <stddef.h>

/*
 * Copy the value of option @key into @out (NUL-terminated, at most @outlen-1
 * bytes). An option without '=' has the value "". Returns false if @key is
 * absent or its value does not fit. The last occurrence wins.
 */
bool cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen);

#endif
