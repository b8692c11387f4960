"""./nestor: argument parsing and the subcommands."""
import argparse
import os
import re
import subprocess
import sys

from nestor import boot, build, config, emulators, harness, image, paths, plot, stat, topo
from nestor.errors import NestorError

GDB_RUN_TIMEOUT_S = 3600        # a run with --gdb waits on a person at a debugger
EXIT_FAIL = 1
EXIT_ERROR = 2

DESCRIPTION = '''Nestor: a recursive, microkernel-based virtual machine monitor for x86-64.

subcommands:
  run    build, make the boot image, boot it and stream the serial console
  test   run the unit tests and the system tests
  bench  run a benchmark on Bochs (instruction counts) and print its figures
  topo   draw a stack (a config, or a serial log with --live) as a Graphviz picture
  stat   exit statistics of a run per level and monitor (a serial log, or --run CONFIG)

Run './nestor SUBCOMMAND --help' for each one's options.'''


def cmd_run(args):
    emu = emulators.get(args.emu)
    why = emu.unavailable_reason()
    if why:
        raise NestorError('run: emulator %s unavailable: %s' % (emu.name, why))
    if args.bare and (args.config or args.roottask or args.guest or args.guest_mem or
                      args.guest_cmdline or args.guest_module):
        raise NestorError('run: --bare boots one guest without Nestor: no config, root task '
                          'or --guest options with it (--cmdline is the guest\'s)')
    dts = config.resolve(args.config) if args.config else paths.DEFAULT_CONFIG
    if args.disk_mib is not None and not args.disk:
        raise NestorError('run: --disk-mib sizes the image --disk FILE creates; no --disk')
    if args.restore:
        args.disk = restore_disk(dts, args)
    if args.disk:
        from nestor import disk
        if args.disk_mib is not None and not os.path.exists(args.disk):
            disk.create(args.disk, args.disk_mib)
        disk.cylinders(args.disk)       # a clear error now for a file Bochs cannot take
    build.scons()
    if not args.disk and not args.bare:
        args.disk = default_disk(dts, emu.name)
    if args.bare:
        iso = image.bare_iso(args.bare, args.cmdline)
        what = 'guest %s bare' % args.bare
    else:
        modules = config.boot_modules(dts, args.roottask, args.guest,
                                      {'mem': args.guest_mem, 'cmdline': args.guest_cmdline,
                                       'module': args.guest_module})
        iso = image.make_iso(args.cmdline, modules)
        what = paths.rel(dts)
    timeout = args.timeout or (GDB_RUN_TIMEOUT_S if args.gdb or args.interactive else
                               harness.specs.DEFAULT_TIMEOUT[emu.name])
    workdir = os.path.join(paths.RUNS, emu.name)
    if args.checkpoint_after is not None:
        return run_checkpoint_after(args, emu, iso, workdir, timeout)
    if args.interactive:
        return run_interactive(args, emu, dts, workdir, timeout)
    print('nestor: booting %s on %s (timeout %ds, serial log %s)' %
          (what, emu.name, timeout, paths.rel(os.path.join(workdir, 'serial.log'))),
          file=sys.stderr)
    if args.gdb:
        print('nestor: COM2 is TCP port %d (the inspector\'s link); debug with:\n'
              '    gdb -ex \'target remote :%d\' FILE\n'
              '(FILE: the guest\'s ELF, e.g. build/guests/debuggee.elf%s)' %
              (args.gdb, args.gdb,
               '; Bochs starts once gdb has connected' if emu.name == 'bochs' else ''),
              file=sys.stderr)
    result = boot.boot(emu, iso, workdir, timeout, stream=sys.stdout, gdb_port=args.gdb,
                       disk=args.disk)
    return run_verdict(result, timeout)


def default_disk(dts, emu_name):
    """A run without --disk of a config whose block server has partitions on
    the machine's ATA disk: a fresh zeroed image build/runs/EMU/disk.img
    just large enough for them (made again each run: --disk FILE keeps what
    the guests write); None for a config that uses no disk."""
    from nestor import disk
    sectors = config.disk_sectors(dts)
    if not sectors:
        return None
    mib = -(-sectors * disk.SECTOR_BYTES // disk.MIB)
    path = disk.create(os.path.join(paths.RUNS, emu_name, 'disk.img'), mib)
    print('nestor: no --disk: a fresh zeroed %d MiB disk %s for the block server (made again '
          'each run; --disk FILE keeps what the guests write)' % (mib, paths.rel(path)),
          file=sys.stderr)
    return path


def run_interactive(args, emu, dts, workdir, timeout):
    """./nestor run CONFIG --interactive (nestor/interactive.py)."""
    from nestor import interactive
    if args.gdb or args.bare or args.roottask or args.guest:
        raise NestorError('run: --interactive boots a config whose VMM takes COM2; no --gdb, '
                          '--bare, --roottask or --guest with it')
    modules = config.boot_modules(dts)
    dtb, dtb_string = modules[-1]
    dtb, vms = interactive.interactive_config(dtb, workdir)
    if not vms:
        raise NestorError('run: --interactive: config %s has no Linux VM (a kernel property)' %
                          paths.rel(dts))
    iso = image.make_iso(args.cmdline, modules[:-1] + [(dtb, dtb_string)])
    port = interactive.free_port()
    print('nestor: booting %s on %s, the terminal wired to COM2 (TCP port %d) for vm %s '
          '(timeout %ds; Ctrl-C ends the run)' % (paths.rel(dts), emu.name, port, vms[0],
                                                  timeout), file=sys.stderr)
    with interactive.Keyboard(port):
        result = boot.boot(emu, iso, workdir, timeout, stream=sys.stdout, gdb_port=port,
                           disk=args.disk)
    return run_verdict(result, timeout)


def run_checkpoint_after(args, emu, iso, workdir, timeout):
    """--checkpoint-after S: COM2 on a free TCP port, the line 'checkpoint'
    sent there S seconds after the config's checkpoint monitor (granted
    COM2) greets (nestor/ckpt_trigger.py); what it answers is printed."""
    import threading
    from nestor import ckpt_trigger, gdbdrive
    if args.gdb or args.bare or args.interactive:
        raise NestorError('run: --checkpoint-after takes COM2: no --gdb, --bare or '
                          '--interactive with it')
    if args.checkpoint_after < 0:
        raise NestorError('run: --checkpoint-after S: S is seconds, 0 or more')
    port = gdbdrive.free_port()
    print('nestor: COM2 is TCP port %d: the line "%s" goes there %d s after the checkpoint '
          'monitor says it is ready' % (port, ckpt_trigger.COMMAND, args.checkpoint_after),
          file=sys.stderr)
    outcome = {}

    def talk(_process=None):
        def run():
            try:
                outcome['answers'] = ckpt_trigger.trigger(
                    port, args.checkpoint_after,
                    lambda text: print('nestor: COM2: %s' % text, file=sys.stderr))
            except (ckpt_trigger.TriggerError, OSError) as e:
                outcome['error'] = str(e)
        threading.Thread(target=run, daemon=True).start()

    result = boot.boot(emu, iso, workdir, timeout, stream=sys.stdout, gdb_port=port,
                       started=talk, disk=args.disk)
    if 'error' in outcome:
        print('nestor: --checkpoint-after: %s (a checkpoint monitor with ioports = <0x2f8 '
              '0x2ff> and irqs = <3> in its node?)' % outcome['error'], file=sys.stderr)
    return run_verdict(result, timeout)


def run_verdict(result, timeout):
    """The exit status of a run from its serial log's verdict."""
    verdict = subprocess.run([paths.JUDGE, '--verdict', result.serial], stdout=subprocess.PIPE,
                             text=True).stdout.strip()
    if verdict == 'pass':
        print('nestor: verdict PASS after %.1fs' % result.seconds, file=sys.stderr)
        return 0
    if verdict == 'fail':
        print('nestor: verdict FAIL after %.1fs' % result.seconds, file=sys.stderr)
        return EXIT_FAIL
    if result.status == 'timeout':
        raise NestorError('run: boot timeout after %ds with no verdict line (serial log %s)' %
                          (timeout, paths.rel(result.serial)))
    raise NestorError('run: %s exited (status %s) with no verdict line; see %s and %s' %
                      (emu.name, result.returncode, paths.rel(result.serial),
                       paths.rel(result.emulator_log)))


# stack-configs/linux.dts's (and bench-linux.dts's) command line (the bare
# boot must use the same).
LINUX_CMDLINE = 'console=ttyS0 quiet nokaslr tsc=reliable lpj=10000000'
# stack-configs/linux-kvm.dts's.
LINUX_KVM_CMDLINE = LINUX_CMDLINE + ' nestor.kvm'


BENCH_TIMEOUT_S = 300


class Bench:
    """A benchmark boot: @roottask with @guests, or the stack config @config
    (tests/configs or stack-configs: init and the modules it names); with
    @bare, also test guest @bare booted bare on Bochs (./nestor run --bare);
    then each stack config of @more, one boot each."""
    def __init__(self, roottask, what, guests=(), cmdline='', config=None, bare=None, more=(),
                 l1=None, bare_linux=None, timeout=None, disk_mib=None):
        self.roottask, self.what, self.guests, self.cmdline = roottask, what, guests, cmdline
        self.config, self.bare, self.more, self.l1 = config, bare, more, l1
        self.bare_linux = bare_linux    # a Linux command line: also boot linux/ bare
        self.timeout = timeout or BENCH_TIMEOUT_S
        self.disk_mib = disk_mib        # boot with a fresh disk of this size (block servers)


BENCHMARKS = {
    'ipc': Bench('ipcbench', 'IPC call/reply-receive round trips (same and cross address '
                 'space, fast and slow path)'),
    # The same exit benchmark guest twice, one after the other: plain, then with
    # the count monitor stacked on its CPUID exits; then in a boot of its own
    # with the inspector stacked (which takes none of the exits it times).
    'exits': Bench('vmm', 'VM exit round trips per reason, handled by the user-level VMM, '
                   'without and with a count monitor stacked on CPUID exits, and with the '
                   'inspector stacked',
                   guests=('exitbench', 'exitbench:exitbench-counted'),
                   cmdline='vmm.sequential vmm.count=exitbench-counted',
                   more=((os.path.join(paths.TEST_CONFIGS, 'bench-inspector.dts'), None),)),
    # nestbench (a minimal test hypervisor) as L1 under nested-vmx, then bare
    # on Bochs's own VMX: its L2's CPUID exits timed from inside L2. Each
    # nested boot twice: with VMCS shadowing for L1 (the default) and with
    # it off (the -noshadow configs: 'vmcs-shadowing = "off"').
    'nested': Bench(None, 'L2 CPUID exits handled by a test hypervisor (L1) under nested-vmx, '
                    'and bare on Bochs\'s VMX; L0 exits per L2 exit; VMCS shadowing on and off',
                    config=os.path.join(paths.TEST_CONFIGS, 'nestbench.dts'), bare='nestbench',
                    l1='testhv',
                    # exitbench with Nestor below it: at L2 (Nestor as L1), at L3
                    more=tuple((os.path.join(paths.TEST_CONFIGS, name + suffix + '.dts'), l1)
                               for name, l1 in (('nestbench', 'testhv'),
                                                ('nestbench-nestor', 'nestor'),
                                                ('nestbench-nestor3', 'nestor,l2=nestor'))
                               for suffix in ('', '-noshadow')
                               if name + suffix != 'nestbench'),
                    # the L3 boots take ~5 min each on a loaded 2-core machine
                    timeout=900),
    # Debian's Linux to its shell: under Nestor (tests/configs/bench-linux.dts:
    # stack-configs/linux.dts without its virtio devices, as the bare boot has
    # none), then bare on Bochs by GRUB with the same kernel, initramfs and
    # command line.
    'linux': Bench(None, 'instructions from power-on to the Linux shell under Nestor and bare '
                   'on Bochs (same kernel, initramfs, command line), and the exits by reason',
                   config=os.path.join(paths.TEST_CONFIGS, 'bench-linux.dts'),
                   bare_linux=LINUX_CMDLINE, timeout=900),
    # Linux KVM as L1 running linux/kvm-test's L2: under Nestor (nested-vmx
    # stacked on the Linux VM), then KVM directly on Bochs's VT-x (bare).
    'kvm': Bench(None, 'an L2 I/O exit handled by Linux KVM and its user-space program: KVM as '
                 'L1 under Nestor (nested-vmx), and KVM bare on Bochs\'s VT-x',
                 config=os.path.join(paths.STACK_CONFIGS, 'linux-kvm.dts'),
                 bare_linux=LINUX_KVM_CMDLINE, l1='kvm', timeout=1500),
    # memtest's bench mode under the pager (16 MiB of frames, swap on a
    # block server's partition of a fresh disk), then without a pager; then
    # the exit benchmark guest with a pager stacked that never pages.
    'pager': Bench(None, 'instructions per first touch of a fresh page (a demand-zero fault) and '
                   'per touch of a page written long ago (a swap-in, with the swap-out of the '
                   'written page it evicts) under the pager; the same touches without a pager; '
                   'exit round trips of a VM with a pager stacked',
                   config=os.path.join(paths.TEST_CONFIGS, 'bench-pager.dts'),
                   more=((os.path.join(paths.TEST_CONFIGS, 'bench-pager-none.dts'), None),
                         (os.path.join(paths.TEST_CONFIGS, 'bench-pager-exits.dts'), None)),
                   timeout=900, disk_mib=80),
    # calc under the checkpoint monitor, one full image of its 8 MiB taken in
    # its round 3 (and read back); then the exit benchmark guest with a
    # checkpoint monitor stacked that never takes one.
    'checkpoint': Bench(None, 'instructions per MiB of RAM to write a full checkpoint image '
                        'through the block server and to read it back whole; exit round trips '
                        'of a VM with a checkpoint monitor stacked (none taken)',
                        config=os.path.join(paths.TEST_CONFIGS, 'bench-checkpoint.dts'),
                        more=((os.path.join(paths.TEST_CONFIGS, 'bench-checkpoint-exits.dts'),
                               None),),
                        timeout=600, disk_mib=20),
    # The virtio_blk guest's bench mode on the block server (ATA PIO disk,
    # a fresh image), then the virtio-net test stack (three VMs on the
    # network server): its ping guest times 20 round trips and its kicks.
    'virtio': Bench(None, 'instructions per 4 KiB virtio-blk write and read (the block server\'s '
                    'ATA PIO backing), VM exits per request without and with EVENT_IDX, '
                    'virtio-net frames per million instructions between two VMs and '
                    'instructions per transmit kick',
                    config=os.path.join(paths.TEST_CONFIGS, 'bench-virtio-blk.dts'),
                    more=((os.path.join(paths.TEST_CONFIGS, 'virtio-net.dts'), None),),
                    timeout=600, disk_mib=8),
}
BENCH_LINE = re.compile(r'^((?:\[[a-z0-9-]+\] )*)([a-z_0-9]+)(\{[^}]*\})?:? (\d+(?:\.\d+)?)$')
# A line's VM prefixes ("[l1] [bench] "): one per level of nesting above L0.
PREFIX = re.compile(r'\[([a-z0-9-]+)\] ')
# nested-vmx's table at the VMM's count query (nested-vmx/l2.c l2_report):
# the L0 exits (L1's exits it took) from each reflected L2 exit through L1's
# next VM entry, per basic exit reason.
NVMX_REASON_LINE = re.compile(r'^((?:\[[a-z0-9-]+\] )*)nested-vmx [a-z0-9_-]+: L2 exit reason '
                              r'(\d+): (\d+) reflected, (\d+\.\d+) L0 exits each')
# L0's nested-vmx keeps L1's most used VMCS fields in a shadow VMCS
# (nested-vmx/shadow12.c): its figures are labelled shadowing=on; when the
# VM's config turns it off, or the CPU has none, shadowing=off.
NVMX_SHADOWING_LINE = re.compile(r'^nested-vmx [a-z0-9_-]+: VMCS shadowing: \d+ fields')
NVMX_NO_SHADOWING_LINE = re.compile(r'^nested-vmx [a-z0-9_-]+: (?:VMCS shadowing off|'
                                    r'no VMCS shadowing)')
# A VM named NAME-counted runs with the count monitor stacked, NAME-inspected
# with the inspector, NAME-paged with a pager: say so in the figure.
STACK_SUFFIXES = (('-counted', 'count-monitor'), ('-inspected', 'inspector'),
                  ('-paged', 'pager'), ('-checkpointed', 'checkpoint'))


def bench_figure(line, l1=None, shadowing=None):
    """'[vm] name{labels} value' -> 'name{labels} value' (labels + the stack), or None.
    @shadowing: 'on' or 'off', whether the boot's L0 nested-vmx used VMCS
    shadowing for L1 (None: no nested-vmx at L0, no label)."""
    shadow = ',shadowing=%s' % shadowing if shadowing else ''
    m = NVMX_REASON_LINE.match(line)
    if m:
        # nested-vmx at level k (k prefixes) counts its L(k+1)'s exits in L(k) exits.
        level = len(PREFIX.findall(m.group(1)))
        reason = int(m.group(2))
        where = ',at=L%d' % level if level else ''
        who = ',l1=%s' % l1 if l1 else ''
        return 'l0_exits_per_l2_exit{reason=%s%s%s%s} %s' % (
            stat.EXIT_REASONS.get(reason, reason), who, where, shadow, m.group(4))
    m = BENCH_LINE.match(line)
    if not m:
        return None
    prefixes, name, labels, value = m.groups()
    vms = PREFIX.findall(prefixes)
    labels = labels[1:-1].split(',') if labels else []
    for suffix, monitor in STACK_SUFFIXES:
        if vms and vms[-1].endswith(suffix):
            labels.append('stack=' + monitor)
    if len(vms) > 1:                # a guest of a Nestor inside a VM: say how deep
        labels += ['level=%d' % len(vms), 'l1=%s' % (l1 or 'nestor')]
    if shadowing:
        labels.append('shadowing=' + shadowing)
    return '%s%s %s' % (name, '{%s}' % ','.join(labels) if labels else '', value)


LINUX_BARE = 'bare'     # the boot of a bench's bare_linux: its figures say under=bare


def with_label(figure, label):
    """'name{a} v' or 'name v' with @label added to its labels."""
    name, value = figure.rsplit(' ', 1)
    if name.endswith('}'):
        return '%s,%s} %s' % (name[:-1], label, value)
    return '%s{%s} %s' % (name, label, value)


def cmd_bench(args):
    bench = BENCHMARKS[args.name]
    if (args.plot or args.figures_from) and args.name != 'nested':
        raise NestorError('bench: --plot and --from are for the nested benchmark')
    if args.figures_from and not args.plot:
        raise NestorError('bench: --from FIGURES only makes sense with --plot FILE')
    saved = os.path.join(paths.RUNS, 'bench-%s.figures' % args.name)
    if args.figures_from:
        try:
            with open(args.figures_from) as fh:
                lines = fh.readlines()
        except OSError as e:
            raise NestorError('bench: cannot read %s: %s' % (args.figures_from, e.strerror))
        plot.draw(lines, args.plot, 'nestor bench nested (%s)' % paths.rel(args.figures_from))
        print('nestor: drew %s' % args.plot, file=sys.stderr)
        return 0
    build.scons()
    emu = emulators.get('bochs')
    why = emu.unavailable_reason()
    if why:
        raise NestorError('bench: Bochs unavailable: %s' % why)
    if bench.config:
        iso = image.make_iso(bench.cmdline, config.boot_modules(bench.config))
    else:
        iso = image.make_iso(bench.cmdline, [image.root_task_module(bench.roottask)] +
                             [image.guest_module(g) for g in bench.guests])
    boots = [(iso, 'bench-' + args.name, bench.l1)]
    if bench.bare:
        boots.append((image.bare_iso(bench.bare), 'bench-%s-bare' % args.name, bench.l1))
    if bench.bare_linux:
        boots.append((image.linux_bare_iso(bench.bare_linux), 'bench-%s-bare' % args.name,
                      LINUX_BARE))
    for i, (more, l1) in enumerate(bench.more):
        boots.append((image.make_iso('', config.boot_modules(more)),
                      'bench-%s-%d' % (args.name, i + 1), l1))
    figures = []
    for iso, workdir, l1 in boots:
        disk_image = None
        if bench.disk_mib:
            from nestor import disk
            disk_image = disk.create(os.path.join(paths.RUNS, workdir, 'disk.img'),
                                     bench.disk_mib)
        result = boot.boot(emu, iso, os.path.join(paths.RUNS, workdir), bench.timeout,
                           disk=disk_image)
        with open(result.serial, errors='replace') as fh:
            lines = [ln.strip() for ln in fh]
        shadowing = ('on' if any(NVMX_SHADOWING_LINE.match(ln) for ln in lines) else
                     'off' if any(NVMX_NO_SHADOWING_LINE.match(ln) for ln in lines) else None)
        found = [f for f in (bench_figure(ln, None if l1 == LINUX_BARE else l1, shadowing)
                             for ln in lines) if f]
        if bench.bare_linux:        # Linux under Nestor or bare: say which
            found = [with_label(f, 'under=%s' % ('bare' if l1 == LINUX_BARE else 'nestor'))
                     for f in found]
        verdict = subprocess.run([paths.JUDGE, '--verdict', result.serial],
                                 stdout=subprocess.PIPE, text=True).stdout.strip()
        if verdict != 'pass' or not found:
            raise NestorError('bench %s: no figures (verdict %s); serial log %s' %
                              (args.name, verdict, paths.rel(result.serial)))
        figures += found
    head = '# nestor bench %s on Bochs (%s, clock sync=none: rdtsc counts instructions)' % (
        args.name, emulators.BOCHS_CPU_MODEL)
    print(head)
    for f in figures:
        print(f)
    with open(saved, 'w') as fh:
        fh.write('\n'.join([head] + figures) + '\n')
    if args.plot:
        plot.draw(figures, args.plot, 'nestor bench nested')
        print('nestor: drew %s (figures kept in %s)' % (args.plot, paths.rel(saved)),
              file=sys.stderr)
    return 0


def cmd_test(args):
    build.scons()
    tests = harness.select(harness.discover() + topo.tests() + config.tests() +
                           [stat.StatTest(), plot.PlotTest()], args.patterns)
    if args.list:
        for t in tests:
            print(t.id)
        return 0
    if not tests:
        raise NestorError('test: no test matches %s' % ' '.join(args.patterns))
    totals = harness.run_tests(tests, args.jobs)
    return EXIT_FAIL if totals.failed else 0


def cmd_topo(args):
    if (args.config is None) == (args.live is None):
        raise NestorError('topo: give a CONFIG or --live LOG (one of them)')
    if args.live is None:
        build.scons()
    topo.topo(args.config, args.live, args.output)
    return 0


def cmd_stat(args):
    if bool(args.logs) == bool(args.run):
        raise NestorError('stat: give serial LOGs or --run CONFIG (one of them)')
    if args.logs:
        ok = True
        for log in args.logs:
            ok &= stat.stat_file(log)
        return 0 if ok else EXIT_FAIL
    run_args = argparse.Namespace(config=args.run, emu=args.emu, timeout=args.timeout,
                                  cmdline='', roottask=None, bare=None, guest=[], guest_mem=[],
                                  guest_cmdline=[], guest_module=[], disk=None, disk_mib=None,
                                  gdb=None, restore=None, checkpoint_after=None)
    status = cmd_run(run_args)
    ok = stat.stat_file(os.path.join(paths.RUNS, args.emu, 'serial.log'))
    return status if status else (0 if ok else EXIT_FAIL)


def restore_disk(dts, args):
    """--restore IMAGE: the disk to boot with, once the checkpoint chain on
    it (at the config's checkpoint partition) checks on the host; else an
    error and nothing boots. The checkpoint monitor checks it again at boot
    (with the VM's stack identity) and starts the VM from it."""
    if args.disk or args.disk_mib is not None:
        raise NestorError('run: --restore IMAGE is the disk: no --disk or --disk-mib with it')
    if not os.path.isfile(args.restore):
        raise NestorError('run: --restore: no file %s' % args.restore)
    build.scons()
    parts = config.checkpoint_partitions(dts)
    if len(parts) != 1:
        raise NestorError('run: --restore needs a config with one nestor,checkpoint monitor '
                          '(%s has %d)' % (paths.rel(dts), len(parts)))
    name, first = parts[0]
    res = subprocess.run([paths.CKPT_TOOL, 'ls', args.restore, '--offset', str(first * 512)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise NestorError('run: --restore %s: the images of monitor %s (sector %d on) are '
                          'refused, nothing boots:\n%s' % (args.restore, name, first,
                                                           res.stdout.rstrip()))
    print('nestor: restoring from %s (monitor %s, sector %d):\n%s' %
          (args.restore, name, first, res.stdout.rstrip()), file=sys.stderr)
    return args.restore


def cmd_checkpoint(args):
    """List or show the checkpoint images in a file (checkpoint/README.md):
    build/host/tools/nestor-ckpt does the reading and checking."""
    if args.index is not None and args.what != 'show':
        raise NestorError('checkpoint: an image number goes with show only')
    if not os.path.exists(args.image):
        raise NestorError('checkpoint: no file %s' % args.image)
    build.scons()
    cmd = [paths.CKPT_TOOL, args.what, args.image, '--offset', str(args.sector * 512)]
    if args.index is not None:
        cmd.append(str(args.index))
    return subprocess.run(cmd).returncode


def parser():
    p = argparse.ArgumentParser(prog='nestor', description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest='command', metavar='SUBCOMMAND')

    r = sub.add_parser('run', help='build and boot a stack, streaming its console',
                       description='Build what is needed, make the boot ISO, boot it and '
                       'stream COM1 to the terminal. Exits 0 on a PASS verdict, 1 on FAIL, '
                       '2 on errors (unknown config, emulator missing, boot timeout).')
    r.add_argument('config', nargs='?',
                   help='stack config (.dts path or name in stack-configs/; default: demo)')
    r.add_argument('--emu', default='bochs', choices=sorted(emulators.EMULATORS),
                   help='machine to boot on (default: bochs)')
    r.add_argument('--disk', metavar='FILE', default=None,
                   help='attach the raw disk image FILE as the primary ATA master (the disk '
                        'of a nestor,blk block server in the config); what the guest writes '
                        'stays in FILE. Without it, a config whose block server has '
                        'partitions on the disk gets a fresh zeroed image each run '
                        '(build/runs/EMU/disk.img)')
    r.add_argument('--disk-mib', type=int, metavar='MIB', default=None,
                   help='with --disk: create FILE, zeroed, of MIB MiB (rounded up to whole '
                        'cylinders) if it does not exist')
    r.add_argument('--restore', metavar='IMAGE', default=None,
                   help='boot with IMAGE (a disk image holding a checkpoint chain, e.g. a '
                        'test\'s disk.img) as the disk: the config\'s checkpoint monitor starts '
                        'its VM from the last image; the chain is checked on the host first '
                        'and a refused one boots nothing (checkpoint/README.md)')
    r.add_argument('--checkpoint-after', type=int, metavar='S', default=None,
                   help='S seconds after the config\'s checkpoint monitor is ready, send it the '
                        'line "checkpoint" on the machine\'s COM2 (its node grants it COM2: '
                        'ioports = <0x2f8 0x2ff>, irqs = <3>): an image at the VM\'s next exit '
                        'boundary (checkpoint/README.md "From the host")')
    r.add_argument('--gdb', type=int, metavar='PORT', default=None,
                   help='wire the machine\'s COM2 to TCP port PORT on localhost, the link of '
                        'an inspector monitor in the config to gdb (prints the line to type)')
    r.add_argument('--interactive', action='store_true',
                   help='wire the terminal to the machine\'s COM2, which a VMM granted it '
                        'feeds to its first VM\'s COM1 (stack-configs/linux.dts), and put '
                        '"nestor.interactive" on the command line of each Linux VM: its '
                        'init starts a shell on the console after its checks')
    r.add_argument('--timeout', type=int, metavar='S',
                   help='seconds before the boot counts as hung (default: qemu/kvm 30, bochs 120)')
    r.add_argument('--cmdline', default='', metavar='ARGS',
                   help="kernel command line (e.g. 'fault=gp')")
    r.add_argument('--roottask', metavar='NAME', default=None,
                   help="root task to start: build/user/NAME.elf (default: init, which builds "
                   "the config's stack; vmm runs one VM per --guest; ktest runs the kernel test "
                   "suite, kfuzz the fuzzer)")
    r.add_argument('--bare', metavar='GUEST',
                   help="boot test guest build/guests/GUEST.bin by itself, without Nestor "
                   "(GRUB 'multiboot', command line 'bare' plus --cmdline): vmxcheck checks "
                   "the emulator's own VMX this way (e.g. --bare vmxcheck on Bochs)")
    r.add_argument('--guest', metavar='NAME', action='append', default=[],
                   help="add test guest build/guests/NAME.bin (or .elf, or a path such as "
                   "build/kernel/nestor-kernel.elf) as a 'guest NAME' boot module "
                   "(repeatable; FILE:NAME names the VM; run by the vmm root task, "
                   "--roottask vmm)")
    r.add_argument('--guest-mem', metavar='NAME=MIB', action='append', default=[],
                   help="RAM of --guest VM NAME in MiB (default 8; even, 2 to 3072)")
    r.add_argument('--guest-cmdline', metavar='NAME=ARGS', action='append', default=[],
                   help="Multiboot command line of --guest VM NAME")
    r.add_argument('--guest-module', metavar='NAME=FILE[:STRING]', action='append', default=[],
                   help="add a Multiboot module to --guest VM NAME: build/guests/FILE.bin (or "
                   ".elf, or a path) with its STRING (repeatable, in order)")
    r.set_defaults(func=cmd_run)

    b = sub.add_parser('bench', help='run a benchmark on Bochs and print its figures',
                       description='Boot a benchmark root task on Bochs, where rdtsc counts '
                       'emulated instructions, and print its "name: value" figures. Benchmarks: ' +
                       '; '.join('%s: %s' % (k, v.what) for k, v in sorted(BENCHMARKS.items())))
    b.add_argument('name', choices=sorted(BENCHMARKS), help='which benchmark')
    b.add_argument('--plot', metavar='FILE',
                   help='nested only: draw the cost of a CPUID exit per level (.png or .svg, '
                   'matplotlib) from the figures of this run')
    b.add_argument('--from', dest='figures_from', metavar='FIGURES',
                   help='with --plot: draw figures saved earlier (build/runs/bench-nested.figures '
                   'is written by each run) instead of running the benchmark')
    b.set_defaults(func=cmd_bench)

    g = sub.add_parser('topo', help='draw a stack as a picture (Graphviz)',
                       description='Draw a stack: its monitors (memory budget, priority, '
                       'host devices), its VMs (guest, RAM, vCPUs, virtual devices), which '
                       'monitor takes which exits, nested stacks inside their VMs, all on '
                       'init and the microkernel. From a config (built and checked first: a '
                       'bad config is refused with its errors), or with --live from a serial '
                       "log's 'topo: ...' lines (with grants and exits served). Writes DOT to "
                       'stdout, or -o FILE: .dot, .svg or .png (rendered by dot). Exits 2 on '
                       'errors.')
    g.add_argument('config', nargs='?',
                   help='stack config (.dts path or name in stack-configs/, e.g. demo)')
    g.add_argument('--live', metavar='LOG',
                   help="draw what a run printed instead: a serial log (e.g. "
                   "build/runs/qemu/serial.log)")
    g.add_argument('-o', '--output', metavar='FILE',
                   help='write FILE (.dot, .svg or .png) instead of DOT on stdout')
    g.set_defaults(func=cmd_topo)

    s = sub.add_parser('stat', help='exit statistics of a run, per level and per monitor',
                       description='Print, for each VM at each level of nesting, its exits to '
                       'the level below by reason, the monitors stacked on it and what they '
                       'took, for guest hypervisors the exits of their guests reflected to them '
                       'and the exits below each caused, and the instruction costs the guests '
                       'measured - from a serial log (e.g. build/test-logs/nested3@bochs/'
                       'serial.log) or from a boot it makes (--run CONFIG, streamed as by '
                       '"./nestor run"). Exits 1 if the figures do not add up, 2 on errors.')
    s.add_argument('logs', nargs='*', metavar='LOG', help='serial logs of finished runs')
    s.add_argument('--run', metavar='CONFIG', help='boot CONFIG first (as ./nestor run CONFIG)')
    s.add_argument('--emu', default='bochs', choices=sorted(emulators.EMULATORS),
                   help='machine for --run (default: bochs)')
    s.add_argument('--timeout', type=int, metavar='S', help='seconds for --run')
    s.set_defaults(func=cmd_stat)

    c = sub.add_parser('checkpoint', help='list or show checkpoint images in a disk image',
                       description='Read the chain of checkpoint images the checkpoint monitor '
                       'wrote (checkpoint/README.md): "ls" prints one line per image (full, then '
                       'incremental) and the verdict, "show" one image whole (header, sections, '
                       'vCPU registers, device records, RAM pages). Every image is checked '
                       '(checksums, sizes, chain) first; a refused one is named with the reason. '
                       'Exits 0 when the chain checks, 1 when an image is refused, 2 on errors.')
    c.add_argument('what', choices=['ls', 'show'])
    c.add_argument('image', metavar='IMAGE', help='a file: the disk image attached with --disk')
    c.add_argument('index', nargs='?', type=int, metavar='N',
                   help='show: which image of the chain (default 0)')
    c.add_argument('--sector', type=int, default=0, metavar='S',
                   help="the checkpoint partition's first sector in IMAGE (its 'blk' FIRST)")
    c.set_defaults(func=cmd_checkpoint)

    t = sub.add_parser('test', help='run unit and system tests',
                       description='Build, then run the CUnit suites, the system tests '
                       '(tests/system/*.spec on each emulator they name) and the topo checks '
                       '(each stack config and tests/configs/live-sample.log drawn and rendered '
                       'by dot), in parallel. Ends '
                       "with 'N passed, N failed' (and ', N skipped'). Logs stay under "
                       'build/test-logs/.')
    t.add_argument('patterns', nargs='*', metavar='PATTERN',
                   help="test ids to run: a substring ('boot') or a glob ('system/*@qemu')")
    t.add_argument('--jobs', '-j', type=int, default=os.cpu_count() or 1,
                   help='tests run at once (default: number of CPUs)')
    t.add_argument('--list', action='store_true', help='list the matching test ids and stop')
    t.set_defaults(func=cmd_test)
    return p


def main(argv):
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, 'func', None):
        p.print_help()
        return 0 if argv else EXIT_ERROR
    if getattr(args, 'timeout', None) is not None and args.timeout <= 0:
        p.error('--timeout must be a positive number of seconds')
    if getattr(args, 'jobs', 1) < 1:
        p.error('--jobs must be at least 1')
    try:
        return args.func(args)
    except NestorError as e:
        print('nestor: %s' % e, file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print('nestor: interrupted', file=sys.stderr)
        return EXIT_ERROR
