package load

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuOver is the CPU time (user + system, seconds) process pid spends
// between from and to, read from /proc at both; 0 when it cannot be read
// (not Linux, the process gone) or ctx ends first.
func cpuOver(ctx context.Context, pid int, from, to time.Time) float64 {
	if !sleepUntil(ctx, from) {
		return 0
	}
	c0, err := ProcessCPU(pid)
	if err != nil || !sleepUntil(ctx, to) {
		return 0
	}
	c1, err := ProcessCPU(pid)
	if err != nil {
		return 0
	}
	return c1 - c0
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// clockTicks is the unit of /proc/<pid>/stat's times: USER_HZ, 100 on
// every Linux architecture Go runs on.
const clockTicks = 100

// ProcessCPU is the CPU time (user + system, seconds) process pid has
// spent so far, from /proc/<pid>/stat.
func ProcessCPU(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after its closing one. utime and stime are fields 14
	// and 15, so the 12th and 13th after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, strconv.ErrSyntax
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	st, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return float64(u+st) / clockTicks, nil
}
