# gdb's side of tests/system/inspector-unseen.spec: the unseen guest waits
# at its first instruction. A hardware breakpoint while it reads and writes
# its own debug registers; single steps over PUSHFQ, INT 0x80 (into its
# handler), SYSCALL (into its entry), UD2 and RDMSR of no MSR (into the
# #UD and #GP handlers), then over CPUID and OUT (which
# the VMM carries out), STI, NOP and the OUT that unmasks a pending IRQ 0
# (its handler must not run inside the step), then the NOP after it, a
# PUSHFQ and 200 steps of a loop, IRQ 0 due all along (no step lands in
# its handler: ticks stays 0); detach, and the guest reports (IRQ 0 comes). The #UD handler reads its own first bytes and
# #GP's while gdb steps through it (the hidden int3s must not show).
hbreak dr_probe
continue
delete
tbreak *pushf_here
continue
stepi
print (long)$pc - (long)&pushf_here
tbreak *int_here
continue
stepi
x/i $pc
tbreak *syscall_here
continue
stepi
x/i $pc
tbreak *ud2_here
continue
stepi
x/i $pc
# A step from a handler's first instruction goes on (no hidden int3 there).
stepi
print (long)$pc - (long)&ud_handler
# Steps through the handler's reads of its own first bytes and #GP's
# (each step with the hidden int3s at the handlers' entries).
stepi 4
print (long)$pc - (long)&ud_handler
tbreak *rdmsr_here
continue
stepi
x/i $pc
tbreak *cpuid_here
continue
stepi
print (long)$pc - (long)&cpuid_here
tbreak *out_here
continue
stepi
print (long)$pc - (long)&out_here
tbreak *sti_here
continue
stepi
stepi
print (long)$pc - (long)&sti_here
stepi
print (long)$pc - (long)&unmask_here
print ticks
# IRQ 0 is due, and due again every millisecond: no step lands in its
# handler (the inspector's IF 0 while it steps): over the NOP, the PUSHFQ
# and 200 instructions of a loop; ticks stays 0.
stepi
print (long)$pc - (long)&pushf_if_here
stepi
stepi
stepi 200
print ticks
monitor exits
detach
