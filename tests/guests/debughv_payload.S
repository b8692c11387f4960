/*
 * tests/guests/debughv_payload.S - the L2 program of debughv.c, embedded as
 * it is (an ELF linked at 4 MiB, tests/guests/SConscript), and what the
 * hypervisor built with it calls itself: debughv runs the debuggee
 * (build/guests/debuggee-l2.elf), calchv calc's computation
 * (build/guests/calc-l2.elf); whether it reads L2's code for a debugger's
 * int3s at every exit (debughv: a debugger is on its L2; not calchv, whose
 * checkpoint lands at a point in L1's guest time the reads would move).
 */
    .section .rodata
    .balign 8
    .globl debughv_payload, debughv_payload_end, debughv_name, debughv_what, debughv_int3_scan
debughv_payload:
    .incbin DEBUGHV_PAYLOAD
debughv_payload_end:
debughv_name:
    .asciz DEBUGHV_NAME
debughv_what:
    .asciz DEBUGHV_WHAT
debughv_int3_scan:
    .byte DEBUGHV_INT3_SCAN
