/*
 * checkpoint/host/ckpt_show.h - what `./nestor checkpoint ls|show IMAGE`
 * prints (ckpt_show.c), apart from the program around it (ckpt_tool.c) so
 * that the unit tests can run it on images built in memory.
 */
#ifndef CKPT_SHOW_H
#define CKPT_SHOW_H
#include "../include/ckpt_format.h"
#include <stdio.h>

/* One line per image of the chain on @m, then the verdict; 0 if the whole
 * chain checks, 1 if an image is refused (the line says why). */
int ckpt_ls(FILE *out, const ckpt_medium_t *m);
/* Image @index of the chain: header, sections, vCPU registers, device
 * records, RAM summary. 0, or 1 if it (or one before it) is refused or
 * absent. */
int ckpt_show(FILE *out, const ckpt_medium_t *m, unsigned index);

#endif
