// Command clocks-go reads the clocks the way a Go 1.19 program does, built
// static for linux/arm64 (CGO_ENABLED=0) by tests/tests/e2e.rs and run under
// qemu-aarch64, through our exec harness (vdso-exec, which gives it our
// vDSO) or directly (no vDSO: the runtime falls back to the syscall). The
// same file, built for linux/arm (GOARM=7) by tests/tests/e2e_arm.rs, runs in
// a Linux VM through the 32-bit harness and its compat vDSO.
//
// The Go runtime reads CLOCK_REALTIME (walltime) and CLOCK_MONOTONIC
// (nanotime) through __kernel_clock_gettime@LINUX_2.6.39 when it finds it
// (on linux/arm: __vdso_clock_gettime@LINUX_2.6, with a 32-bit timespec),
// calling it on the g0 stack; it has no other vDSO call on arm64 or arm.
// Everything else here is a raw syscall, as a Go program would make it.
//
//	clocks-go show      time.Now, runtime.nanotime, time.Since on several
//	                    goroutines, a CPU-time clock and invalid ids
//	clocks-go compare   time.Now and runtime.nanotime between two raw
//	                    syscalls; exit 1 on a failure
//
// Output: the records of tests/clients/c/clocks.c (parsed by
// tests/src/e2e/mod.rs), with api=go-time, go-nanotime or syscall, plus
//
//	monotonic api=go-time-since goroutines=G calls=N backwards=B
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// nanotime is the runtime's monotonic clock, what time.Now's monotonic
// reading and time.Since use: the vDSO's CLOCK_MONOTONIC when found.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// The clock syscall numbers (the syscall package has no names for these):
// linux/arm64's, or linux/arm's old 32-bit-time_t calls, which match
// syscall.Timespec there (tests/tests/e2e_arm.rs builds this file for
// GOARCH=arm). Chosen at run time so this one file builds for both.
var sysClockGettime, sysClockGetres uintptr = 113, 114

func init() {
	if runtime.GOARCH == "arm" {
		sysClockGettime, sysClockGetres = 263, 264
	}
}

const (
	clockRealtime       = 0
	clockMonotonic      = 1
	clockProcessCputime = 2
)

// Ids the vDSO must hand to the kernel: a CPU-time clock and two invalid ids.
var unserved = []int32{clockProcessCputime, 12345, -1}

// rawClock makes the clock_gettime or clock_getres syscall itself.
func rawClock(nr uintptr, id int32) (int64, int64, syscall.Errno) {
	var ts syscall.Timespec
	_, _, errno := syscall.Syscall(nr, uintptr(id), uintptr(unsafe.Pointer(&ts)), 0)
	return int64(ts.Sec), int64(ts.Nsec), errno
}

func rawNs(id int32) int64 {
	sec, nsec, errno := rawClock(sysClockGettime, id)
	if errno != 0 {
		panic(fmt.Sprintf("clock_gettime(%d): %v", id, errno))
	}
	return sec*1e9 + nsec
}

// printRaw prints a raw syscall's answer as the C client prints libc's.
func printRaw(record string, nr uintptr, id int32) {
	sec, nsec, errno := rawClock(nr, id)
	if errno != 0 {
		fmt.Printf("%s api=syscall clock=%d ret=-1 errno=%d\n", record, id, int(errno))
		return
	}
	fmt.Printf("%s api=syscall clock=%d ret=0 errno=0 sec=%d nsec=%d\n", record, id, sec, nsec)
}

// monotonic reads time.Since on several goroutines at once and counts
// readings that went backwards, against the goroutine's own previous reading
// and against the largest reading any goroutine had published before this one
// started.
func monotonic() {
	runtime.GOMAXPROCS(4)
	const goroutines, calls = 8, 2000
	start := time.Now()
	var latest, backwards int64
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var own time.Duration
			for i := 0; i < calls; i++ {
				published := atomic.LoadInt64(&latest)
				d := time.Since(start)
				if d < own || int64(d) < published {
					atomic.AddInt64(&backwards, 1)
				}
				own = d
				for {
					cur := atomic.LoadInt64(&latest)
					if int64(d) <= cur || atomic.CompareAndSwapInt64(&latest, cur, int64(d)) {
						break
					}
				}
				if i%100 == 0 {
					runtime.Gosched()
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("monotonic api=go-time-since goroutines=%d calls=%d backwards=%d\n",
		goroutines, goroutines*calls, backwards)
}

func show() int {
	now := time.Now().UTC()
	fmt.Printf("wall api=go-time iso=%s sec=%d nsec=%d\n",
		now.Format("2006-01-02T15:04:05.000000000Z"), now.Unix(), now.Nanosecond())
	n := nanotime()
	fmt.Printf("gettime api=go-nanotime clock=%d ret=0 errno=0 sec=%d nsec=%d\n",
		clockMonotonic, n/1e9, n%1e9)
	monotonic()
	for _, id := range unserved {
		printRaw("gettime", sysClockGettime, id)
	}
	for _, id := range unserved {
		printRaw("getres", sysClockGetres, id)
	}
	fmt.Println("done mode=show failures=0")
	return 0
}

// Tolerances: those of tests/clients/c/clocks.c (one 1 µs counter step and
// the harness's publication, with room for a loaded host).
const (
	hresSlackNs = 20000
	rounds      = 300
)

var failures int

func verdict(ok bool) {
	fmt.Printf(" ok=%d\n", map[bool]int{false: 0, true: 1}[ok])
	if !ok {
		failures++
	}
}

// compareHres brackets read (a vDSO clock) between two raw syscalls of id.
func compareHres(call string, id int32, read func() int64) {
	bad := 0
	worstEarly, worstLate := int64(-1<<63), int64(-1<<63)
	first := ""
	for i := 0; i < rounds; i++ {
		b := rawNs(id)
		v := read()
		a := rawNs(id)
		early, late := b-v, v-a
		if early > worstEarly {
			worstEarly = early
		}
		if late > worstLate {
			worstLate = late
		}
		if early > hresSlackNs || late > hresSlackNs {
			if bad == 0 {
				first = fmt.Sprintf(" first_bad=%d<=%d<=%d", b, v, a)
			}
			bad++
		}
	}
	fmt.Printf("compare call=%s clock=%d rounds=%d failures=%d max_early_ns=%d max_late_ns=%d slack_ns=%d%s",
		call, id, rounds, bad, worstEarly, worstLate, hresSlackNs, first)
	verdict(bad == 0)
}

// compareCPU: the CPU-time clock is the kernel's own, read twice.
func compareCPU() {
	b := rawNs(clockProcessCputime)
	v := rawNs(clockProcessCputime)
	fmt.Printf("compare call=syscall-cputime clock=%d rounds=1 failures=0 first=%d second=%d",
		clockProcessCputime, b, v)
	verdict(b <= v)
}

func compare() int {
	compareHres("go-time-now", clockRealtime, func() int64 { return time.Now().UnixNano() })
	compareHres("go-nanotime", clockMonotonic, nanotime)
	compareCPU()
	fmt.Printf("done mode=compare failures=%d\n", failures)
	if failures != 0 {
		return 1
	}
	return 0
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "show" {
		os.Exit(show())
	}
	if len(os.Args) == 2 && os.Args[1] == "compare" {
		os.Exit(compare())
	}
	fmt.Fprintf(os.Stderr, "usage: %s show|compare\n", os.Args[0])
	os.Exit(2)
}
