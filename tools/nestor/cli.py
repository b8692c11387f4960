"""./nestor: argument parsing and the subcommands."""
import argparse
import os
import re
import subprocess
import sys

from nestor import boot, build, config, emulators, harness, image, paths, topo
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
    build.scons()
    if args.bare:
        iso = image.bare_iso(args.bare, args.cmdline)
        what = 'guest %s bare' % args.bare
    else:
        modules = config.boot_modules(dts, args.roottask, args.guest,
                                      {'mem': args.guest_mem, 'cmdline': args.guest_cmdline,
                                       'module': args.guest_module})
        iso = image.make_iso(args.cmdline, modules)
        what = paths.rel(dts)
    timeout = args.timeout or (GDB_RUN_TIMEOUT_S if args.gdb else
                               harness.specs.DEFAULT_TIMEOUT[emu.name])
    workdir = os.path.join(paths.RUNS, emu.name)
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
    result = boot.boot(emu, iso, workdir, timeout, stream=sys.stdout, gdb_port=args.gdb)
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


class Bench:
    """A benchmark boot: @roottask with @guests, or the stack config @config
    (tests/configs or stack-configs: init and the modules it names); with
    @bare, also test guest @bare booted bare on Bochs (./nestor run --bare);
    then each stack config of @more, one boot each."""
    def __init__(self, roottask, what, guests=(), cmdline='', config=None, bare=None, more=(),
                 l1=None):
        self.roottask, self.what, self.guests, self.cmdline = roottask, what, guests, cmdline
        self.config, self.bare, self.more, self.l1 = config, bare, more, l1


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
    # on Bochs's own VMX: its L2's CPUID exits timed from inside L2.
    'nested': Bench(None, 'L2 CPUID exits handled by a test hypervisor (L1) under nested-vmx, '
                    'and bare on Bochs\'s VMX; L0 exits per L2 exit',
                    config=os.path.join(paths.TEST_CONFIGS, 'nestbench.dts'), bare='nestbench',
                    l1='testhv',
                    # exitbench with Nestor below it: at L2 (Nestor as L1), at L3
                    more=((os.path.join(paths.TEST_CONFIGS, 'nestbench-nestor.dts'), 'nestor'),
                          (os.path.join(paths.TEST_CONFIGS, 'nestbench-nestor3.dts'),
                           'nestor,l2=nestor'))),
}
BENCH_LINE = re.compile(r'^((?:\[[a-z0-9-]+\] )*)([a-z_0-9]+)(\{[^}]*\})?:? (\d+(?:\.\d+)?)$')
# A line's VM prefixes ("[l1] [bench] "): one per level of nesting above L0.
PREFIX = re.compile(r'\[([a-z0-9-]+)\] ')
# nested-vmx's table at the VMM's count query (nested-vmx/l2.c l2_report):
# the L0 exits (L1's exits it took) from each reflected L2 exit through L1's
# next VM entry, per basic exit reason.
NVMX_REASON_LINE = re.compile(r'^((?:\[[a-z0-9-]+\] )*)nested-vmx [a-z0-9_-]+: L2 exit reason '
                              r'(\d+): (\d+) reflected, (\d+\.\d+) L0 exits each')
EXIT_REASON_NAMES = {10: 'cpuid', 12: 'hlt', 16: 'rdtsc', 18: 'vmcall', 28: 'cr-access',
                     30: 'io', 31: 'rdmsr', 32: 'wrmsr', 48: 'ept-violation'}
BENCH_TIMEOUT_S = 300
# A VM named NAME-counted runs with the count monitor stacked, NAME-inspected
# with the inspector: say so in the figure.
STACK_SUFFIXES = (('-counted', 'count-monitor'), ('-inspected', 'inspector'))


def bench_figure(line, l1=None):
    """'[vm] name{labels} value' -> 'name{labels} value' (labels + the stack), or None."""
    m = NVMX_REASON_LINE.match(line)
    if m:
        # nested-vmx at level k (k prefixes) counts its L(k+1)'s exits in L(k) exits.
        level = len(PREFIX.findall(m.group(1)))
        reason = int(m.group(2))
        where = ',at=L%d' % level if level else ''
        who = ',l1=%s' % l1 if l1 else ''
        return 'l0_exits_per_l2_exit{reason=%s%s%s} %s' % (
            EXIT_REASON_NAMES.get(reason, reason), who, where, m.group(4))
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
    return '%s%s %s' % (name, '{%s}' % ','.join(labels) if labels else '', value)


def cmd_bench(args):
    bench = BENCHMARKS[args.name]
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
    for i, (more, l1) in enumerate(bench.more):
        boots.append((image.make_iso('', config.boot_modules(more)),
                      'bench-%s-%d' % (args.name, i + 1), l1))
    figures = []
    for iso, workdir, l1 in boots:
        result = boot.boot(emu, iso, os.path.join(paths.RUNS, workdir), BENCH_TIMEOUT_S)
        with open(result.serial, errors='replace') as fh:
            lines = [ln.strip() for ln in fh]
        found = [f for f in (bench_figure(ln, l1) for ln in lines) if f]
        verdict = subprocess.run([paths.JUDGE, '--verdict', result.serial],
                                 stdout=subprocess.PIPE, text=True).stdout.strip()
        if verdict != 'pass' or not found:
            raise NestorError('bench %s: no figures (verdict %s); serial log %s' %
                              (args.name, verdict, paths.rel(result.serial)))
        figures += found
    print('# nestor bench %s on Bochs (%s, clock sync=none: rdtsc counts instructions)' %
          (args.name, emulators.BOCHS_CPU_MODEL))
    for f in figures:
        print(f)
    return 0


def cmd_test(args):
    build.scons()
    tests = harness.select(harness.discover() + topo.tests() + config.tests(), args.patterns)
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
    r.add_argument('--gdb', type=int, metavar='PORT', default=None,
                   help='wire the machine\'s COM2 to TCP port PORT on localhost, the link of '
                        'an inspector monitor in the config to gdb (prints the line to type)')
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
