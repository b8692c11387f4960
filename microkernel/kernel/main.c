/*
 * kernel/main.c - kmain: from the long-mode entry to a running kernel.
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/syscall_msr.h"
#include "arch/x86_64/vmx.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/pic8259.h"
#include "arch/x86_64/platform.h"
#include "arch/x86_64/serial.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/vm_boot.h"
#include "boot/multiboot2.h"
#include "kernel/boot_root.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/sched.h"
#include "kernel/selftest.h"
#include <nestor/limits.h>
#include <nestor/version.h>
#include <string.h>

extern char kernel_phys_start[], kernel_end[];

/* The timer rate from the command line ("timer_hz=N", NESTOR_TIMER_HZ_MIN
 * to NESTOR_TIMER_HZ): a Nestor nested two deep in emulation spends more
 * than a millisecond of its own TSC time on each tick of 1 kHz (every
 * emulated instruction counts), and would do nothing but take ticks. */
static unsigned timer_hz(const char *cmdline)
{
    char value[8];
    if (!cmdline_get(cmdline, "timer_hz", value, sizeof value))
        return NESTOR_TIMER_HZ;
    unsigned hz = 0;
    const char *p = value;
    for (; *p >= '0' && *p <= '9' && hz <= NESTOR_TIMER_HZ; p++)
        hz = hz * 10 + (unsigned)(*p - '0');
    if (*p || hz < NESTOR_TIMER_HZ_MIN || hz > NESTOR_TIMER_HZ) {
        kprintf("boot: timer_hz=%s: expected %u to %u: %u Hz\n", value, NESTOR_TIMER_HZ_MIN,
                NESTOR_TIMER_HZ, NESTOR_TIMER_HZ);
        return NESTOR_TIMER_HZ;
    }
    return hz;
}

/* "tick=demand": the tick runs only while it has work (sched.c, "the
 * tick"); otherwise (the default, "tick=periodic") at timer_hz always.
 * Opt-in: nested stacks' inner Nestors take it (their idle ticks were
 * nested4's cost), but Linux with virtio devices and a second VM under a
 * Nestor using it stopped making progress (linux@bochs, branch depth4:
 * not yet understood; microkernel/README.md). */
static bool tick_demand(const char *cmdline)
{
    char value[16];
    if (!cmdline_get(cmdline, "tick", value, sizeof value))
        return false;
    if (!strcmp(value, "demand"))
        return true;
    if (strcmp(value, "periodic"))
        kprintf("boot: tick=%s: expected demand or periodic: periodic\n", value);
    return false;
}

static void print_memory_map(const mb2_boot_t *b)
{
    uint64_t usable = 0;
    for (size_t i = 0; i < b->mmap_count; i++) {
        const mb2_mmap_entry_t *m = &b->mmap[i];
        kprintf("boot: mem [0x%016llx-0x%016llx) %s\n", (unsigned long long)m->base,
                (unsigned long long)(m->base + m->length), mb2_mem_type_str(m->type));
        if (m->type == MB2_MEM_AVAILABLE)
            usable += m->length;
    }
    if (b->mmap_dropped)
        kprintf("boot: warning: %zu memory map entries beyond %d ignored\n",
                b->mmap_dropped, MB2_MAX_MMAP);
    kprintf("boot: usable memory %llu KiB in %zu regions\n",
            (unsigned long long)(usable / 1024), b->mmap_count);
}

static void print_modules(const mb2_boot_t *b)
{
    for (size_t i = 0; i < b->module_count; i++) {
        const mb2_module_t *m = &b->modules[i];
        kprintf("boot: module %zu [0x%08x-0x%08x) %u bytes \"%s\"\n", i, m->start, m->end,
                m->end - m->start, m->cmdline);
    }
    if (b->modules_dropped)
        kprintf("boot: warning: %zu modules beyond %d ignored\n", b->modules_dropped,
                MB2_MAX_MODULES);
    kprintf("boot: %zu modules\n", b->module_count);
}

static uint32_t mbi_size;

static void boot_info(uint32_t magic, uint32_t mbi_phys, mb2_boot_t *b)
{
    if (magic != MB2_BOOTLOADER_MAGIC)
        platform_shutdown(false, "not started by a Multiboot2 loader");
    const void *info = phys_to_virt(mbi_phys);
    mbi_size = *(const uint32_t *)info;
    mb2_status_t st = mb2_parse(info, MB2_MAX_INFO_SIZE, b);
    if (st != MB2_OK) {
        kprintf("boot: multiboot2 information at 0x%x rejected: %s\n", mbi_phys,
                mb2_status_str(st));
        platform_shutdown(false, "bad boot information");
    }
    kprintf("boot: loader \"%s\", command line \"%s\"\n",
            b->bootloader ? b->bootloader : "?", b->cmdline ? b->cmdline : "");
    print_memory_map(b);
    print_modules(b);
}

void kmain(uint32_t magic, uint32_t mbi_phys)
{
    static mb2_boot_t boot;
    static cpu_info_t cpu;

    serial_init();
    kprintf("\n%s %s (x86-64) booting\n", NESTOR_NAME, NESTOR_VERSION);
    gdt_init();
    trap_init();
    pic_remap_and_mask();
    vm_boot_drop_identity();
    kprintf("boot: kernel image [0x%lx-0x%lx) phys, gdt/idt/tss loaded\n",
            (unsigned long)(uintptr_t)kernel_phys_start,
            (unsigned long)((uintptr_t)kernel_end - KERNEL_VMA));

    boot_info(magic, mbi_phys, &boot);
    cpu_detect(&cpu);
    cpu_print(&cpu);

    cpu_protect_kernel(&cpu);
    selftest_run(boot.cmdline);
    fpu_init();
    sched_init();
    const char *why = 0;
    if (vmx_enable(&cpu.vmx, &cpu.vmx_raw, &why))
        kprintf("boot: vmx: enabled (VMXON done, VMCS revision 0x%x)\n", cpu.vmx.revision);
    else
        kprintf("boot: vmx: not used: %s\n", why);
    kprintf("boot: fpu: %s, %u-byte state per thread\n",
            fpu_uses_xsave() ? "xsave (x87, sse, avx where present)" : "fxsave (x87, sse)",
            fpu_area_size());
    syscall_msr_init();
    unsigned hz = timer_hz(boot.cmdline);
    lapic_init(hz);
    bool demand = tick_demand(boot.cmdline);
    sched_tick_on_demand(demand);
    kprintf("boot: lapic timer %u ticks per %u Hz tick, %lu TSC per tick%s\n",
            lapic_ticks_per_tick(), hz, lapic_tsc_per_tick(),
            demand ? ", ticking only on demand" : "");
    if (boot_root_task(&boot, mbi_phys, mbi_size, boot.cmdline, vmx_enabled())) {
        kprintf("nestor: boot complete, starting the root task\n");
        sched_run();
    }
    kprintf("nestor: boot complete\n");
    platform_shutdown(true, NULL);
}
