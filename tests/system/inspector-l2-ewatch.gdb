# gdb's side of tests/system/inspector-l2-ewatch.spec: at L2 (the debuggee
# as debughv's guest), more data watchpoints than the four debug registers
# and a real read watch. Kept inserted while stopped, so that "monitor
# exits" sees them. Two hardware breakpoints nothing meets again and two
# watches take DR0-DR3 (the inspector's overlay); the write watches on
# debuggee_main's 'sum' (on L2's stack) and on 'watched', and the read
# watch on 'poked', are EPT watchpoints: nested-vmx withholds the rights
# of their region of L1's RAM in EPT02 on the inspector's request
# (nested-vmx/nvmx_insp.h), and L1 sees none of it.
set breakpoint always-inserted on
break add_up
continue
delete
hbreak start
hbreak outl
watch passed
awatch released
up
watch -l sum
down
watch watched
rwatch poked
monitor exits
# An OUT to port 0xF7 (written over add_up's next instruction, stepped,
# put back): debughv takes the write right of L2's program's page (code,
# data, stack: the watched region) out of EPT12. L2's next write there is
# EPT12's violation, inside our watched region: nested-vmx reflects it to
# L1, which gives the right back (its count: 1 EPT write-protect), and the
# watches go on.
python
inf = gdb.selected_inferior()
val = lambda e: int(gdb.parse_and_eval(e))
pc, rdx = val("$pc"), val("$rdx")
saved = bytes(inf.read_memory(pc, 1))
inf.write_memory(pc, b"\xee")                                  # out %al,(%dx)
gdb.execute("set $rdx = 0xf7")
gdb.execute("stepi", to_string=True)
print("OUT to 0xf7: RIP +%d" % (val("$pc") - pc))
inf.write_memory(pc, saved)
gdb.execute("set $pc = %d" % pc)
gdb.execute("set $rdx = %d" % rdx)
end
# sum = add_up() (EPT), passed++ (a debug register), watched = sum (EPT),
# passed++ again, put_num's read of poked (EPT, read only), the spin's read
# of released (a debug register).
continue
continue
continue
continue
continue
continue
delete
monitor exits
set var released = 1
detach
