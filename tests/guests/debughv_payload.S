/*
 * tests/guests/debughv_payload.S - debughv's L2 program: the ELF of the
 * debuggee linked at 4 MiB (build/guests/debuggee-l2.elf, tests/guests/
 * SConscript), embedded as it is; debughv.c loads its segments.
 */
    .section .rodata
    .balign 8
    .globl debughv_payload, debughv_payload_end
debughv_payload:
    .incbin DEBUGHV_PAYLOAD
debughv_payload_end:
