// Package sysinfo reads what the harness reports about processes and the
// machine: resident memory from /proc, Go runtime metrics, file limits.
package sysinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"syscall"
)

// RaiseNoFile lifts RLIMIT_NOFILE as far as the process may (to want when it
// may raise the hard limit, which needs CAP_SYS_RESOURCE, else to the hard
// limit) and returns the soft limit in force.
func RaiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	try := syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &try); err == nil {
		return want, nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}

// RSSKiB returns VmRSS of pid (0 = this process) in KiB.
func RSSKiB(pid int) (int64, error) {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("sysinfo: no VmRSS in %s", path)
}

// Runtime is a snapshot of the Go runtime's memory and scheduler.
type Runtime struct {
	RSSKiB        int64  `json:"rss_kib"`
	HeapLive      uint64 `json:"heap_live_bytes"`     // /gc/heap/live:bytes
	HeapObjects   uint64 `json:"heap_objects_bytes"`  // /memory/classes/heap/objects:bytes
	HeapUnused    uint64 `json:"heap_unused_bytes"`   // /memory/classes/heap/unused:bytes
	Stacks        uint64 `json:"stack_bytes"`         // /memory/classes/heap/stacks:bytes
	TotalMapped   uint64 `json:"total_bytes"`         // /memory/classes/total:bytes
	Goroutines    uint64 `json:"goroutines"`          // /sched/goroutines:goroutines
	HeapObjsCount uint64 `json:"heap_objects"`        // /gc/heap/objects:objects
	OSStacks      uint64 `json:"os_stack_bytes"`      // /memory/classes/os-stacks:bytes
	MetaBytes     uint64 `json:"runtime_meta_bytes"`  // /memory/classes/metadata/other:bytes + mspan + mcache
	Released      uint64 `json:"heap_released_bytes"` // /memory/classes/heap/released:bytes
	Free          uint64 `json:"heap_free_bytes"`     // /memory/classes/heap/free:bytes
}

var runtimeSamples = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/total:bytes",
	"/sched/goroutines:goroutines",
	"/gc/heap/objects:objects",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/free:bytes",
}

// ReadRuntime samples this process. With settle, it first runs a garbage
// collection and returns freed memory to the OS, so that RSS reflects live
// data rather than garbage not yet collected.
func ReadRuntime(settle bool) Runtime {
	if settle {
		runtime.GC()
		debug.FreeOSMemory()
	}
	s := make([]metrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		s[i].Name = name
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return s[i].Value.Uint64()
		}
		return 0
	}
	r := Runtime{
		HeapLive: v(0), HeapObjects: v(1), HeapUnused: v(2), Stacks: v(3), TotalMapped: v(4),
		Goroutines: v(5), HeapObjsCount: v(6), OSStacks: v(7), MetaBytes: v(8) + v(9) + v(10),
		Released: v(11), Free: v(12),
	}
	r.RSSKiB, _ = RSSKiB(0)
	return r
}

// Machine describes the host for the report.
type Machine struct {
	CPU      string `json:"cpu"`
	Cores    int    `json:"cores"`
	MemTotal string `json:"mem_total"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	OS       string `json:"os"`
}

// ReadMachine describes this machine.
func ReadMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					if kib, err := strconv.ParseInt(f[0], 10, 64); err == nil {
						m.MemTotal = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
					}
				}
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}

// LoadAvg returns the first three fields of /proc/loadavg.
func LoadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
