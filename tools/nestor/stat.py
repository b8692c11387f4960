"""./nestor stat: exit statistics of a run, per level and per monitor (kvm_stat's idea).

Reads what a booted system printed on its serial console (a run's or a test's
serial.log, or a boot it makes itself with --run) and prints, for each VM at
each level of nesting:

- the exits the VM made to the level below it, by basic reason (the VMM's
  'vmm: vm NAME exits by reason: ...' line when the VM ends), and the total;
- the monitors stacked on it ('topo: stacked ...'), with what each counted
  (a count monitor's query line, nested-vmx's 'exits taken, passed through');
- for a VM that is a guest hypervisor: the exits of its own guests reflected to
  it, by reason, and the exits of the level below they caused (nested-vmx's
  'L2 exit reason R: N reflected, X L0 exits each' table: N * X);
- the instruction costs the VM's guests measured themselves (benchmark
  figures 'name{labels} value', e.g. exitbench's exit round trips).

Levels: a line with k VM prefixes ('[l1] [bench] ') was printed by software
at level k (L0 is the Nestor on the machine); its 'vmm: vm NAME' lines are
about VM NAME at level k+1.
"""
import os
import re
import sys

from nestor import paths
from nestor.errors import NestorError

# Basic exit reasons, SDM Vol. 3D Appendix C (Table C-1); the names are the
# stack configs' (stackcfg/stackcfg.c exit_names) where they have one, and
# the unit check stat_names_match_stackcfg() holds them to it.
EXIT_REASONS = {
    0: 'exception', 1: 'external-interrupt', 2: 'triple-fault', 3: 'init', 4: 'sipi',
    5: 'io-smi', 6: 'other-smi', 7: 'interrupt-window', 8: 'nmi-window',
    9: 'task-switch', 10: 'cpuid', 11: 'getsec', 12: 'hlt', 13: 'invd', 14: 'invlpg',
    15: 'rdpmc', 16: 'rdtsc', 17: 'rsm', 18: 'vmcall', 19: 'vmclear', 20: 'vmlaunch',
    21: 'vmptrld', 22: 'vmptrst', 23: 'vmread', 24: 'vmresume', 25: 'vmwrite',
    26: 'vmxoff', 27: 'vmxon', 28: 'cr-access', 29: 'dr-access', 30: 'io', 31: 'rdmsr',
    32: 'wrmsr', 33: 'invalid-state', 34: 'msr-loading', 36: 'mwait', 37: 'mtf',
    39: 'monitor', 40: 'pause', 41: 'machine-check', 43: 'tpr-below-threshold',
    44: 'apic-access', 45: 'virtualized-eoi', 46: 'gdtr-idtr', 47: 'ldtr-tr',
    48: 'ept-violation', 49: 'ept-misconfig', 50: 'invept', 51: 'rdtscp',
    52: 'preemption-timer', 53: 'invvpid', 54: 'wbinvd', 55: 'xsetbv', 56: 'apic-write',
    57: 'rdrand', 58: 'invpcid', 59: 'vmfunc', 60: 'encls', 61: 'rdseed', 62: 'pml-full',
    63: 'xsaves', 64: 'xrstors', 67: 'umwait', 68: 'tpause',
}

PREFIX = re.compile(r'\[([a-z0-9-]+)\] ')
LINE = re.compile(r'^((?:\[[a-z0-9-]+\] )*)(.*)$')
BY_REASON = re.compile(r'^vmm: vm ([a-z0-9-]+) exits by reason:((?: [a-z0-9-]+ \d+)*)$')
EXITED = re.compile(r'^vmm: vm ([a-z0-9-]+) exited with status (\S+) after (\d+) exits$')
STACKED = re.compile(r'^topo: stacked ([a-z0-9-]+) ([a-z0-9-]+) exits=(\S*) next=([a-z0-9-]+)$')
TOPO_VM = re.compile(r'^topo: vm ([a-z0-9-]+) vmm=([a-z0-9-]+) (guest|nested)=(\S+)')
NVMX_REASON = re.compile(r'^nested-vmx ([a-z0-9_-]+): L2 exit reason (\d+): (\d+) reflected, '
                         r'(\d+(?:\.\d+)?) L0 exits each')
NVMX_VM = re.compile(r'^nested-vmx ([a-z0-9_-]+): vm ([a-z0-9-]+): (\d+) exits taken, '
                     r'(\d+) passed through$')
COUNTED = re.compile(r'^count-monitor ([a-z0-9_-]+): vm ([a-z0-9-]+): (\d+) ([a-z0-9-]+) '
                     r'exits, (\d+) other exits')
FIGURE = re.compile(r'^([a-z_0-9]+)(\{[^}]*\})? (\d+(?:\.\d+)?)$')


class Vm:
    def __init__(self, path):
        self.path = path                # VM names from L1 down to this one
        self.guest = None
        self.vmm = None
        self.by_reason = {}             # reason name -> exits to the level below
        self.total = None               # 'exited ... after N exits'
        self.status = None
        self.monitors = []              # (name, exits it takes)
        self.counted = []               # (monitor, reason, count)
        self.nvmx = None                # (monitor, taken, passed through)
        self.reflected = []             # (reason name, reflected, below-exits each)
        self.figures = []               # (name{labels}, value) measured inside

    @property
    def level(self):
        return len(self.path)

    @property
    def name(self):
        return self.path[-1]


class Stats:
    def __init__(self):
        self.vms = {}

    def vm(self, path):
        path = tuple(path)
        if path not in self.vms:
            self.vms[path] = Vm(path)
        return self.vms[path]

    def ordered(self):
        return [self.vms[p] for p in sorted(self.vms)]


def parse(lines):
    """The statistics of the serial log @lines."""
    st = Stats()
    pending = {}        # prefix path -> nested-vmx reason rows before its 'vm NAME' line
    for raw in lines:
        m = LINE.match(raw.rstrip('\r\n'))
        where = tuple(PREFIX.findall(m.group(1)))
        text = m.group(2)
        if (m2 := BY_REASON.match(text)):
            words = m2.group(2).split()
            st.vm(where + (m2.group(1),)).by_reason = {
                words[i]: int(words[i + 1]) for i in range(0, len(words), 2)}
        elif (m2 := EXITED.match(text)):
            vm = st.vm(where + (m2.group(1),))
            vm.status, vm.total = m2.group(2), int(m2.group(3))
        elif (m2 := TOPO_VM.match(text)):
            vm = st.vm(where + (m2.group(1),))
            vm.vmm = m2.group(2)
            vm.guest = m2.group(4) if m2.group(3) == 'guest' else 'a Nestor, stack %s' % m2.group(4)
        elif (m2 := STACKED.match(text)):
            st.vm(where + (m2.group(1),)).monitors.append(
                (m2.group(2), m2.group(3).split(',') if m2.group(3) else []))
        elif (m2 := NVMX_REASON.match(text)):
            reason = int(m2.group(2))
            pending.setdefault(where, []).append(
                (EXIT_REASONS.get(reason, str(reason)), int(m2.group(3)), float(m2.group(4))))
        elif (m2 := NVMX_VM.match(text)):
            vm = st.vm(where + (m2.group(2),))
            vm.nvmx = (m2.group(1), int(m2.group(3)), int(m2.group(4)))
            vm.reflected = pending.pop(where, [])
        elif (m2 := COUNTED.match(text)):
            st.vm(where + (m2.group(2),)).counted.append(
                (m2.group(1), m2.group(4), int(m2.group(3))))
        elif where and (m2 := FIGURE.match(text)):
            st.vm(where).figures.append((m2.group(1) + (m2.group(2) or ''),
                                         m2.group(3)))
    return st


def caused_below(vm):
    """Exits of the level below @vm its guests' reflected exits caused."""
    return sum(n * each for _, n, each in vm.reflected)


def problems(st):
    """What does not add up in @st (a list of sentences; empty if it is consistent)."""
    out = []
    for vm in st.ordered():
        label = 'L%d VM %s' % (vm.level, '/'.join(vm.path))
        if vm.total is not None and vm.by_reason and sum(vm.by_reason.values()) != vm.total:
            out.append('%s: exits by reason add up to %d, not the %d it ended with' %
                       (label, sum(vm.by_reason.values()), vm.total))
        for mon, reason, n in vm.counted:
            if reason in vm.by_reason and vm.by_reason[reason] < n:
                out.append('%s: count monitor %s counted %d %s exits, the VMM saw only %d' %
                           (label, mon, n, reason, vm.by_reason[reason]))
        if vm.reflected and vm.nvmx is None:
            out.append('%s: nested-vmx reflected exits without its summary line' % label)
        if vm.nvmx and vm.reflected:
            # Every reflected exit's L0 exits were taken by nested-vmx or passed
            # through to the VMM (what reached the VMM is in its by-reason line).
            below = vm.nvmx[1] + vm.nvmx[2]
            if caused_below(vm) > below + 0.5 * len(vm.reflected):
                out.append('%s: its guests caused %.0f exits below, more than the %d nested-vmx '
                           'saw' % (label, caused_below(vm), below))
    return out


def report(st, out=sys.stdout):
    vms = st.ordered()
    if not vms:
        raise NestorError('stat: the log holds no exit statistics (no "vmm: vm NAME exits by '
                          'reason" or nested-vmx lines): did the run end its VMs?')
    for vm in vms:
        host = 'L%d' % (vm.level - 1)
        head = 'L%d VM %s' % (vm.level, '/'.join(vm.path))
        if vm.guest:
            head += ': %s, run by %s\'s %s' % (vm.guest, host, vm.vmm)
        print(head, file=out)
        if vm.monitors:
            print('  stacked at %s: %s' % (host, ', '.join(
                '%s (%s)' % (n, ','.join(e) if e else 'no exits') for n, e in vm.monitors)),
                file=out)
        if vm.total is not None or vm.by_reason:
            total = vm.total if vm.total is not None else sum(vm.by_reason.values())
            taken = vm.nvmx[1] if vm.nvmx else 0
            print('  exits to %s: %d%s' % (host, total + taken, '' if vm.status is None else
                                           ' (ended with status %s)' % vm.status), file=out)
            if vm.nvmx:
                # nested-vmx's and the VMM's are disjoint: what it passes on
                # reaches the VMM and is in the VMM's count.
                print('    %d taken by nested-vmx %s (VMX instructions, its MSRs and CRs; '
                      '%d more passed on), %d reached %s\'s %s' %
                      (taken, vm.nvmx[0], vm.nvmx[2], total, host, vm.vmm or 'VMM'), file=out)
            print('    at the VMM, by reason:', file=out)
            rows = sorted(vm.by_reason.items(), key=lambda kv: (-kv[1], kv[0]))
            for reason, n in rows:
                print('    %-20s %10d %6.1f%%' % (reason, n, 100.0 * n / total if total else 0),
                      file=out)
        for mon, reason, n in vm.counted:
            print('  count monitor %s: %d %s exits' % (mon, n, reason), file=out)
        if vm.reflected:
            print('  exits of L%d guests reflected to this VM, and the %s exits each caused:' %
                  (vm.level + 1, host), file=out)
            print('    %-20s %10s %12s %12s' % ('reason', 'reflected', '%s each' % host,
                                                '%s caused' % host), file=out)
            for reason, n, each in sorted(vm.reflected, key=lambda r: -r[1] * r[2]):
                print('    %-20s %10d %12.2f %12.0f' % (reason, n, each, n * each), file=out)
            n_all = sum(n for _, n, _ in vm.reflected)
            print('    %-20s %10d %12.2f %12.0f' % ('all', n_all, caused_below(vm) / n_all,
                                                    caused_below(vm)), file=out)
        if vm.figures:
            print('  measured inside (instructions, from rdtsc under Bochs):', file=out)
            for name, value in vm.figures:
                print('    %s %s' % (name, value), file=out)
    bad = problems(st)
    for p in bad:
        print('stat: inconsistent: %s' % p, file=out)
    return not bad


def stat_file(log, out=sys.stdout):
    try:
        with open(log, errors='replace') as fh:
            lines = fh.readlines()
    except OSError as e:
        raise NestorError('stat: cannot read %s: %s' % (log, e.strerror))
    print('# nestor stat %s' % paths.rel(log), file=out)
    return report(parse(lines), out)


# ---- checks, run by ./nestor test (host only) ----

STACKCFG_C = os.path.join(paths.ROOT, 'stackcfg', 'stackcfg.c')
VCPU_H = os.path.join(paths.ROOT, 'microkernel', 'include', 'nestor', 'vcpu.h')
STAT_SAMPLE = os.path.join(paths.ROOT, 'tests', 'configs', 'stat-sample.log')


def stat_names_match_stackcfg():
    """None, or why EXIT_REASONS disagrees with the C names of the configs."""
    with open(VCPU_H) as fh:
        consts = dict((m.group(1), int(m.group(2), 0)) for m in re.finditer(
            r'#define\s+(NESTOR_EXIT_[A-Z0-9_]+)\s+(0x[0-9a-fA-F]+|\d+)\b', fh.read()))
    with open(STACKCFG_C) as fh:
        pairs = re.findall(r'\{\s*"([a-z0-9-]+)",\s*(NESTOR_EXIT_[A-Z0-9_]+)\s*\}', fh.read())
    if not pairs or not consts:
        return 'found no exit names in %s or constants in %s' % (STACKCFG_C, VCPU_H)
    for name, const in pairs:
        if const not in consts:
            return '%s (for "%s") is not in %s' % (const, name, VCPU_H)
        if EXIT_REASONS.get(consts[const]) != name:
            return 'reason %d is "%s" in stackcfg.c but "%s" in stat.py' % (
                consts[const], name, EXIT_REASONS.get(consts[const]))
    return None


class StatTest:
    """`./nestor stat` on a recorded three-level run (tests/configs/stat-sample.log):
    the figures it must find, consistency, and the names' agreement with C."""
    kind = 'stat'
    id = 'stat/sample'

    def run(self):
        import io
        import time
        from nestor import harness
        start = time.monotonic()
        problem = stat_names_match_stackcfg()
        if not problem:
            buf = io.StringIO()
            ok = stat_file(STAT_SAMPLE, buf)
            text = buf.getvalue()
            st = parse(open(STAT_SAMPLE).readlines())
            l1 = [v for v in st.ordered() if v.level == 1 and v.reflected]
            l3 = [v for v in st.ordered() if v.level == 3]
            if not ok:
                problem = 'the sample is reported inconsistent:\n' + text
            elif not l1 or not l3:
                problem = 'no L1 guest hypervisor with reflected exits, or no L3 VM, found'
            elif 'L3 VM' not in text or 'caused' not in text:
                problem = 'the report lacks the L3 VM or the caused-below table:\n' + text
            else:
                # A broken log must be called inconsistent: drop one by-reason count.
                broken = [re.sub(r'(exits by reason: \S+ )(\d+)',
                                 lambda m: m.group(1) + str(int(m.group(2)) + 1), ln)
                          for ln in open(STAT_SAMPLE).readlines()]
                if not problems(parse(broken)):
                    problem = 'a log whose counts do not add up is not reported'
        seconds = time.monotonic() - start
        if problem:
            return harness.Outcome(failed=1, seconds=seconds, detail=problem)
        return harness.Outcome(passed=1, seconds=seconds)


def live_problem(serial):
    """For system tests with 'stat: consistent': None, or what is wrong."""
    st = parse(open(serial, errors='replace').readlines())
    if not st.vms:
        return 'stat: the run printed no exit statistics'
    bad = problems(st)
    return 'stat: ' + '; '.join(bad) if bad else None


def run_and_stat(run_args, run):
    """./nestor stat --run CONFIG: boot it as './nestor run' does, then report."""
    status = run(run_args)
    serial = os.path.join(paths.RUNS, run_args.emu, 'serial.log')
    stat_file(serial)
    return status

