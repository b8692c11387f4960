/*
 * linux/kvm-test.c - Linux KVM as a guest hypervisor: run a tiny real-mode
 * guest through /dev/kvm and check its exits (the KVM API, the kernel's
 * Documentation/virt/kvm/api.rst). Under Nestor this Linux is L1 (its
 * stack has nested-vmx) and the tiny guest is L2.
 *
 * The guest, at 0x1000 in 16-bit real mode: OUT 0x10 of 'N' ITERATIONS
 * times (a LOOP), then OUT 0x11 of 'K', then HLT. Each OUT is a KVM_EXIT_IO
 * this program checks (port, size, direction, data); the time-stamp counter
 * around the loop gives instructions per L2 exit round trip on Bochs
 * ("kvm_l2_io_roundtrip_instructions", ./nestor bench). Prints
 * "kvm-test: N passed, N failed"; exit status 0 when all passed.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM       0x10000
#define GUEST_CODE      0x1000
#define PORT_LOOP       0x10
#define PORT_DONE       0x11
#define ITERATIONS      100
#define KVM_API_VERSION_EXPECTED 12     /* api.rst 4.1 KVM_GET_API_VERSION */

static unsigned passed, failed;

static void check(int ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        printf("kvm-test: FAILED: %s\n", what);
    }
}

static uint64_t rdtsc(void)
{
    unsigned lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* A KVM_RUN that should stop at an OUT of @data to @port. */
static int run_expect_out(int vcpu, struct kvm_run *run, unsigned port, uint8_t data)
{
    if (ioctl(vcpu, KVM_RUN, 0) < 0) {
        perror("kvm-test: KVM_RUN");
        return 0;
    }
    if (run->exit_reason != KVM_EXIT_IO) {
        printf("kvm-test: exit reason %u, expected KVM_EXIT_IO (hardware reason 0x%llx)\n",
               run->exit_reason, (unsigned long long)run->hw.hardware_exit_reason);
        return 0;
    }
    const uint8_t *d = (const uint8_t *)run + run->io.data_offset;
    return run->io.direction == KVM_EXIT_IO_OUT && run->io.port == port && run->io.size == 1 &&
           run->io.count == 1 && *d == data;
}

int main(void)
{
    /* mov al,'N'; mov cx,ITERATIONS; l: out PORT_LOOP,al; loop l;
     * mov al,'K'; out PORT_DONE,al; hlt */
    const uint8_t code[] = { 0xB0, 'N', 0xB9, ITERATIONS & 0xFF, ITERATIONS >> 8,
                             0xE6, PORT_LOOP, 0xE2, 0xFC, 0xB0, 'K', 0xE6, PORT_DONE, 0xF4 };
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    check(kvm >= 0, "/dev/kvm opens (kvm_intel loaded)");
    if (kvm < 0) {
        perror("kvm-test: /dev/kvm");
        goto out;
    }
    check(ioctl(kvm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION_EXPECTED, "KVM API version 12");
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    check(vm >= 0, "KVM_CREATE_VM");
    uint8_t *mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (vm < 0 || mem == MAP_FAILED)
        goto out;
    memcpy(mem + GUEST_CODE, code, sizeof code);
    struct kvm_userspace_memory_region region = {
        .slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
        .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) == 0, "KVM_SET_USER_MEMORY_REGION");
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
    check(vcpu >= 0, "KVM_CREATE_VCPU");
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = vcpu < 0 || run_size <= 0 ? MAP_FAILED :
        mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    check(run != MAP_FAILED, "kvm_run mapped");
    if (run == MAP_FAILED)
        goto out;
    struct kvm_sregs sregs;
    check(ioctl(vcpu, KVM_GET_SREGS, &sregs) == 0, "KVM_GET_SREGS");
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    check(ioctl(vcpu, KVM_SET_SREGS, &sregs) == 0, "KVM_SET_SREGS");
    struct kvm_regs regs = { .rip = GUEST_CODE, .rflags = 0x2 };
    check(ioctl(vcpu, KVM_SET_REGS, &regs) == 0, "KVM_SET_REGS");

    /* The first exit outside the timing (it faults the code page in). */
    unsigned ok = run_expect_out(vcpu, run, PORT_LOOP, 'N');
    uint64_t t0 = rdtsc();
    for (unsigned i = 1; i < ITERATIONS; i++)
        ok += run_expect_out(vcpu, run, PORT_LOOP, 'N');
    uint64_t t1 = rdtsc();
    check(ok == ITERATIONS, "every loop OUT is a KVM_EXIT_IO with port, size and data");
    check(run_expect_out(vcpu, run, PORT_DONE, 'K'), "the final OUT");
    check(ioctl(vcpu, KVM_RUN, 0) == 0 && run->exit_reason == KVM_EXIT_HLT, "HLT exits");
    check(ioctl(vcpu, KVM_GET_REGS, &regs) == 0 && regs.rip == GUEST_CODE + sizeof code,
          "RIP after HLT");
    printf("kvm_l2_io_roundtrip_instructions %llu\n",
           (unsigned long long)((t1 - t0) / (ITERATIONS - 1)));
out:
    printf("kvm-test: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
