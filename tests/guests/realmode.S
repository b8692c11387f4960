/*
 * tests/guests/realmode.S - a guest that starts in real mode, like a boot
 * sector: 512 bytes ending in 0x55 0xAA, loaded at 0x7C00 and entered at
 * 0000:7C00 with CR0.PE = 0 (the VMM runs it as an unrestricted guest, SDM
 * Vol. 3C 25.6 / 26.3.1.1). No BIOS: it talks to the COM1 port directly and
 * writes its failure count to the exit port. It checks real-mode
 * segmentation, CPUID, and string I/O with 16-bit addresses and segment
 * bases (REP INSB to ES:DI, REP OUTSB from an FS override).
 */
#define EXIT_PORT 0xF4
#define SEG_TEST  0x1000          /* segment 0x1000:0x0020 = linear 0x10020 */
#define SEG_ALIAS 0x1002          /* 0x1002:0x0000 = the same linear address */
#define MARKER    0x5A5A
#define CPUID_GENU 0x756E6547     /* "Genu" */
#define ABSENT_PORT 0x2E0         /* no device: reads all ones */
#define POST_PORT  0x80
#define STR_OFF    0x40           /* SEG_TEST:0x40, linear 0x10040 */

    .code16
    .text
    .globl start
start:
    cli
    xorw %ax, %ax
    movw %ax, %ds
    movw %ax, %ss
    movw $0x7C00, %sp
    xorw %bp, %bp                 /* checks passed */
    xorw %di, %di                 /* checks failed */

    /* 1: CR0.PE is clear. */
    smsw %ax
    testw $1, %ax
    call tally_zf

    /* 2: real-mode segmentation: two segment:offset pairs, one linear address. */
    movw $SEG_TEST, %ax
    movw %ax, %es
    movw $MARKER, %es:0x20
    movw $SEG_ALIAS, %ax
    movw %ax, %fs
    cmpw $MARKER, %fs:0
    call tally_zf

    /* 3: CPUID works in real mode (the VMM answers it). */
    xorl %eax, %eax
    cpuid
    cmpl $CPUID_GENU, %ebx
    call tally_zf

    /* 4: REP INSB, 16-bit DI and CX, ES base 0x10000: three bytes of all
     * ones at ES:STR_OFF, the fourth untouched (DI is the failure count:
     * kept on the stack meanwhile). */
    pushw %di
    movw $SEG_TEST, %ax
    movw %ax, %es
    movl $0, %es:STR_OFF
    movw $STR_OFF, %di
    movw $3, %cx
    movw $ABSENT_PORT, %dx
    cld
    rep insb
    movw %di, %bx
    popw %di
    cmpw $STR_OFF + 3, %bx
    call tally_zf
    cmpl $0x00FFFFFF, %es:STR_OFF
    call tally_zf

    /* 5: REP OUTSB from FS:SI (FS base 0x10020): SI and CX count. */
    movw $0x20, %si
    movw $2, %cx
    movw $POST_PORT, %dx
    rep outsb %fs:(%si), (%dx)
    cmpw $0x22, %si
    call tally_zf

    movw $msg_name, %si
    call puts
    movw %bp, %ax
    call putdigit
    movw $msg_passed, %si
    call puts
    movw %di, %ax
    call putdigit
    movw $msg_failed, %si
    call puts

    movzwl %di, %eax
    movw $EXIT_PORT, %dx
    outl %eax, %dx
1:  hlt
    jmp 1b

/* Count a pass if ZF is set, else a failure. */
tally_zf:
    jnz 1f
    incw %bp
    ret
1:  incw %di
    ret

#include "lib/raw_console.inc"

msg_name:   .asciz "realmode: "
msg_passed: .asciz " passed, "
msg_failed: .asciz " failed\n"

    .org 510
    .byte 0x55, 0xAA
