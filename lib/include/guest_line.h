/*
 * lib/include/guest_line.h - a guest's console output collected into host
 * console lines, one policy for every console a VM has: the VMM's UART
 * (vmm-server/uart.c) and the virtio console server
 * (device-servers/console/console.c). '\n' ends a line, '\r' is dropped,
 * bytes outside printable ASCII show as '?' (a hostile guest cannot send
 * control sequences to the host's terminal), and a line is cut when the
 * buffer is full.
 */
#ifndef GUEST_LINE_H
#define GUEST_LINE_H
#include <stdbool.h>
#include <stdint.h>

/* Add byte @c to @line (*@len bytes so far, room for @max with the NUL).
 * True when the line is to be printed now (then print *@len bytes, if
 * any, and set *@len to 0). */
static inline bool guest_line_put(char *line, unsigned *len, unsigned max, uint8_t c)
{
    if (c == '\n')
        return true;
    if (c == '\r')
        return false;
    line[(*len)++] = c >= 0x20 && c < 0x7F ? (char)c : '?';
    return *len == max - 1;
}

#endif
