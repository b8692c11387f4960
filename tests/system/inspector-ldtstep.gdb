# gdb's side of tests/system/inspector-ldtstep.spec: ldtstep (ELF32) at its
# first instruction. A step over the UD2 whose #UD gate selects a code
# segment of the LDT ends at the handler's entry (the library's stub for
# vector 6), in that segment; detach, and the guest checks the frame.
tbreak *ud2_ldt_here
continue
stepi
print $cs
print (long)$pc - (long)&guest_isr_stubs
detach
