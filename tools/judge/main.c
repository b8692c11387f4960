/*
 * tools/judge/main.c - serial-judge: judge a serial log from the command line.
 *
 *   serial-judge SPEC LOG [--emu EMU]   exit 0 if the log meets the spec, 1 if
 *                                       not, 2 on usage or I/O error
 *   serial-judge --verdict LOG          print pass|fail|none; exit 0|1|3
 *   serial-judge --compare VM VIRTUAL-LOG BARE-LOG
 *                                       bare against virtual (judge_compare):
 *                                       exit 0 if the same, 1 if not
 */
#include "judge.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2
#define EXIT_NO_VERDICT 3

static char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "serial-judge: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (size_t n; buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += n;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    if (out_len)
        *out_len = len;
    return buf;
}

/* Feed every line of @log; a NUL byte inside a line ends that line's text. */
static void feed_log(judge_t *j, char *log, size_t len)
{
    char *p = log, *end = log + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *stop = nl ? nl : end;
        *stop = '\0';
        if (stop > p && stop[-1] == '\r')
            stop[-1] = '\0';
        judge_feed(j, p);
        p = stop + 1;
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: serial-judge SPEC LOG [--emu EMU]\n"
                    "       serial-judge --verdict LOG\n"
                    "       serial-judge --compare VM VIRTUAL-LOG BARE-LOG\n");
    return EXIT_USAGE;
}

static int verdict_only(const char *log_path)
{
    size_t len;
    char *log = read_file(log_path, &len);
    if (!log)
        return EXIT_USAGE;
    judge_t *j = calloc(1, sizeof(*j));
    if (!j)
        return EXIT_USAGE;
    feed_log(j, log, len);
    judge_verdict_t v = j->seen_verdict;
    free(j);
    free(log);
    puts(v == JUDGE_VERDICT_PASS ? "pass" : v == JUDGE_VERDICT_FAIL ? "fail" : "none");
    return v == JUDGE_VERDICT_PASS ? 0 : v == JUDGE_VERDICT_FAIL ? 1 : EXIT_NO_VERDICT;
}

static int compare(const char *vm, const char *virt_path, const char *bare_path)
{
    char *virt = read_file(virt_path, NULL), *bare = read_file(bare_path, NULL);
    if (!virt || !bare)
        return EXIT_USAGE;
    char msg[JUDGE_MAX_REPORT];
    bool same = judge_compare(virt, bare, vm, msg, sizeof(msg));
    fputs(msg, stdout);
    free(virt);
    free(bare);
    return same ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--compare") == 0)
        return compare(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "--verdict") == 0)
        return verdict_only(argv[2]);
    if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--emu") == 0))
        return usage();
    const char *emu = argc == 5 ? argv[4] : NULL;
    size_t len;
    char *spec = read_file(argv[1], NULL), *log = read_file(argv[2], &len);
    judge_t *j = calloc(1, sizeof(*j));
    if (!spec || !log || !j)
        return EXIT_USAGE;
    char msg[JUDGE_MAX_REPORT];
    if (!judge_load(j, spec, emu, msg, sizeof(msg))) {
        fprintf(stderr, "serial-judge: %s: %s\n", argv[1], msg);
        return EXIT_USAGE;
    }
    feed_log(j, log, len);
    bool ok = judge_finish(j, msg, sizeof(msg));
    fputs(msg, stdout);
    free(j);
    free(spec);
    free(log);
    return ok ? 0 : 1;
}
