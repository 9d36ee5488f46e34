"""The sandbox's vDSO: clock_gettime, gettimeofday, time, clock_getres and
getcpu answered in the app's own address space, without a trap.

One copy for the whole sandbox lives in the memory file: a vvar page (the
clock parameters the sentry publishes) followed by the image (vdso.c, built
by build.py into image.py). exec maps both into each process, just below the
mmap area like Linux's [vvar] and [vdso], read-only and *borrowed* like
page-cache pages: fork shares them, an app that mprotects the image
writable gets a private copy, the vvar page cannot be made writable (EACCES,
as on Linux).

Time is the TSC's: clock = base[clk] + (tsc - tsc_base) * mult >> 32. The
TSC rate is calibrated against the host's CLOCK_MONOTONIC from sentry start
over at least CALIBRATE_NS, at the first exec or, if that comes sooner, at
the first clock syscall (until then the page serves no clock), and the sentry re-anchors
every TICK seconds (Kernel.start_tick): the rate is re-measured from the first
sample (a baseline that keeps growing), and the offset to the host clock is
slewed away over the next tick rather than stepped, so the vDSO clock stays
within microseconds of the host's and never goes backwards. Without an
invariant TSC (CPUID 0x80000007 EDX bit 8: constant and nonstop) the page
serves no clock and every call is the real syscall. The sentry's own clocks
(syscalls/time.py) stay the host's.
"""

import struct
import time

from ... import hostsys
from ..mm.memfile import PAGE
from ..mm.mm import PROT_EXEC, PROT_READ, page_up
from .image import IMAGE

# struct vvar in vdso.c: seq, clocks, tsc_base, mult, cpu, node, base[12], res[12]
NCLOCKS = 12
VVAR = struct.Struct(f"<IIQQII{NCLOCKS}Q{NCLOCKS}Q")
SEQ = struct.Struct("<I")
SHIFT = 32
TICK = 1.0                   # seconds between re-anchors
CALIBRATE_NS = 10_000_000    # shortest first calibration baseline
STEP_NS = 1_000_000          # an error past this is stepped (forward), not slewed
MAX_SLEW = 500e-6            # fastest slew, like NTP's 500 ppm

REALTIME, MONOTONIC, MONOTONIC_RAW, REALTIME_COARSE, MONOTONIC_COARSE, BOOTTIME, TAI = \
    0, 1, 4, 5, 6, 7, 11
# which host clock each served clock id follows (as syscalls/time.py clock_ns does)
REALTIME_IDS = (REALTIME, REALTIME_COARSE, TAI)
MONOTONIC_IDS = (MONOTONIC, MONOTONIC_RAW, MONOTONIC_COARSE, BOOTTIME)
CLOCK_MASK = sum(1 << c for c in REALTIME_IDS + MONOTONIC_IDS)
RES = [4_000_000 if c in (REALTIME_COARSE, MONOTONIC_COARSE) else 1 for c in range(NCLOCKS)]
# what getcpu reports (syscalls/misc.py sys_getcpu)
CPU, NODE = 0, 0


def tsc_usable():
    """The TSC ticks at a constant rate, in every power state (invariant)."""
    try:
        if hostsys.cpuid(0x80000000)[0] < 0x80000007:
            return False
        return bool(hostsys.cpuid(0x80000007)[3] & (1 << 8))
    except OSError:
        return False


def _sample():
    """(tsc, monotonic ns, realtime - monotonic ns) taken as close together as
    the host allows: the best of a few tries, the TSC read on both sides."""
    rdtsc, mono, real = hostsys.rdtsc, time.monotonic_ns, time.time_ns
    best = None
    for _ in range(5):
        t1 = rdtsc()
        m1 = mono()
        r = real()
        m2 = mono()
        t2 = rdtsc()
        if best is None or t2 - t1 < best[0]:
            best = (t2 - t1, (t1 + t2) // 2, (m1 + m2) // 2, r - (m1 + m2) // 2)
    return best[1:]


class _VvarOwner:
    """The owner of the vvar page's borrowed range: never writable (mm.protect)."""
    maywrite = False


class Vdso:
    def __init__(self, memfile):
        self.memfile = memfile
        self.text_len = page_up(len(IMAGE))
        self.off = memfile.alloc(PAGE + self.text_len)
        self.view = memfile.view[self.off:self.off + PAGE]
        t = self.off + PAGE
        memfile.view[t:t + len(IMAGE)] = IMAGE
        self.vvar_owner = _VvarOwner()
        self.clocks = 0  # served clock mask once calibrated
        self.seq = 0
        self.first = _sample() if tsc_usable() else None
        self.tsc_base = self.mono_base = self.real_off = self.mult = 0
        self.last_tick = 0
        self._publish()

    def map(self, mm):
        """Map [vvar] and [vdso] into a new address space; returns the image's
        address (AT_SYSINFO_EHDR)."""
        if self.first is not None and not self.clocks:
            self.calibrate(wait=False)
        addr = mm.find_free(PAGE + self.text_len)
        mm.map_borrowed(addr, PAGE, PROT_READ, self.off, self.vvar_owner, "[vvar]")
        mm.map_borrowed(addr + PAGE, self.text_len, PROT_READ | PROT_EXEC, self.off + PAGE,
                        self, "[vdso]")
        return addr + PAGE

    def calibrate(self, wait=True):
        """Measure the TSC's rate against the host's monotonic clock since
        the first sample and serve clocks from then on, once CALIBRATE_NS
        have passed since it; until then, wait for them, or (not `wait`)
        leave the page serving none: an exec does not wait (~2 ms of every
        start here), the first clock syscall does (syscalls/time.py)."""
        tsc0, mono0, _ = self.first
        left = CALIBRATE_NS - (time.monotonic_ns() - mono0)
        if left > 0:
            if not wait:
                return
            time.sleep(left / 1e9)
        tsc, mono, off = _sample()
        if tsc <= tsc0:
            self.first = None
            return
        self.mult = ((mono - mono0) << SHIFT) // (tsc - tsc0)
        if not 1 << (SHIFT - 4) <= self.mult <= 1 << (SHIFT + 4):  # not 60 MHz..16 GHz
            self.first = None
            return
        self.tsc_base, self.mono_base, self.real_off = tsc, mono, off
        self.clocks = CLOCK_MASK
        self.last_tick = mono
        self._publish()

    def tick(self):
        """Re-anchor to the host clocks (Kernel._tick, every TICK seconds)."""
        if not self.clocks:
            return
        tsc, mono, off = _sample()
        tsc0, mono0, _ = self.first
        if mono - self.last_tick < TICK * 1e9 * 0.9 or tsc <= tsc0:
            return
        self.last_tick = mono
        rate = ((mono - mono0) << SHIFT) // (tsc - tsc0)
        err = mono - self._mono_at(tsc)  # > 0: the vDSO clock is behind the host's
        if abs(off - self.real_off) > STEP_NS // 100:  # the host's realtime was set
            self.real_off = off
        self._publish(rate, err)

    def _mono_at(self, tsc):
        return self.mono_base + (max(0, tsc - self.tsc_base) * self.mult >> SHIFT)

    def _publish(self, rate=None, err=0):
        """Write the vvar page under the seqcount: readers retry while it is odd.
        A new anchor continues the old line at the moment of the switch, and
        the rate absorbs `err` over the next tick."""
        v = self.view
        self.seq += 1
        SEQ.pack_into(v, 0, self.seq)
        if rate is not None:
            tsc = hostsys.rdtsc()
            base = self._mono_at(tsc)
            if err > STEP_NS:
                base += err
                err = 0
            slew = max(-MAX_SLEW, min(MAX_SLEW, err / (TICK * 1e9)))
            self.tsc_base, self.mono_base, self.mult = tsc, base, int(rate * (1 + slew))
        mono, real = self.mono_base, self.mono_base + self.real_off
        bases = [real if c in REALTIME_IDS else mono for c in range(NCLOCKS)]
        VVAR.pack_into(v, 0, self.seq, self.clocks, self.tsc_base, self.mult, CPU, NODE,
                       *bases, *RES)
        self.seq += 1
        SEQ.pack_into(v, 0, self.seq)
