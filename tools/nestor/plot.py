"""./nestor bench nested --plot FILE.png: the cost of an exit per level of nesting, drawn.

The figures are the benchmark's own lines ('name{labels} value', as
`./nestor bench nested` prints them and keeps in build/runs/bench-nested.figures).
One series per L1 (Nestor, or the test hypervisor) and VMCS-shadowing setting
(label 'shadowing=on|off', which `./nestor bench nested` adds where L0's
nested-vmx used VMCS shadowing for L1; a figure without the label was made
without it); x is the level the measuring
guest runs at (1 = a VM on Nestor), y the instructions per CPUID exit round
trip, measured inside that guest (Bochs: rdtsc counts instructions).

Drawn by matplotlib (Debian's python3-matplotlib). The harness may run under
another Python than Debian's (pyenv, a virtualenv); the drawing then runs in
/usr/bin/python3, where Debian installs the package.
"""
import json
import os
import re
import subprocess
import sys

from nestor.errors import NestorError

FIGURE = re.compile(r'^([a-z_0-9]+)(?:\{([^}]*)\})? (\d+(?:\.\d+)?)$')
DEBIAN_PYTHON = '/usr/bin/python3'


def _labels(text):
    return dict(kv.split('=', 1) for kv in text.split(',') if '=' in kv) if text else {}


def series(lines):
    """{series name: {level: instructions}} from benchmark figure @lines."""
    out = {}

    def put(name, level, value):
        out.setdefault(name, {})[level] = value

    for ln in lines:
        m = FIGURE.match(ln.strip())
        if not m:
            continue
        name, labels, value = m.group(1), _labels(m.group(2)), float(m.group(3))
        shadow = labels.get('shadowing', 'off')
        if name == 'l1_cpuid' and labels.get('l0') == 'nestor':
            # A CPUID exit of a VM on Nestor: level 1 of every series.
            for l1 in ('nestor', 'testhv'):
                put('%s as L1, VMCS shadowing %s' % (
                    'Nestor' if l1 == 'nestor' else 'test hypervisor', shadow), 1, value)
        elif name == 'nested_cpuid' and labels.get('l0') == 'nestor':
            put('test hypervisor as L1, VMCS shadowing %s' % shadow, 2, value)
        elif (name == 'exit_roundtrip_instructions' and labels.get('reason') == 'cpuid' and
              'level' in labels and labels.get('l1') == 'nestor'):
            put('Nestor as L1, VMCS shadowing %s' % shadow, int(labels['level']), value)
    # A series with one point (level 1 only) says nothing about nesting.
    return {k: v for k, v in out.items() if len(v) > 1}


DRAW = r'''
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
spec = json.load(sys.stdin)
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, points in sorted(spec["series"].items()):
    xs = sorted(int(k) for k in points)
    ys = [points[str(x)] for x in xs]
    ax.plot(xs, ys, marker="o", label=name)
    for x, y in zip(xs, ys):
        ax.annotate("{:,.0f}".format(y), (x, y), textcoords="offset points", xytext=(4, 6),
                    fontsize=8)
ax.set_yscale("log")
ax.set_xticks(sorted({int(k) for p in spec["series"].values() for k in p}))
ax.set_xlabel("level of the guest that exits (1 = a VM on Nestor)")
ax.set_ylabel("instructions per CPUID exit round trip")
ax.set_title(spec["title"], fontsize=10)
ax.grid(True, which="both", alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(spec["out"], dpi=110)
'''


def _python_with_matplotlib():
    for py in (sys.executable, DEBIAN_PYTHON):
        if py and os.path.exists(py) and subprocess.run(
                [py, '-c', 'import matplotlib'], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL).returncode == 0:
            return py
    raise NestorError('plot: matplotlib is not installed (Debian package python3-matplotlib; '
                      'the nestor command installs it as root)')


def draw(lines, out, title):
    """Draw the figures @lines into @out (.png or .svg); returns the series drawn."""
    data = series(lines)
    if not data:
        raise NestorError('plot: no per-level CPUID exit figures to draw (need l1_cpuid, '
                          'nested_cpuid or exit_roundtrip_instructions{reason=cpuid,level=N})')
    if os.path.splitext(out)[1] not in ('.png', '.svg'):
        raise NestorError('plot: %s: write a .png or .svg' % out)
    spec = {'series': {k: {str(x): y for x, y in v.items()} for k, v in data.items()},
            'out': os.path.abspath(out), 'title': title}
    r = subprocess.run([_python_with_matplotlib(), '-c', DRAW], input=json.dumps(spec),
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0 or not os.path.exists(out):
        raise NestorError('plot: matplotlib failed:\n%s' % r.stdout.strip())
    return data


# ---- the check run by ./nestor test (host only) ----

PLOT_SAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'tests', 'configs', 'bench-nested-sample.figures')


class PlotTest:
    """The sample figures of a real `./nestor bench nested` give the series
    expected, and matplotlib draws them into a PNG."""
    kind = 'plot'
    id = 'plot/bench-nested'

    def run(self):
        import time
        from nestor import harness, paths
        start = time.monotonic()
        with open(PLOT_SAMPLE) as fh:
            lines = fh.readlines()
        out = os.path.join(paths.TEST_LOGS, 'plot', 'bench-nested.png')
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if os.path.exists(out):
            os.unlink(out)
        problem = None
        try:
            data = draw(lines, out, 'sample')
            nestor = data.get('Nestor as L1, VMCS shadowing off', {})
            on = data.get('Nestor as L1, VMCS shadowing on', {})
            if sorted(nestor) != [1, 2, 3] or sorted(on) != [1, 2, 3]:
                problem = 'the Nestor series have levels %s (off) and %s (on), not 1-3' % (
                    sorted(nestor), sorted(on))
            elif not nestor[1] < nestor[2] < nestor[3]:
                problem = 'the cost does not grow with the level: %s' % nestor
            elif not (on[2] < nestor[2] and on[3] < nestor[3]):
                problem = 'shadowing on is not cheaper than off at L2 and L3: %s, %s' % (on, nestor)
            else:
                with open(out, 'rb') as fh:
                    if fh.read(8) != b'\x89PNG\r\n\x1a\n':
                        problem = '%s is not a PNG' % out
            if not problem and series(['nested_cpuid{l0=nestor} x']):
                problem = 'a malformed figure was taken'
        except NestorError as e:
            problem = str(e)
        seconds = time.monotonic() - start
        if problem:
            return harness.Outcome(failed=1, seconds=seconds, detail=problem)
        return harness.Outcome(passed=1, seconds=seconds, note=paths.rel(out))
