# gdb's side of tests/system/inspector-rwatch.spec: read and access
# watchpoints, five of them at once besides the four debug registers, all
# EPT watchpoints (x86 has no read-only debug-register condition, SDM Vol.
# 3B 17.2.4, and the four debug registers are taken first). Every watched
# byte shares the guest's first 2 MiB with its code, its stack and its page
# tables: each of its instructions exits at its fetch's page walk first,
# and is judged by what it reads and writes.
set breakpoint always-inserted on
break add_up
continue
delete
# DR0-DR3: nothing the guest does from here on meets them.
watch failed
watch released
hbreak start
hbreak outl
# The EPT watches: read watches on two globals and a static, access
# watches on a global and on debuggee_main's local 'sum' (on the stack).
rwatch watched
rwatch passed
awatch poked
rwatch released
up
awatch -l sum
down
# A sixth: the return address add_up's RET reads (LEAVE reads the saved
# rBP right below it first: no stop). Deleted after its stop.
rwatch -l *(unsigned long *)($rbp + 8)
monitor exits
continue
delete 11
# sum = add_up() writes sum; check(sum == 55) reads it; check reads
# passed; watched = sum reads sum and writes watched (no stop: a write);
# check(watched == 55) reads watched; check reads passed; put_num(poked)
# reads poked; the spin reads released.
continue
continue
continue
continue
continue
continue
continue
continue
continue
# How often each stopped: a stop at a write to a read watch, or a read
# missed, changes a count.
python
for b in gdb.breakpoints():
    if b.type != gdb.BP_BREAKPOINT and b.type != gdb.BP_HARDWARE_BREAKPOINT:
        print("hits %s %d" % (b.expression, b.hit_count))
end
delete
monitor exits
set var released = 1
detach
