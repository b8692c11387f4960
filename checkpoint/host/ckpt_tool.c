/*
 * checkpoint/host/ckpt_tool.c - build/host/tools/nestor-ckpt, behind
 * `./nestor checkpoint ls|show IMAGE [N] [--offset BYTES]`: reads the chain
 * of checkpoint images in a file (a disk image the checkpoint monitor
 * wrote, from byte --offset: its partition's first sector times 512).
 * Exit status 0 when the chain checks, 1 when an image is refused, 2 on
 * bad usage or an unreadable file.
 */
#include "ckpt_show.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *f;
    uint64_t start;
} file_ctx_t;

static bool file_read(void *ctx, uint64_t off, void *buf, size_t n)
{
    file_ctx_t *fc = ctx;
    return fseeko(fc->f, (off_t)(fc->start + off), SEEK_SET) == 0 &&
           fread(buf, 1, n, fc->f) == n;
}

static int usage(void)
{
    fprintf(stderr, "usage: nestor-ckpt ls IMAGE [--offset BYTES]\n"
                    "       nestor-ckpt show IMAGE [N] [--offset BYTES]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *cmd = NULL, *path = NULL;
    unsigned long long offset = 0, index = 0;
    bool have_index = false;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--offset") && i + 1 < argc) {
            offset = strtoull(argv[++i], &end, 0);
            if (*end)
                return usage();
        } else if (!cmd) {
            cmd = argv[i];
        } else if (!path) {
            path = argv[i];
        } else if (!have_index) {
            index = strtoull(argv[i], &end, 0);
            if (*end || index >= CKPT_MAX_IMAGES)
                return usage();
            have_index = true;
        } else {
            return usage();
        }
    }
    if (!cmd || !path || (strcmp(cmd, "ls") && strcmp(cmd, "show")) ||
        (have_index && strcmp(cmd, "show")))
        return usage();
    FILE *f = fopen(path, "rb");
    if (!f || fseeko(f, 0, SEEK_END) != 0) {
        fprintf(stderr, "nestor-ckpt: cannot read %s\n", path);
        return 2;
    }
    off_t size = ftello(f);
    if (size < 0 || (unsigned long long)size < offset) {
        fprintf(stderr, "nestor-ckpt: %s has no byte %llu\n", path, offset);
        return 2;
    }
    file_ctx_t fc = { f, offset };
    static uint8_t scratch[CKPT_SCRATCH];
    const ckpt_medium_t m = { file_read, &fc, (uint64_t)size - offset, scratch };
    int rc = !strcmp(cmd, "ls") ? ckpt_ls(stdout, &m) : ckpt_show(stdout, &m, (unsigned)index);
    fclose(f);
    return rc;
}
