# gdb's side of tests/system/inspector-l2.spec: the harness has connected
# gdb to the inspector of L2 (target remote) with build/guests/debuggee-l2.elf
# loaded. L2 (the debuggee, run by the test hypervisor debughv as its guest)
# waits at its first instruction (inspector.wait).
info registers rip
print $cs
break add_up
continue
# Stopped in add_up: an argument, a register, a few source lines.
info args
print/x $rdi
next
next
next
info locals
print total
step
step
print i
# Run to the end of the function: its value.
finish
# A watchpoint in the debug registers (an overlay nested-vmx keeps apart
# from L2's and L1's own, inspector/README.md).
watch watched
continue
print watched
delete
# A read watch: no debug register reads only (SDM Vol. 3B 17.2.4), so it
# is an EPT watchpoint in nested-vmx's EPT02 mask (nested-vmx/nvmx_insp.h):
# the check's read of it right after the write.
rwatch watched
continue
delete
# Write the global the guest prints, read it back.
set var poked = 0x2222
set var released = 1
print/x poked
x/2gx &poked
print/x $efer
monitor exits
python gdb.execute("monitor ept 0x%x" % int(gdb.parse_and_eval("&poked")))
info threads
# A watchpoint and a hardware breakpoint armed while L2 exits to L1 for
# every byte it prints: L1 (debughv) sees neither in its DR0-DR3 nor in
# vmcs12's DR7 (it checks at every exit).
watch released
hbreak put_num
continue
# L2 reads its DR7 and DR0 while our watch is armed (MOV DR, SDM 17.2): it
# gets its own (DR7 0x400, DR0 0), and each step ends right after the MOV.
# The instructions are written over put_num's first bytes, then put back
# (the hardware breakpoint goes first: it would stop the rerun). Then an
# OUT to port 0xF5 makes debughv (L1) ask for L2's MOV DR exits, and the
# same two MOVs exit to L1, which reads them from L2's state as it holds
# it: again 0x400 and 0, never ours.
delete 5
python
inf = gdb.selected_inferior()
val = lambda e: int(gdb.parse_and_eval(e))
pc, rax, rcx, rdx = val("$pc"), val("$rax"), val("$rcx"), val("$rdx")
saved = bytes(inf.read_memory(pc, 6))
def mov_drs(how):
    gdb.execute("set $pc = %d" % pc)
    inf.write_memory(pc, b"\x0f\x21\xf8\x0f\x21\xc1")    # mov %dr7,%rax; mov %dr0,%rcx
    gdb.execute("set $rax = 0x5a5a")
    gdb.execute("set $rcx = 0x5a5a")
    gdb.execute("stepi", to_string=True)
    print("L2's own DR7%s: %#x, RIP +%d" % (how, val("$rax"), val("$pc") - pc))
    gdb.execute("stepi", to_string=True)
    print("L2's own DR0%s: %#x, RIP +%d" % (how, val("$rcx"), val("$pc") - pc))
mov_drs("")
gdb.execute("set $pc = %d" % pc)
inf.write_memory(pc, b"\xee")                                  # out %al,(%dx)
gdb.execute("set $rdx = 0xf5")
gdb.execute("stepi", to_string=True)
print("OUT to 0xf5: RIP +%d" % (val("$pc") - pc))
mov_drs(" through L1")
# An OUT to port 0xF6: debughv makes L2's next three entries exit at once
# (its preemption timer at 0), before the next instruction. The step over
# the instruction after it goes on through those exits to L1 and ends
# right after that instruction (a 3-byte NOP).
gdb.execute("set $pc = %d" % pc)
inf.write_memory(pc, b"\xee\x0f\x1f\x00")                   # out %al,(%dx); nopl (%rax)
gdb.execute("set $rdx = 0xf6")
gdb.execute("stepi", to_string=True)
gdb.execute("stepi", to_string=True)
print("OUT to 0xf6 and a NOP: RIP +%d" % (val("$pc") - pc))
inf.write_memory(pc, saved)
gdb.execute("set $pc = %d" % pc)
gdb.execute("set $rax = %d" % rax)
gdb.execute("set $rcx = %d" % rcx)
gdb.execute("set $rdx = %d" % rdx)
end
# A single step over an OUT that exits to L1: it ends right after the OUT
# (one byte, EE), and L1 sees neither our TF nor its trap.
break outb
continue
python
while not gdb.execute("x/i $pc", to_string=True).split(":", 1)[1].split()[0].startswith("out"):
    gdb.execute("stepi", to_string=True)
end
x/i $pc
set $before = $pc
stepi
print (long)$pc - (long)$before
print $eflags & 0x100
delete
detach
