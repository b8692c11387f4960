/*
 * checkpoint/host_line.c - the host trigger's line reader (include/
 * ckpt_host.h): bytes from the host, trusted for nothing, into lines of at
 * most CKPT_HOST_LINE_MAX bytes.
 */
#include "include/ckpt_host.h"
#include <string.h>

ckpt_host_line_t ckpt_host_byte(ckpt_host_reader_t *r, uint8_t c)
{
    if (c != '\n' && c != '\r') {
        if (r->len < CKPT_HOST_LINE_MAX)
            r->text[r->len++] = (char)c;
        else
            r->too_long = true;
        return CKPT_HOST_MORE;
    }
    const bool too_long = r->too_long;
    const unsigned len = r->len;
    r->len = 0;
    r->too_long = false;
    if (too_long)
        return CKPT_HOST_TOO_LONG;
    if (!len)
        return CKPT_HOST_MORE;
    r->text[len] = 0;
    if (strcmp(r->text, CKPT_HOST_COMMAND) == 0)
        return CKPT_HOST_NOW;
    for (unsigned i = 0; i < len; i++)
        if (r->text[i] < ' ' || r->text[i] > '~')
            r->text[i] = '?';
    return CKPT_HOST_UNKNOWN;
}
