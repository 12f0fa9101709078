// Package procfs reads the Linux /proc figures that the benchmarks report:
// CPU time of a process and of the machine, and a process's memory. On
// other systems, or for a process that is gone, the figures read as zero.
package procfs

import (
	"os"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of the times in /proc/<pid>/stat and
// /proc/stat: 100 on every Linux architecture Go supports.
const ClockTicks = 100

// Stat returns the command name of process pid and the fields of
// /proc/<pid>/stat after it: index 0 is field 3 (state), so ppid is [1],
// utime [11], stime [12], cutime [13] and cstime [14], in clock ticks.
func Stat(pid string) (comm string, f []string) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", nil
	}
	// The command name may contain spaces and parentheses; it ends at the
	// last ")".
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i || j+2 > len(s) {
		return "", nil
	}
	return s[i+1 : j], strings.Fields(s[j+2:])
}

// Ticks parses a field of Stat.
func Ticks(f []string, i int) int64 {
	if i >= len(f) {
		return 0
	}
	n, _ := strconv.ParseInt(f[i], 10, 64)
	return n
}

// CPUSeconds is the user and system CPU time of process pid.
func CPUSeconds(pid int) (user, sys float64) {
	_, f := Stat(strconv.Itoa(pid))
	return float64(Ticks(f, 11)) / ClockTicks, float64(Ticks(f, 12)) / ClockTicks
}

// MachineBusySeconds is the non-idle CPU time of the whole machine (all
// CPUs): user, nice, system, irq, softirq and steal from /proc/stat. Guest
// time is already inside user.
func MachineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return float64(busy) / ClockTicks
}

// Memory is a process's memory from /proc/<pid>/status, in bytes.
type Memory struct {
	RSS, HWM, Anon, File, Shmem int64 // VmRSS, VmHWM, RssAnon, RssFile, RssShmem
}

// ReadMemory reads the Memory of process pid.
func ReadMemory(pid int) (Memory, error) {
	var m Memory
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return m, err
	}
	fields := map[string]*int64{"VmRSS": &m.RSS, "VmHWM": &m.HWM, "RssAnon": &m.Anon, "RssFile": &m.File, "RssShmem": &m.Shmem}
	for line := range strings.Lines(string(b)) {
		name, val, ok := strings.Cut(line, ":")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			*dst = kb << 10
		}
	}
	return m, nil
}
