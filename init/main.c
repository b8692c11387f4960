/*
 * init/main.c - the root task of a Nestor system.
 *
 * Today it reports what the kernel handed it (memory as untyped capabilities,
 * boot modules, the stack config) and checks the stack config is a device
 * tree blob. Building the stack the config describes comes with the
 * stack-config work (libfdt, monitors, VMs).
 */
#include <nestor/bootinfo.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define FDT_MAGIC 0xD00DFEEDU           /* devicetree specification 5.2 */
#define CONFIG_TAG "stack-config "

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void report_memory(const nestor_bootinfo_t *bi)
{
    nestor_word_t n = bi->untyped.end - bi->untyped.start, total = 0;
    unsigned biggest = 0;
    for (nestor_word_t i = 0; i < n; i++) {
        total += 1ULL << bi->untyped_list[i].size_bits;
        if (bi->untyped_list[i].size_bits > biggest)
            biggest = bi->untyped_list[i].size_bits;
    }
    printf("init: %lu untyped capabilities, %lu KiB in all, largest 2^%u bytes\n", n,
           total / 1024, biggest);
    printf("init: root CNode slots %lu..%lu free\n", bi->empty.start, bi->empty.end - 1);
}

static int check_config(const nestor_module_desc_t *m)
{
    const uint8_t *blob = (const uint8_t *)(uintptr_t)m->vaddr;
    if (m->size < 8 || be32(blob) != FDT_MAGIC) {
        printf("init: stack config \"%s\" is not a device tree blob\n", m->name);
        return 0;
    }
    printf("init: stack config \"%s\": device tree blob, %u bytes\n",
           m->name + strlen(CONFIG_TAG), be32(blob + 4));
    return 1;
}

int main(const nestor_bootinfo_t *bi)
{
    printf("init: Nestor root task started (command line \"%s\")\n", bi->cmdline);
    report_memory(bi);
    int configs = 0, ok = 1;
    for (nestor_word_t i = 0; i < bi->module_count; i++) {
        const nestor_module_desc_t *m = &bi->modules[i];
        printf("init: module %lu \"%s\", %lu bytes at 0x%lx\n", i, m->name, m->size, m->vaddr);
        if (strncmp(m->name, CONFIG_TAG, strlen(CONFIG_TAG)) == 0) {
            configs++;
            ok &= check_config(m);
        }
    }
    if (configs == 0)
        printf("init: no stack config module: nothing to build\n");
    printf("init: the stack config names no monitors to start yet; done\n");
    return ok;
}
