/*
 * checkpoint/include/ckpt_host.h - the host trigger's line protocol
 * (checkpoint/README.md "From the host"): a host serial port granted to the
 * checkpoint monitor by its config (the machine's COM2). The monitor greets
 * with a line starting CKPT_HOST_READY once it is set up; a line
 * CKPT_HOST_COMMAND asks for an image at the VM's next exit boundary, as
 * CKPT_REQ_NOW does (ckpt_proto.h); the monitor answers each line with one
 * of its own starting "checkpoint: " (taken, refused and why, or not a
 * command). A line ends with LF or CR (an empty line is none); one longer
 * than CKPT_HOST_LINE_MAX bytes is refused whole. ./nestor run CONFIG
 * --checkpoint-after S sends the command S seconds after the greeting
 * (tools/nestor/ckpt_trigger.py). Pure: the unit tests run the reader on
 * the host (tests/unit/test_ckpt.c).
 */
#ifndef CKPT_HOST_H
#define CKPT_HOST_H
#include <stdbool.h>
#include <stdint.h>

#define CKPT_HOST_COMMAND       "checkpoint"
#define CKPT_HOST_READY         "checkpoint: ready"
#define CKPT_HOST_LINE_MAX      32

typedef enum {
    CKPT_HOST_MORE,             /* no line ended (or an empty one) */
    CKPT_HOST_NOW,              /* the command */
    CKPT_HOST_UNKNOWN,          /* another line: its text in the reader */
    CKPT_HOST_TOO_LONG,         /* a line longer than CKPT_HOST_LINE_MAX */
} ckpt_host_line_t;

typedef struct {
    char text[CKPT_HOST_LINE_MAX + 1];  /* the line so far; at CKPT_HOST_UNKNOWN all of it,
                                           NUL-terminated, bytes outside printable ASCII '?' */
    unsigned len;
    bool too_long;
} ckpt_host_reader_t;

/* One byte from the host into @r: what ended with it. */
ckpt_host_line_t ckpt_host_byte(ckpt_host_reader_t *r, uint8_t c);

#endif
