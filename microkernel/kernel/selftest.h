/* kernel/selftest.h - boot-time self tests chosen on the command line. */
#ifndef KERNEL_SELFTEST_H
#define KERNEL_SELFTEST_H

/*
 * "fault=gp" or "fault=pf" on the kernel command line raises that exception
 * on purpose, to prove the exception path reports and fails the boot.
 * Unknown values are reported and ignored.
 */
void selftest_run(const char *cmdline);

/* Address the #PF self test reads: unmapped once the identity map is gone. */
#define SELFTEST_PF_ADDRESS 0xDEAD000ULL
/* A non-canonical address (bits 63:47 not a sign extension, SDM Vol. 1
 * 3.3.7.1): any access raises #GP(0). */
#define SELFTEST_GP_ADDRESS 0x8000000000000000ULL

#endif
