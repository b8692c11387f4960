"""./nestor topo: draw a stack as a Graphviz picture.

Two sources, one drawing. A stack config: compiled with dtc, checked and
turned into "topo: ..." facts by the host tool (nestor-config, format in
stackcfg/topo_facts.h); a VM with nested-config draws that config's own stack
inside a cluster. A serial log (--live): the same "topo: ..." lines as the
running system printed them, plus what only it knows (grants, exit totals).

The DOT is written here as text (no Python graphviz package); `dot` renders
.svg and .png. Ranks run bottom to top: the microkernel and host devices, init,
the monitors, the VMs, their vCPUs and virtual devices.
"""
import os
import re
import shutil
import subprocess
import sys
import time

from nestor import config, harness, paths
from nestor.errors import NestorError

TEST_OUT = os.path.join(paths.TEST_LOGS, 'topo')
LIVE_SAMPLE = os.path.join(paths.TEST_CONFIGS, 'live-sample.log')
NESTED_SAMPLE = os.path.join(paths.TEST_CONFIGS, 'nested.dts')
MAX_NESTING = 3                     # nested stacks inside nested stacks (stackcfg.h SC_MAX_NESTING)
PREFIX = 'topo: '
FORMATS = ('.dot', '.svg', '.png')

FACT_RE = {
    'monitor': re.compile(r'^monitor (\S+) kind=(\S+) memory-mib=(\d+) priority=(\d+)$'),
    'vm': re.compile(r'^vm (\S+) vmm=(\S+) (guest|nested)=(\S+) memory-mib=(\d+) vcpus=(\d+) '
                     r'devices=(\S+)$'),
    'stacked': re.compile(r'^stacked (\S+) (\S+) exits=(\S*) next=(\S+)$'),
    'virtio': re.compile(r'^virtio (\S+) (\d+) server=(\S+) mmio=(0x[0-9a-f]+) irq=(\d+)$'),
    'grant': re.compile(r'^grant (\S+) (\S+) (.+)$'),
    'exits': re.compile(r'^exits (\S+) total=(\d+)$'),
}
KIND_JOB = {'vmm-server': 'runs VMs', 'count-monitor': 'counts the exits it takes',
            'nested-vmx': 'virtual VMX for guest hypervisors',
            'virtio-console': 'device server: a virtio console',
            'inspector': 'a GDB stub for its VM',
            'blk': 'device server: a disk in partitions',
            'net': 'device server: virtio-net devices and their switch'}

# Legacy PC devices by I/O port range and IRQ line, to name what a monitor is granted.
HOST_PORTS = [
    (0x00, 0x1F, 'DMA'), (0x20, 0x21, 'PIC'), (0x40, 0x43, 'PIT'), (0x48, 0x4B, 'PIT'),
    (0x60, 0x64, 'PS/2'), (0x70, 0x71, 'RTC'), (0x80, 0x80, 'POST'), (0xA0, 0xA1, 'PIC'),
    (0xC0, 0xDF, 'DMA'), (0x170, 0x177, 'ATA1'), (0x1F0, 0x1F7, 'ATA0'),
    (0x2E8, 0x2EF, 'COM4'), (0x2F8, 0x2FF, 'COM2'), (0x378, 0x37F, 'LPT1'),
    (0x3C0, 0x3DF, 'VGA'), (0x3E8, 0x3EF, 'COM3'), (0x3F8, 0x3FF, 'COM1'),
    (0xCF8, 0xCFF, 'PCI config'),
]
HOST_IRQS = {0: 'PIT', 1: 'PS/2', 2: 'PIC', 3: 'COM2', 4: 'COM1', 6: 'floppy', 7: 'LPT1',
             8: 'RTC', 12: 'PS/2', 13: 'FPU', 14: 'ATA0', 15: 'ATA1'}
OTHER_DEVICE = 'device'


class Monitor:
    def __init__(self, name, kind='?', memory_mib=None, priority=None):
        self.name, self.kind = name, kind
        self.memory_mib, self.priority = memory_mib, priority
        self.ports = []             # [(first, last)] granted host I/O ports
        self.irqs = []              # granted host IRQ lines
        self.grants = []            # other grants, as 'KIND DETAIL' (live)


class Vm:
    def __init__(self, name, vmm, guest, nested, memory_mib, vcpus, devices):
        self.name, self.vmm, self.guest, self.nested = name, vmm, guest, nested
        self.memory_mib, self.vcpus, self.devices = memory_mib, vcpus, devices
        self.stacked = []           # [(monitor, [exit reasons], next)] from the VM outward
        self.virtio = []            # [(device number, server, mmio base, irq line)]
        self.exits_total = None     # live: exits its VMM served


class Stack:
    """One stack: its monitors and VMs, and the nested stacks VMs run."""

    def __init__(self, title, live=False):
        self.title = title          # lines of the graph (or cluster) title
        self.live = live
        self.monitors = {}          # name -> Monitor, in the order the facts name them
        self.vms = {}               # name -> Vm
        self.nested = {}            # VM name -> Stack (config mode)
        self.has_init = not live    # init always starts the monitors of a config
        self.facts = []             # the 'topo: ' lines read


def all_facts(stack):
    """The 'topo: ' lines of @stack and of its nested stacks."""
    return stack.facts + [f for sub in stack.nested.values() for f in all_facts(sub)]


def _int(text):
    return int(text, 0)


def _monitor(stack, name):
    if name not in stack.monitors:
        stack.monitors[name] = Monitor(name)
    return stack.monitors[name]


def _grant(stack, name, kind, detail):
    mon = _monitor(stack, name)
    try:
        if kind in ('ioports', 'ioport', 'ports'):
            first, _, last = detail.partition('-')
            mon.ports.append((_int(first), _int(last or first)))
            return
        if kind in ('irq', 'irqs'):
            mon.irqs += [_int(x) for x in detail.replace(',', ' ').split()]
            return
    except ValueError:
        pass
    mon.grants.append('%s %s%s' % (kind, 'to ' if kind == 'endpoint' else '', detail))


def parse_facts(lines, title, live=False):
    """A Stack from 'topo: ...' lines; other lines, '\\r' and malformed facts are skipped."""
    stack = Stack(title, live)
    for raw in lines:
        line = raw.replace('\r', '').rstrip()
        if live and line.startswith('init:'):
            stack.has_init = True
        if not line.startswith(PREFIX):
            continue
        body = line[len(PREFIX):]
        word = body.split(' ', 1)[0]
        m = FACT_RE.get(word) and FACT_RE[word].match(body)
        if not m:
            continue
        stack.facts.append(line)
        if word == 'monitor':
            mon = _monitor(stack, m.group(1))
            mon.kind, mon.memory_mib, mon.priority = m.group(2), int(m.group(3)), int(m.group(4))
        elif word == 'vm':
            name, vmm, what, image, mib, vcpus, devices = m.groups()
            stack.vms[name] = Vm(name, vmm, image if what == 'guest' else None,
                                 image if what == 'nested' else None, int(mib), int(vcpus),
                                 [] if devices == 'none' else devices.split(','))
        elif word == 'stacked' and m.group(1) in stack.vms:
            vm = stack.vms[m.group(1)]
            entry = (m.group(2), [e for e in m.group(3).split(',') if e], m.group(4))
            if entry not in vm.stacked:
                vm.stacked.append(entry)
        elif word == 'virtio' and m.group(1) in stack.vms:
            entry = (int(m.group(2)), m.group(3), _int(m.group(4)), int(m.group(5)))
            if entry not in stack.vms[m.group(1)].virtio:
                stack.vms[m.group(1)].virtio.append(entry)
        elif word == 'grant':
            stack.has_init = True   # init hands out every capability a monitor holds
            _grant(stack, *m.groups())
        elif word == 'exits' and m.group(1) in stack.vms:
            stack.vms[m.group(1)].exits_total = int(m.group(2))
    for vm in stack.vms.values():   # a log cut short may lack some monitor lines
        for name in ([vm.vmm] + [s[0] for s in vm.stacked] + [s[2] for s in vm.stacked] +
                     [d[1] for d in vm.virtio]):
            _monitor(stack, name)
    return stack


# ---- config mode ----

def _fdtget(dtb, node, prop, kind='u'):
    res = subprocess.run(['fdtget', '-t', kind, dtb, node, prop], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return res.stdout.strip() if res.returncode == 0 else ''


def load_config(dts, chain=()):
    """Check @dts and read its Stack, nested stacks included (stack-configs/NAME.dts,
    whose existence the config check has made sure of)."""
    name = os.path.splitext(os.path.basename(dts))[0]
    chain = tuple(chain) + (name,)
    dtb, _ = config.compile_dts(dts)
    lines = config.tool('facts', dts, dtb).splitlines()
    model = _fdtget(dtb, '/', 'model', 's')
    title = ["stack '%s' (%s)" % (name, paths.rel(dts))] + ([model] if model else [])
    stack = parse_facts(lines, title)
    if not stack.monitors or not stack.vms:
        raise NestorError('topo: config %s gave no monitor or VM facts' % paths.rel(dts))
    for vm in stack.vms.values():
        if not vm.nested:
            continue
        if vm.nested in chain:
            raise NestorError('topo: nested stacks form a cycle: %s' %
                              ' -> '.join(chain + (vm.nested,)))
        if len(chain) > MAX_NESTING:
            raise NestorError('topo: nested stacks deeper than %d levels: %s' %
                              (MAX_NESTING, ' -> '.join(chain + (vm.nested,))))
        nested_dts = os.path.join(paths.STACK_CONFIGS, vm.nested + '.dts')
        stack.nested[vm.name] = load_config(nested_dts, chain)
    return stack


def load_live(log):
    try:
        with open(log, errors='replace') as fh:
            lines = fh.read().splitlines()
    except OSError as e:
        raise NestorError('topo: cannot read log %s: %s' % (log, e.strerror or e))
    stack = parse_facts(lines, ['live: %s' % paths.rel(os.path.abspath(log))], live=True)
    if not stack.facts:
        raise NestorError("topo: log %s has no '%s...' lines (is it a serial log of a stack?)" %
                          (log, PREFIX))
    return stack


# ---- DOT ----

def _q(text):
    """A DOT string: quoted, each '\\n'-separated line escaped."""
    return '"%s"' % '\\n'.join(t.replace('\\', '\\\\').replace('"', '\\"')
                               for t in text.split('\n'))


def _attrs(**kw):
    return '[%s]' % ', '.join('%s=%s' % (k, v if k == 'label' or not isinstance(v, str)
                                         or re.match(r'^[A-Za-z0-9_.]+$', v) else _q(v))
                              for k, v in kw.items())


def _ports(first, last):
    return '0x%x' % first if first == last else '0x%x-0x%x' % (first, last)


def host_devices(mon):
    """[(device, 'ports 0x40-0x43, IRQ 0')] for what @mon was granted."""
    devs = {}
    for first, last in mon.ports:
        dev = next((d for a, b, d in HOST_PORTS if a <= first and last <= b), OTHER_DEVICE)
        devs.setdefault(dev, ([], []))[0].append(_ports(first, last))
    for irq in mon.irqs:
        devs.setdefault(HOST_IRQS.get(irq, OTHER_DEVICE), ([], []))[1].append(str(irq))
    out = []
    for dev, (ports, irqs) in devs.items():
        parts = (['port%s %s' % ('s' if len(ports) > 1 or '-' in ports[0] else '',
                                 ', '.join(ports))] if ports else []) + \
                (['IRQ%s %s' % ('s' if len(irqs) > 1 else '', ', '.join(irqs))] if irqs else [])
        out.append((dev, ', '.join(parts)))
    return out


class Dot:
    def __init__(self):
        self.lines = []
        self.edges = set()

    def add(self, indent, text):
        self.lines.append('    ' * indent + text)

    def edge(self, indent, a, b, **kw):
        key = (a, b, kw.get('label'))
        if key not in self.edges:
            self.edges.add(key)
            self.add(indent, '%s -> %s %s;' % (a, b, _attrs(**kw)))


def _id(prefix, *parts):
    return '"%s"' % re.sub(r'["\\]', '', '/'.join((prefix,) + parts))


def _draw(dot, stack, prefix, ind, host='host', vm_host=None):
    """Nodes and edges of @stack; ids start with @prefix; @host names its hardware."""
    kernel = _id(prefix, 'kernel')
    dot.add(ind, '%s %s;' % (kernel, _attrs(
        shape='box', style='filled,bold', fillcolor='gray85', width='3',
        label=_q('Nestor microkernel\nring 0 / VMX root' if vm_host is None else
                 'Nestor microkernel\nas the guest of VM %s' % vm_host))))
    bottom = [kernel]
    if stack.has_init:
        init = _id(prefix, 'init')
        dot.add(ind, '%s %s;' % (init, _attrs(
            shape='box', style='filled,rounded', fillcolor='gray95',
            label=_q('init\nroot task: reads the config,\ngrants memory and devices')
            if not stack.live else _q('init\nroot task'))))
        dot.edge(ind, kernel, init, label=_q('starts the root task'))
    for mon in stack.monitors.values():
        mid = _id(prefix, 'mon', mon.name)
        label = [mon.name, '%s: %s' % (mon.kind, KIND_JOB.get(mon.kind, 'monitor'))]
        if mon.memory_mib is not None:
            label.append('memory budget %d MiB, priority %d' % (mon.memory_mib, mon.priority))
        label += ['granted %s' % g for g in mon.grants]
        dot.add(ind, '%s %s;' % (mid, _attrs(shape='box', style='filled', fillcolor='lightblue',
                                             label=_q('\n'.join(label)))))
        dot.edge(ind, kernel, mid, label=_q('capabilities, IPC'), dir='both', arrowsize='0.6',
                 color='gray40')
        if stack.has_init:
            dot.edge(ind, _id(prefix, 'init'), mid, label=_q('starts'), style='dashed')
        for n, (dev, what) in enumerate(host_devices(mon)):
            did = _id(prefix, 'dev', mon.name, str(n))
            dot.add(ind, '%s %s;' % (did, _attrs(
                shape='component', style='filled', fillcolor='moccasin', fontsize='10',
                label=_q('%s %s\n%s' % (host, dev, what)))))
            dot.edge(ind, did, mid, label=_q('granted to %s' % mon.name), style='dotted')
            bottom.append(did)
    dot.add(ind, '{ rank=same; %s; }' % '; '.join(bottom))
    for vm in stack.vms.values():
        vid = _id(prefix, 'vm', vm.name)
        runs = 'guest image: %s' % vm.guest if vm.guest else 'runs nested stack: %s' % vm.nested
        dot.add(ind, '%s %s;' % (vid, _attrs(
            shape='box3d', style='filled', fillcolor='lightyellow',
            label=_q('VM %s\n%s\nRAM %d MiB, %d vCPU%s' % (vm.name, runs, vm.memory_mib, vm.vcpus,
                                                          '' if vm.vcpus == 1 else 's')))))
        for i in range(vm.vcpus):
            cid = _id(prefix, 'vm', vm.name, 'vcpu%d' % i)
            dot.add(ind, '%s %s;' % (cid, _attrs(shape='circle', style='filled',
                                                 fillcolor='lightyellow', fontsize='9',
                                                 fixedsize='true', width='0.6',
                                                 label=_q('vCPU%d' % i))))
            dot.edge(ind, vid, cid, arrowhead='none')
        nid = _id(prefix, 'vm', vm.name, 'devices')
        devs = ', '.join(d.upper() for d in vm.devices) if vm.devices else 'none'
        dot.add(ind, '%s %s;' % (nid, _attrs(
            shape='note', style='filled', fillcolor='white', fontsize='9',
            label=_q('virtual devices of %s\n(modelled by %s):\n%s' % (vm.name, vm.vmm, devs)))))
        dot.edge(ind, vid, nid, arrowhead='none', style='dashed')
        # Exits flow down from the VM: the stacked monitors first, then its VMM.
        # Edges are written bottom-up (rankdir=BT) with the arrow at the tail.
        if vm.stacked:
            first, exits, _ = vm.stacked[0]
            dot.edge(ind, _id(prefix, 'mon', first), vid, dir='back', color='darkgreen',
                     fontcolor='darkgreen', label=_q('%s exits' % ', '.join(exits)))
            for mon, exits, nxt in vm.stacked:
                dot.edge(ind, _id(prefix, 'mon', nxt), _id(prefix, 'mon', mon), dir='back',
                         color='darkgreen', fontcolor='darkgreen',
                         label=_q('passes %s exits' % ', '.join(exits)))
        # Device servers: the VMM forwards the device window's accesses to them.
        for n, server, base, irq in vm.virtio:
            dot.edge(ind, _id(prefix, 'mon', server), vid, dir='back', color='purple',
                     fontcolor='purple', style='dashed',
                     label=_q('virtio device %d\nMMIO 0x%x, IRQ %d\n(via %s), its RAM'
                              % (n, base, irq, vm.vmm)))
        label = '%s exits,\nEPT memory, I/O ports' % ('all other' if vm.stacked else 'all')
        if vm.exits_total is not None:
            label += '\n%d exits served' % vm.exits_total
        dot.edge(ind, _id(prefix, 'mon', vm.vmm), vid, dir='back', penwidth='1.5',
                 label=_q(label))
        if vm.name in stack.nested:
            sub = stack.nested[vm.name]
            sub_prefix = '%s/%s' % (prefix, vm.name)
            title = ['inside VM %s: nested %s' % (vm.name, sub.title[0])] + sub.title[1:]
            dot.add(ind, 'subgraph %s {' % _id('cluster', sub_prefix))
            # rankdir=BT turns cluster labels upside down: 'b' puts it on top.
            dot.add(ind + 1, 'label=%s; labelloc=b; labeljust=l; style="rounded,dashed"; '
                    'color=gray30;' % _q('\n'.join(title)))
            _draw(dot, sub, sub_prefix, ind + 1, host="VM %s's" % vm.name, vm_host=vm.name)
            dot.add(ind, '}')
            dot.edge(ind, vid, _id(sub_prefix, 'kernel'), label=_q('boots as its guest'),
                     style='bold', color='gray30')


def to_dot(stack):
    dot = Dot()
    dot.add(0, 'digraph nestor_stack {')
    dot.add(1, 'graph [rankdir=BT, newrank=true, labelloc=t, fontname="Helvetica", '
               'fontsize=16, nodesep=0.35, ranksep=0.55, label=%s];' % _q('\n'.join(stack.title)))
    dot.add(1, 'node [fontname="Helvetica", fontsize=11];')
    dot.add(1, 'edge [fontname="Helvetica", fontsize=9];')
    _draw(dot, stack, 'top', 1)
    dot.add(0, '}')
    return '\n'.join(dot.lines) + '\n'


def render(dot_text, out):
    """Write @dot_text to @out (.dot, or rendered by dot to .svg/.png); None: stdout."""
    if out is None:
        sys.stdout.write(dot_text)
        return
    ext = os.path.splitext(out)[1].lower()
    if ext not in FORMATS:
        raise NestorError('topo: -o %s: expected a file ending %s' % (out, ', '.join(FORMATS)))
    if os.path.dirname(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
    if ext == '.dot':
        with open(out, 'w') as fh:
            fh.write(dot_text)
        return
    if not shutil.which('dot'):
        raise NestorError('topo: Graphviz dot not found (Debian package graphviz)')
    res = subprocess.run(['dot', '-T' + ext[1:], '-o', out], input=dot_text,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise NestorError('topo: dot -T%s failed (exit %d):\n%s' %
                          (ext[1:], res.returncode, res.stdout.rstrip()))


def topo(config_name=None, live_log=None, out=None):
    """What './nestor topo' does after the build."""
    if live_log is not None:
        stack = load_live(live_log)
    else:
        stack = load_config(config.resolve(config_name))
    render(to_dot(stack), out)


# ---- a booted system against its config (system tests with 'topology: live') ----

# The facts both sides state: what runs and how it is stacked. Grants and
# exit totals are only known live.
COMPARED = ('monitor ', 'vm ', 'stacked ', 'virtio ')


def _compared(stack):
    return {f for f in stack.facts if f[len(PREFIX):].startswith(COMPARED)}


def live_mismatch(dts, serial):
    """None if the topology the booted system printed in @serial is the one
    config @dts describes; otherwise what differs, line by line."""
    want = _compared(parse_facts(config.facts(dts), []))
    got = _compared(load_live(serial))
    if want == got:
        return None
    out = ['live topology differs from %s:' % paths.rel(dts)]
    out += ['  config only: %s' % l for l in sorted(want - got)]
    out += ['  live only:   %s' % l for l in sorted(got - want)]
    return '\n'.join(out)


# ---- tests run by './nestor test' (no emulator) ----

LABEL_RE = re.compile(r'label="((?:[^"\\]|\\.)*)"')


def check_drawing(stack, text, svg):
    """Render DOT @text of @stack to @svg; return what is wrong ('' if nothing)."""
    with open(os.path.splitext(svg)[0] + '.dot', 'w') as fh:
        fh.write(text)
    render(text, svg)
    if not os.path.isfile(svg) or '<svg' not in open(svg, errors='replace').read(4096):
        return 'dot wrote no SVG (%s)' % paths.rel(svg)
    words = set()
    for label in LABEL_RE.findall(text):
        words.update(re.split(r"[\s,:()']+|\\n", label))
    names = [m.group(1) for m in (re.match(r'^topo: (?:monitor|vm) (\S+)', line)
                                  for line in all_facts(stack)) if m]
    missing = sorted(set(n for n in names if n not in words))
    return 'names missing from the labels: %s' % ', '.join(missing) if missing else ''


def refuses_empty_log():
    """'' if a log without topo lines is refused, else the complaint."""
    empty = os.path.join(TEST_OUT, 'empty.log')
    with open(empty, 'w') as fh:
        fh.write('boot: no topo lines here\r\ntopo: vm cut-off\r\n')
    try:
        load_live(empty)
    except NestorError:
        return ''
    return 'a log without topo lines was not refused'


class TopoTest:
    kind = 'topo'
    LIVE_WORDS = ['exits served', 'granted ', 'init', 'Nestor microkernel']
    NESTED_WORDS = ['subgraph "cluster']

    def __init__(self, name, dts=None, log=None, wanted=()):
        """Draw config @dts or log @log; the DOT must hold each of @wanted."""
        self.id = 'topo/' + name
        self.dts, self.log, self.wanted = dts, log, wanted

    def run(self):
        start = time.monotonic()
        os.makedirs(TEST_OUT, exist_ok=True)
        svg = os.path.join(TEST_OUT, self.id.split('/', 1)[1] + '.svg')
        stack = load_config(self.dts) if self.dts else load_live(self.log)
        text = to_dot(stack)
        problem = check_drawing(stack, text, svg)
        lacking = [w for w in self.wanted if w not in text]
        if not problem and lacking:
            problem = 'the drawing lacks: %s' % ', '.join(lacking)
        if not problem and self.log:
            problem = refuses_empty_log()
        seconds = time.monotonic() - start
        if problem:
            return harness.Outcome(failed=1, seconds=seconds, detail=problem)
        return harness.Outcome(passed=1, seconds=seconds, note=paths.rel(svg))


def tests():
    """One test per stack config, and one for the sample serial log."""
    out = []
    if os.path.isdir(paths.STACK_CONFIGS):
        for f in sorted(os.listdir(paths.STACK_CONFIGS)):
            if f.endswith('.dts'):
                out.append(TopoTest(f[:-4], dts=os.path.join(paths.STACK_CONFIGS, f)))
    out.append(TopoTest('live-sample', log=LIVE_SAMPLE, wanted=TopoTest.LIVE_WORDS))
    # (not 'nested': stack-configs/nested.dts has that id)
    out.append(TopoTest('nested-sample', dts=NESTED_SAMPLE, wanted=TopoTest.NESTED_WORDS))
    return out
