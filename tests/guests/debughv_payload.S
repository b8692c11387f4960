/*
 * tests/guests/debughv_payload.S - the L2 program of debughv.c, embedded as
 * it is (an ELF linked at 4 MiB, tests/guests/SConscript), and what the
 * hypervisor built with it calls itself: debughv runs the debuggee
 * (build/guests/debuggee-l2.elf), calchv calc's computation
 * (build/guests/calc-l2.elf).
 */
    .section .rodata
    .balign 8
    .globl debughv_payload, debughv_payload_end, debughv_name, debughv_what
debughv_payload:
    .incbin DEBUGHV_PAYLOAD
debughv_payload_end:
debughv_name:
    .asciz DEBUGHV_NAME
debughv_what:
    .asciz DEBUGHV_WHAT
