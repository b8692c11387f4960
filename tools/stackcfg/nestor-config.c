/*
 * tools/stackcfg/nestor-config.c - the host side of stack configs.
 *
 *   nestor-config check   [OPTIONS] BLOB   refuse a bad config (every error, exit 1)
 *   nestor-config facts   [OPTIONS] BLOB   the stack as "topo: ..." lines
 *   nestor-config modules [OPTIONS] BLOB   the programs and images it boots, and
 *                                          "nested NAME" for each nested stack
 *
 * OPTIONS: --name SOURCE (named in messages; default BLOB)
 *          --build DIR   (programs DIR/user/NAME.elf, images DIR/guests/NAME.{bin,elf})
 *          --configs DIR (nested stack configs DIR/NAME.dts; with --build, their
 *                         blobs DIR/stack-configs/NAME.dtb are read and checked too)
 *          --memory MIB  (the RAM of the machine it will boot on: the config's
 *                         /machine memory-mib may not be more)
 * Without --build / --configs / --memory those are not checked.
 * Exit status: 0 good, 1 the config is bad, 2 usage or I/O error.
 */
#include "stackcfg.h"
#include "topo_facts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_BLOB (1u << 20)

typedef struct {
    const char *build, *configs;
} dirs_t;

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

#define KERNEL_PATH  "kernel/nestor-kernel.elf"   /* in the build: what a nested stack boots */
#define CONFIGS_BUILT "stack-configs"              /* in the build: compiled stack-configs/ */

/* What a nested stack's file is ("demo/program vmm": a program), as a kind
 * and a name; false for its kernel (*name then NULL) or a name it cannot be. */
static bool nested_kind(const char *file, sc_file_kind_t *kind, const char **name)
{
    static const struct { const char *tag; sc_file_kind_t kind; } tags[] = {
        { SC_MODULE_ROOTTASK, SC_FILE_PROGRAM }, { SC_MODULE_PROGRAM, SC_FILE_PROGRAM },
        { SC_MODULE_IMAGE, SC_FILE_IMAGE }, { SC_MODULE_CONFIG, SC_FILE_CONFIG },
    };
    const char *inner = sc_nested_inner(file);
    *name = NULL;
    if (!inner || strcmp(inner, SC_NESTED_KERNEL) == 0)
        return false;
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (strncmp(inner, tags[i].tag, strlen(tags[i].tag)) == 0) {
            *kind = tags[i].kind;
            *name = inner + strlen(tags[i].tag);
            return true;
        }
    *name = "";
    return false;
}

static bool exists(void *ctx, sc_file_kind_t kind, const char *name)
{
    const dirs_t *d = ctx;
    char path[4096];
    if (kind == SC_FILE_IMAGE && sc_nested_inner(name)) {
        const char *what;
        if (!nested_kind(name, &kind, &what)) {
            if (what)
                return false;               /* no such kind of file */
            if (!d->build)
                return true;
            snprintf(path, sizeof path, "%s/" KERNEL_PATH, d->build);
            return file_exists(path);
        }
        name = what;
    }
    switch (kind) {
    case SC_FILE_PROGRAM:
        if (!d->build)
            return true;
        snprintf(path, sizeof path, "%s/user/%s.elf", d->build, name);
        return file_exists(path);
    case SC_FILE_IMAGE:
        if (!d->build)
            return true;
        snprintf(path, sizeof path, "%s/guests/%s.bin", d->build, name);
        if (file_exists(path))
            return true;
        snprintf(path, sizeof path, "%s/guests/%s.elf", d->build, name);
        return file_exists(path);
    case SC_FILE_CONFIG:
        if (!d->configs)
            return true;
        snprintf(path, sizeof path, "%s/%s.dts", d->configs, name);
        return file_exists(path);
    }
    return false;
}

static void *read_blob(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *buf = malloc(MAX_BLOB);
    *size = buf ? fread(buf, 1, MAX_BLOB, f) : 0;
    fclose(f);
    return buf;
}

/* Nested stacks' configs, each read once and freed at the end. */
#define MAX_NESTED_CONFIGS 64
static struct {
    char name[SC_NAME_MAX];
    void *blob;
    size_t size;
} nested[MAX_NESTED_CONFIGS];
static unsigned n_nested;

/* A nested stack's compiled config (the build's DIR/stack-configs/NAME.dtb). */
static const void *read_config(void *ctx, sc_file_kind_t kind, const char *name, size_t *size)
{
    const dirs_t *d = ctx;
    const char *what = name;
    if (kind != SC_FILE_CONFIG && (!nested_kind(name, &kind, &what) || kind != SC_FILE_CONFIG))
        return NULL;
    char path[4096];
    for (unsigned i = 0; i < n_nested; i++)
        if (strcmp(nested[i].name, what) == 0) {
            *size = nested[i].size;
            return nested[i].blob;
        }
    snprintf(path, sizeof path, "%s/" CONFIGS_BUILT "/%s.dtb", d->build, what);
    void *blob = n_nested < MAX_NESTED_CONFIGS ? read_blob(path, size) : NULL;
    if (blob) {
        snprintf(nested[n_nested].name, SC_NAME_MAX, "%s", what);
        nested[n_nested].blob = blob;
        nested[n_nested++].size = *size;
    }
    return blob;
}

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

static int usage(void)
{
    fprintf(stderr, "usage: nestor-config check|facts|modules [--name SOURCE] [--build DIR] "
                    "[--configs DIR] [--memory MIB] BLOB\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    const char *cmd = argv[1], *name = NULL, *blob_path = NULL;
    dirs_t dirs = { 0 };
    uint32_t memory = 0;
    for (int i = 2; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--name") == 0)
            name = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--build") == 0)
            dirs.build = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--configs") == 0)
            dirs.configs = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--memory") == 0)
            memory = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!blob_path && argv[i][0] != '-')
            blob_path = argv[i];
        else
            return usage();
    }
    if (!blob_path || (strcmp(cmd, "check") && strcmp(cmd, "facts") && strcmp(cmd, "modules")))
        return usage();
    size_t size;
    void *blob = read_blob(blob_path, &size);
    if (!blob) {
        fprintf(stderr, "nestor-config: cannot read %s\n", blob_path);
        return 2;
    }
    static sc_stack_t stack;
    static sc_report_t rep;
    sc_env_t env = { .exists = exists, .ctx = &dirs, .machine_mib = memory };
    if (dirs.build && dirs.configs) {
        /* Nested stacks are read from the build and named by their sources. */
        const char *base = strrchr(dirs.configs, '/');
        env.read = read_config;
        env.configs_dir = base && base[1] ? base + 1 : dirs.configs;
    }
    bool ok = sc_load(blob, size, name ? name : blob_path, &env, &stack, &rep);
    free(blob);
    while (n_nested)
        free(nested[--n_nested].blob);
    if (!ok) {
        for (unsigned i = 0; i < rep.n; i++)
            fprintf(stderr, "%s\n", rep.msg[i]);
        if (rep.total > rep.n)
            fprintf(stderr, "%s: ... and %u more errors\n", name ? name : blob_path,
                    rep.total - rep.n);
        fprintf(stderr, "%s: %u error%s: the stack is refused, nothing boots\n",
                name ? name : blob_path, rep.total, rep.total == 1 ? "" : "s");
        return 1;
    }
    if (strcmp(cmd, "facts") == 0) {
        topo_config_facts(&stack, print_line, NULL);
    } else if (strcmp(cmd, "modules") == 0) {
        /* Each program and image once, in start order. */
        for (unsigned i = 0; i < stack.n_mon; i++) {
            const char *p = sc_kind_program(stack.mon[stack.start_order[i]].kind);
            bool seen = false;
            for (unsigned j = 0; j < i; j++)
                seen |= strcmp(p, sc_kind_program(stack.mon[stack.start_order[j]].kind)) == 0;
            if (!seen)
                printf("program %s\n", p);
        }
        /* Images: the VMs' and their module files, each once. */
        const char *seen_files[SC_MAX_VMS * (1 + SC_MAX_GUEST_MODULES)];
        unsigned n_seen = 0;
        for (unsigned i = 0; i < stack.n_vm; i++) {
            const char *files[1 + SC_MAX_GUEST_MODULES];
            unsigned n = sc_vm_files(&stack.vm[i], files);
            for (unsigned f = 0; f < n; f++) {
                bool seen = false;
                for (unsigned j = 0; j < n_seen; j++)
                    seen |= strcmp(files[f], seen_files[j]) == 0;
                if (!seen) {
                    seen_files[n_seen++] = files[f];
                    printf("image %s\n", files[f]);
                }
            }
        }
        /* Block servers' disk images ('image'), each once. */
        for (unsigned i = 0; i < stack.n_mon; i++) {
            bool seen = !stack.mon[i].image[0];
            for (unsigned j = 0; !seen && j < n_seen; j++)
                seen |= strcmp(stack.mon[i].image, seen_files[j]) == 0;
            for (unsigned j = 0; !seen && j < i; j++)
                seen |= strcmp(stack.mon[i].image, stack.mon[j].image) == 0;
            if (!seen)
                printf("image %s\n", stack.mon[i].image);
        }
        /* Nested stacks: each config once (the harness adds their files). */
        for (unsigned i = 0; i < stack.n_vm; i++) {
            bool seen = !stack.vm[i].nested[0];
            for (unsigned j = 0; j < i; j++)
                seen |= strcmp(stack.vm[j].nested, stack.vm[i].nested) == 0;
            if (!seen)
                printf("nested %s\n", stack.vm[i].nested);
        }
    } else {
        printf("%s: good: %u monitor%s, %u VM%s\n", name ? name : blob_path, stack.n_mon,
               stack.n_mon == 1 ? "" : "s", stack.n_vm, stack.n_vm == 1 ? "" : "s");
    }
    return 0;
}
