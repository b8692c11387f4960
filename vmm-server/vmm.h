/*
 * vmm-server/vmm.h - the user-level VMM: one VM per guest module, each with
 * one vCPU, RAM given through EPT, and exits handled from a table.
 */
#ifndef VMM_H
#define VMM_H
#include "boot/multiboot.h"
#include "devices/acpi_pm.h"
#include "devices/ioapic.h"
#include "devices/pci.h"
#include "devices/i8042.h"
#include "devices/lapic.h"
#include "devices/pic8259.h"
#include "devices/pit8254.h"
#include "devices/rtc.h"
#include "devices/sysctl.h"
#include "devices/uart16550.h"
#include "cpu_policy.h"
#include "virtio_fwd.h"
#include "guest_env.h"
#include "decode/x86_decode.h"
#include "x86_arch.h"
#include <nestor/bootinfo.h>
#include <nestor/faults.h>
#include <nestor/vcpu.h>
#include <stackcfg.h>
#include <user/space.h>
#include <stdbool.h>
#include <stddef.h>

#define VMM_MAX_VMS        8
#define VMM_NAME_MAX       32
#define VMM_LINE_MAX       160
#define VMM_CONSOLE_RING 4096u     /* host console input held for a VM's COM1 */
#define VMM_RAM_FRAME_BITS 21                 /* guest RAM in 2 MiB frames */
#define VMM_DEFAULT_RAM_MB 8
#define VMM_CMDLINE_MAX    256
#define VMM_OPTS_MAX       1024               /* a root-task VM's "guest-opts NAME" text */
#define VMM_IO_PORTS_COUNTED 0x400             /* I/O exits counted per port below this (the
                                                  ISA's 10-bit decode); the rest together */
#define VMM_IO_PORTS_PRINTED 10                /* the busiest ports in the end-of-VM line */
#define NS_PER_MS          1000000ULL
#define NS_PER_S           1000000000ULL
/* Most bytes of Multiboot (1 or 2) boot information a VM's command line and
 * modules make (headers, MB_MAX_MODULES entries and strings of at most
 * VMM_CMDLINE_MAX, the memory map): where a pager owns RAM above the VMM's
 * part, this much must fit in the VMM's part. */
#define VMM_MB_INFO_BOUND  (16 * 1024)

typedef enum { VM_CREATED, VM_RUNNING, VM_EXITED, VM_STOPPED } vm_status_t;

typedef struct vm {
    unsigned index;
    char name[VMM_NAME_MAX];
    uint64_t ram_bytes;            /* the RAM the VMM backs, from guest-physical 0 */
    uint64_t paged_bytes;          /* RAM above it that a pager stacked on the VM owns
                                      (pager/README.md): never mapped by the VMM, not
                                      readable by it; the guest has ram_bytes + this */
    nestor_cptr_t pager_ep;        /* that pager's endpoint (its device servers get a
                                      badged capability to it: virtio_fwd.c) */
    uint8_t *ram;                  /* guest RAM as mapped in the VMM */
    nestor_cptr_t ept, vcpu, tcb, exit_table;
    nestor_cptr_t ram_frames;      /* first of its RAM frames' capabilities (consecutive) */
    nestor_cptr_t state_frame;     /* its state page's frame */
    bool vmx_shown;                /* nested-vmx is stacked on it: CPUID.1:ECX.VMX, CR4.VMXE */
    bool nestor_verdict;           /* a Nestor runs in it: its exit port carries the verdict
                                      codes of nestor/verdict.h, PASS is status 0 */
    nestor_cptr_t nvmx_kick;       /* its notification: "the vCPU is paused for an interrupt" */
    nestor_cptr_t nvmx_reset;      /* ... and "the VM was reset" (nested-vmx/nvmx_setup.h) */
    nestor_cptr_t nvmx_end;        /* ... and "the VM has ended" */
    struct nvmx_events *nvmx_events;  /* the events page it reads (irq_publish), or NULL */
    nestor_vcpu_state_t *state;   /* the VCPU's state page, mapped in the VMM */
    vm_status_t status;
    uint32_t exit_code;            /* what the guest wrote to its exit port */
    char reason[96];               /* why it stopped, for the log */
    char line[VMM_LINE_MAX];       /* UART output not yet printed */
    unsigned line_len;
    uart16550_t uart;              /* COM1 (devices/uart16550.h) */
    bool linux_kernel;             /* its image must be a Linux bzImage (config 'kernel') */
    bool linux_boot;               /* loaded as a bzImage: it has ACPI tables (vm.c) */
    uint64_t exits;
    uint32_t exits_by_reason[NESTOR_EXIT_REASONS];      /* by basic reason */
    uint32_t io_exits_by_port[VMM_IO_PORTS_COUNTED + 1]; /* [VMM_IO_PORTS_COUNTED]: the rest */
    uint64_t hypercalls, bad_hypercalls;
    uint64_t guest_cpuid_reported;  /* VMM_HC_REPORT_CPUID */
    uint64_t cr8;                   /* CR8 of a VM without a LAPIC (else its TPR, 10.8.6.1) */
    pic_t pic;
    pit_t pit;
    rtc_t rtc;
    lapic_t lapic;
    ioapic_t ioapic;                /* at 0xFEC00000 with the LAPIC (devices/ioapic.h) */
    acpi_pm_t acpi_pm;              /* PM1 registers, a Linux VM's (linux_boot) only */
    uint32_t irq_lines;             /* the ISA IRQ lines' levels (bit n: IRQ n), irq_line */
    bool window_exiting;            /* interrupt-window exiting is on */
    bool nmi_window_exiting;        /* NMI-window exiting is on */
    bool virtual_nmis;              /* the "virtual NMIs" pin control is on (irq.c) */
    bool irq_quiet;                 /* no interrupt pending and no timer armed: nothing to
                                       look at before resuming until a device is touched */
    bool pause_requested;           /* NESTOR_VCPU_PAUSE sent, no exit since */
    uint64_t load_gpa;              /* where the image went */
    bool real_mode;                 /* a boot sector, started in real mode */
    bool long_mode;                 /* an ELF64 image, started in 64-bit mode */
    bool multiboot;                 /* loaded by its Multiboot header */
    uint64_t started_ns;            /* guest time when it started, for vmm.limit_ms */
    bool over_limit;                /* past vmm.limit_ms: stopped at its next exit */
    bool halted;                    /* in HLT: its exit is answered when an interrupt comes */
    bool wake_timer_armed;          /* halted: its vCPU's monitor timer is set for its
                                       timer deadline (irq.c irq_arm_wake) */
    bool wake_timer_off;            /* no wake-up timer: a stacked monitor (the checkpoint
                                       monitor) owns the vCPU's one monitor timer, or the
                                       kernel refused it; halted, it waits for host ticks */
    bool console_input;             /* the host's console input comes to its COM1 (main.c) */
    uint8_t console_ring[VMM_CONSOLE_RING];   /* typed bytes its COM1 has no room for yet */
    unsigned console_head, console_count;
    uint64_t interrupts, nmis, mmio_exits;
    uint64_t string_io_elements;    /* INS/OUTS elements carried out */
    unsigned shutdown_pos;         /* progress through "Shutdown" on port 0x8900 */
    uint32_t devices;               /* SC_DEV_* it has (stackcfg.h); others are absent */
    char cmdline[VMM_CMDLINE_MAX];  /* its Multiboot command line */
    mb_module_t mods[MB_MAX_MODULES];   /* its Multiboot modules (data in the VMM's modules) */
    char mod_strings[MB_MAX_MODULES][VMM_CMDLINE_MAX];
    unsigned n_mods;
    mb_format_t mb_format;          /* how the Multiboot image was loaded */
    /* What the VMM keeps of the guest's CPU (msr.c); the MSRs the kernel
     * switches are in the state page (NESTOR_MTD_MSRS, _DEBUG, _SEGS). */
    uint64_t apic_base;             /* IA32_APIC_BASE: where the LAPIC model answers, EN */
    uint64_t xcr0;                  /* what the guest last set with XSETBV */
    uint64_t tsc_offset;            /* guest TSC - host TSC */
    uint64_t tsc_adjust;            /* IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3) */
    bool rdtscp;                    /* RDTSCP enabled (secondary control): shown, TSC_AUX */
    uint64_t msr_mtrr_def;          /* IA32_MTRR_DEF_TYPE */
    uint64_t misc_enable;           /* IA32_MISC_ENABLE (msr.c) */
    sysctl_t sysctl;                /* ports 92h, CF9h, 80h */
    i8042_t kbc;                    /* the 8042, ports 60h and 64h */
    unsigned resets;                /* system resets so far (VMM_MAX_RESETS) */
    const void *image;              /* what vm_create loaded, for a reset */
    uint64_t image_size, image_gpa;
    nestor_vcpu_state_t reset_state; /* the fresh VCPU's state */
    vfwd_dev_t virtio[VM_VIRTIO_MAX];  /* its virtio devices, served by device servers */
    unsigned n_virtio;
    uint32_t virtio_loaded;           /* a restore: the devices whose record came (bit n) */
    pci_t pci;                      /* PCI configuration space, a Linux VM's only (last:
                                       the exit path's fields keep their offsets) */
} vm_t;

/* A reset reloads every state group but the injection (reply-only). */
#define VM_RESET_GROUPS (NESTOR_MTD_ALL & ~NESTOR_MTD_INJECT)
/* Resets one VM may do; one more stops it (a guest resetting in a loop). */
#define VMM_MAX_RESETS 16

/* One exit as the handlers see it. */
typedef struct {
    vm_t *vm;
    nestor_word_t reason, qualification, guest_phys, instr_len, instr_info, rip;
    nestor_word_t idt_vectoring, idt_error;   /* SDM 27.2.4: the event the exit interrupted */
    bool event_consumed;           /* the handler completed that event (a task gate) */
    bool step_trap;                /* an instruction done here owes a single-step #DB */
    nestor_vcpu_state_t *s;        /* state page (groups per the exit masks) */
    nestor_word_t changed;         /* groups the handler changed (reply MR0) */
} vmexit_t;

typedef enum { EXIT_RESUME, EXIT_STOP } exit_action_t;

/* Create a VM running the flat image @image (@size bytes) loaded at @load_gpa. */
/* The notification bound to the VMM's thread (main.c): the host tick and
 * the device servers' signals (virtio_fwd.h VMM_BADGE_DEVICE). */
extern nestor_cptr_t vmm_notification;

bool vm_create(vm_t *vm, nu_alloc_t *a, nestor_cptr_t exit_ep, const void *image,
               uint64_t size, uint64_t load_gpa);
bool vm_start(vm_t *vm);
/* Restart a running VM from its reset state (vm.c); false: it could not. */
bool vm_reset(vm_t *vm);
/* Handle one exit; returns whether to resume the guest. */
exit_action_t vm_handle_exit(vmexit_t *e);
/* Stop a VM with a reason (printed once). */
exit_action_t vm_stop(vm_t *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* MSR policy (msr.c): false means the guest gets #GP. */
void msr_init(vm_t *vm);
/* Turn on RDTSCP for the VM's vCPU where the host has it (vm->rdtscp). */
void msr_enable_rdtscp(vm_t *vm);
/* The guest's TSC now (host TSC + offset, SDM Vol. 3C 25.3), and making it
 * read @tsc now (a restored checkpoint's: IA32_TSC_ADJUST unchanged). */
uint64_t msr_guest_tsc(const vm_t *vm);
bool msr_set_guest_tsc(vm_t *vm, uint64_t tsc);
/* The guest's MAXPHYADDR (CPUID.80000008H:EAX[7:0]). */
unsigned msr_maxphyaddr(void);
bool msr_read(vmexit_t *e, uint32_t msr, uint64_t *value);
/* A request of a monitor stacked on @vm (nested-vmx/nvmx_setup.h
 * NVMX_REQ_IO/MSR/CR8/ACK): carried out on the VM's devices and platform MSRs
 * as if the guest had made the access; @m becomes the reply. The VM may
 * end or stop by it (its status says). */
void vm_monitor_request(vm_t *vm, nu_msg_t *m);
bool msr_write(vmexit_t *e, uint32_t msr, uint64_t value);

/* The state-page groups the kernel writes at an exit of exit-table slot
 * @slot: what that slot's handler reads and may reply (exits.c). */
nestor_word_t vmm_exit_mask(unsigned slot);
/* Inject hardware exception @vector (with @error where the vector has an
 * error code, SDM Vol. 3A 6.13) at the next entry; RIP stays (a fault). */
exit_action_t vm_inject_exception(vmexit_t *e, unsigned vector, uint32_t error);
/* The guest's CPL: SS.DPL (SDM Vol. 3C 24.4.1). Needs NESTOR_MTD_SEGS. */
unsigned vm_cpl(const nestor_vcpu_state_t *s);
/* CPUID as the host answers it (exits.c; XSAVE components as the host
 * enabled them), for the policy in cpu_policy.c. */
cpuid_regs_t host_cpuid(uint32_t leaf, uint32_t sub);
/* Where the guest's LAPIC answers now, or 0 when it is disabled or absent. */
uint64_t vm_lapic_base(const vm_t *vm);
/* Where its MMIO page is: vm_lapic_base, 0 in x2APIC mode (MSRs only). */
uint64_t vm_lapic_mmio_base(const vm_t *vm);
/* After a guest write to the LAPIC (MMIO or x2APIC MSR): an EOI broadcast
 * to the I/O APIC, what it held back retried. */
void vm_lapic_written(vm_t *vm);

/* Guest general-purpose register @n (0 = RAX ... 15 = R15, the order of
 * instruction encodings, SDM Vol. 2A 2.1.5) in the state page. */
nestor_word_t *vm_gpr(nestor_vcpu_state_t *s, unsigned n);

/* Guest memory (guest_mem.c). */
bool guest_read_phys(vm_t *vm, uint64_t gpa, void *out, size_t n);
bool guest_linear_to_phys(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, uint64_t *gpa);
bool guest_read_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, void *out, size_t n);
/* Copy up to @n bytes at linear @la, stopping where the guest's paging has
 * no translation (*unmapped set) or guest-physical RAM ends: the count. */
size_t guest_fetch_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, uint8_t *out,
                          size_t n, bool *unmapped);
bool guest_write_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la, const void *in,
                        size_t n);
typedef enum {
    GUEST_MEM_OK, GUEST_MEM_UNMAPPED, GUEST_MEM_NOT_RAM,
    GUEST_MEM_DENIED,       /* mapped, but the page's rights forbid the access */
} guest_mem_status_t;
/* Translate @la for a data access the guest itself makes (its CPL, CR0.WP,
 * CR4.SMAP with RFLAGS.AC: SDM Vol. 3A 4.6.1): GUEST_MEM_OK, or UNMAPPED /
 * DENIED with the #PF error code in *@pf_error (4.7). */
guest_mem_status_t guest_translate_access(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la,
                                          bool write, uint64_t *gpa, uint32_t *pf_error);
/* Read (@write false) or write @n bytes at linear @la through the guest's
 * paging; on failure *@fault_la (if given) is the first byte not copied. */
guest_mem_status_t guest_copy_linear(vm_t *vm, const nestor_vcpu_state_t *s, uint64_t la,
                                     void *buf, size_t n, bool write, uint64_t *fault_la);
/* The guest's mode, segment bases, emulator view: guest_env.h. */

/* Interrupts (irq.c): controllers, timers, injection. */
/* The clock: TSC ticks per kernel tick and ticks per second, and the
 * VMX-preemption timer's rate (its unit is 2^rate TSC ticks, SDM Vol. 3C
 * 25.5.1: nestor_bootinfo_t.vmx_timer_rate). */
void irq_set_clock(uint64_t tsc_per_tick, uint64_t timer_hz, unsigned vmx_timer_rate);
uint64_t vm_now_ns(void);
/* The least vm_now_ns() reading taken with the host TSC at or past @tsc
 * (rounded up; UINT64_MAX where it does not fit). */
uint64_t vm_tsc_to_ns_ceil(uint64_t tsc);
uint64_t vm_unix_seconds(void);
void irq_init(vm_t *vm);
int irq_pending(vm_t *vm);
/* A device drives ISA IRQ line @irq (0-15) to @level: into the 8259 pair
 * and the I/O APIC (IRQ0, the PIT, on its pin 2: the MADT's override). */
void irq_line(vm_t *vm, unsigned irq, bool level);
/* The I/O APIC's ID, as the MADT gives it. */
#define VM_IOAPIC_ID 1
/* Acknowledge the highest-priority interrupt pending for the VM, as the
 * CPU's INTA cycle (8259) or acceptance (local APIC) does: it moves to in
 * service and its vector is returned; -1 when none is pending. For a
 * stacked nested-vmx's "acknowledge interrupt on exit" (NVMX_REQ_ACK). */
int irq_acknowledge(vm_t *vm);
void irq_before_resume(vm_t *vm, vmexit_t *e);
/* An instruction the VMM carried out with the guest's RFLAGS.TF set: the
 * single-step trap it owes (irq.c). */
void irq_step_trap(vm_t *vm, vmexit_t *e);
/* Tell a stacked nested-vmx (its events page, nested-vmx/nvmx_setup.h) what
 * is held for the guest as L1: a pending NMI. Nothing without nested-vmx. */
void irq_publish(vm_t *vm);
/* Turn on virtual NMIs for the VM's vCPU (at creation; vm->virtual_nmis). */
void irq_enable_virtual_nmis(vm_t *vm);
/* Whether an NMI is pending for the guest. */
bool irq_nmi_pending(const vm_t *vm);
/* Whether an NMI is pending or a timer may raise one (LINT0 in NMI mode). */
bool irq_nmi_may_come(vm_t *vm);
/* Whether an NMI or interrupt is due that no window exit will bring in: a
 * running guest must be paused for it (main.c). Ticks the timers. */
bool irq_due(vm_t *vm);
uint64_t irq_next_deadline(vm_t *vm);
/* A guest going into HLT with a timer armed: wake it at the deadline (its
 * vCPU's monitor timer, NESTOR_VCPU_SET_TIMER), not at the host's next
 * tick. At the timer's exit (NESTOR_PREEMPT_MONITOR_TIMER), call
 * irq_wake_timer_ran_out. */
void irq_arm_wake(vm_t *vm);
void irq_wake_timer_ran_out(vm_t *vm);

/* Hardware task switches (task_switch.c). */
exit_action_t exit_task_switch(vmexit_t *e);

/* MMIO (mmio.c): EPT violations on device pages. */
exit_action_t mmio_exit(vmexit_t *e);
/* A @size-byte access at guest-physical @gpa to the VM's device there (the
 * LAPIC, the I/O APIC, a virtio window), for nested-vmx's L2 (nvmx_setup.h
 * NVMX_REQ_MMIO): false if none is there, the access leaves its page or
 * the device refuses it. */
bool mmio_device_access(vm_t *vm, uint64_t gpa, unsigned size, bool write, uint64_t *value);

/* Devices. */
bool uart_io(vm_t *vm, uint16_t port, bool in, unsigned size, uint32_t *value);
void uart_flush(vm_t *vm);
size_t uart_receive(vm_t *vm, const uint8_t *buf, size_t n);
void uart_refill(vm_t *vm);

#endif
